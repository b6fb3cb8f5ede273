package main

import (
	"context"
	"errors"
	"log/slog"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/buzon/buzon/shared/idtoken"
)

// errUnauthorized is the error API Gateway turns into 401 (the message must be exactly this).
var errUnauthorized = errors.New("Unauthorized")

type authorizer struct {
	verify func(ctx context.Context, token string) (idtoken.Claims, error)
}

// handle allows a connection whose token is valid, with context {org, user}; the routes find
// the user in requestContext.authorizer. Any refusal is a 401; a failure to read the keys is
// an error (500), so an outage is not reported as a bad token.
func (a *authorizer) handle(ctx context.Context, ev lambdaevents.APIGatewayCustomAuthorizerRequestTypeRequest) (lambdaevents.APIGatewayCustomAuthorizerResponse, error) {
	c, err := a.verify(ctx, ev.QueryStringParameters["token"])
	switch {
	case errors.Is(err, idtoken.ErrInvalid):
		slog.InfoContext(ctx, "connection refused", "reason", err.Error())
		return lambdaevents.APIGatewayCustomAuthorizerResponse{}, errUnauthorized
	case err != nil:
		return lambdaevents.APIGatewayCustomAuthorizerResponse{}, err
	case c.OrgID == "":
		slog.InfoContext(ctx, "connection refused", "reason", "token without custom:org_id")
		return lambdaevents.APIGatewayCustomAuthorizerResponse{}, errUnauthorized
	}
	return lambdaevents.APIGatewayCustomAuthorizerResponse{
		PrincipalID: c.Subject,
		PolicyDocument: lambdaevents.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []lambdaevents.IAMPolicyStatement{
				{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{ev.MethodArn}},
			},
		},
		Context: map[string]any{"org": c.OrgID, "user": c.Subject},
	}, nil
}
