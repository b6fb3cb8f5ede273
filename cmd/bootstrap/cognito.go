package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// cognito creates sign-ins in the stack's user pool (infra/stack.go: email as the username
// alias, custom:org_id immutable and written only here).
type cognito struct {
	client *cip.Client
	pool   string
}

func newCognito(cfg aws.Config, pool string) *cognito {
	return &cognito{client: cip.NewFromConfig(cfg), pool: pool}
}

// CreateUser creates the user with a verified email and the organization; Cognito emails a
// temporary password. An existing user's sub and organization are returned as they are.
func (c *cognito) CreateUser(ctx context.Context, a admin, org string) (string, string, error) {
	out, err := c.client.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId:             aws.String(c.pool),
		Username:               aws.String(a.Email),
		DesiredDeliveryMediums: []ciptypes.DeliveryMediumType{ciptypes.DeliveryMediumTypeEmail},
		UserAttributes: []ciptypes.AttributeType{
			{Name: aws.String("email"), Value: aws.String(a.Email)},
			{Name: aws.String("email_verified"), Value: aws.String("true")},
			{Name: aws.String("name"), Value: aws.String(a.Name)},
			{Name: aws.String("custom:org_id"), Value: aws.String(org)},
		},
	})
	var exists *ciptypes.UsernameExistsException
	if errors.As(err, &exists) {
		got, err := c.client.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(c.pool), Username: aws.String(a.Email)})
		if err != nil {
			return "", "", fmt.Errorf("read existing user: %w", err)
		}
		return attributes(got.UserAttributes)
	}
	if err != nil {
		return "", "", err
	}
	return attributes(out.User.Attributes)
}

func attributes(attrs []ciptypes.AttributeType) (sub, org string, err error) {
	for _, a := range attrs {
		switch aws.ToString(a.Name) {
		case "sub":
			sub = aws.ToString(a.Value)
		case "custom:org_id":
			org = aws.ToString(a.Value)
		}
	}
	if sub == "" || org == "" {
		return "", "", fmt.Errorf("user has no sub or custom:org_id")
	}
	return sub, org, nil
}
