// Command bootstrap creates an organization and its first admin, the one step after a deploy
// that nothing else does: the admin's sign-in (a Cognito user whose immutable custom:org_id is
// the new organization) and the table's organization and user items, the user's id being the
// Cognito user's sub, which is what the API reads from the token.
//
//	bootstrap -table <TableName> -user-pool <UserPoolId> -org "Acme" -email ana@acme.example -name "Ana"
//
// The table and user pool are the stack's TableName and UserPoolId outputs; Cognito emails the
// admin a temporary password. Without -user-pool it works on the local stack: the table only
// (default "buzon", at AWS_ENDPOINT_URL_DYNAMODB), and the admin signs in through the local
// token issuer (POST /local/token with the email).
//
// Running it again for the same email changes nothing and prints the existing admin; a run cut
// short after the Cognito user was created is completed with that user's id and organization.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bootstrap:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bootstrap", flag.ContinueOnError)
	table := fs.String("table", "buzon", "the stack's TableName output")
	pool := fs.String("user-pool", "", "the stack's UserPoolId output; empty for the local stack")
	orgName := fs.String("org", "", "the organization's name")
	email := fs.String("email", "", "the first admin's email (their sign-in)")
	name := fs.String("name", "", "the first admin's name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	in := admin{Org: strings.TrimSpace(*orgName), Email: strings.ToLower(strings.TrimSpace(*email)), Name: strings.TrimSpace(*name)}
	if err := in.validate(); err != nil {
		return err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	var dir directory = localDirectory{}
	if *pool != "" {
		dir = newCognito(awsCfg, *pool)
	}
	st := store.New(dynamodb.NewFromConfig(awsCfg), *table, nil)
	u, created, err := bootstrap(ctx, st, dir, in, time.Now())
	if err != nil {
		return err
	}
	verb := "created"
	if !created {
		verb = "already exists"
	}
	fmt.Fprintf(out, "admin %s %s: user %s, organization %s\n", u.Email, verb, u.ID, u.OrgID)
	return nil
}

// admin is what the operator gives.
type admin struct{ Org, Email, Name string }

func (a admin) validate() error {
	var missing []string
	if a.Org == "" {
		missing = append(missing, "-org")
	}
	if a.Email == "" {
		missing = append(missing, "-email")
	}
	if a.Name == "" {
		missing = append(missing, "-name")
	}
	if len(missing) > 0 {
		return fmt.Errorf("want %s", strings.Join(missing, ", "))
	}
	if at := strings.IndexByte(a.Email, '@'); at < 1 || at == len(a.Email)-1 || strings.ContainsAny(a.Email, " \t") {
		return fmt.Errorf("-email %q is not an email address", a.Email)
	}
	return nil
}

// directory holds the sign-ins: Cognito in AWS, nothing locally.
type directory interface {
	// CreateUser creates the sign-in of email in org and returns its id. When the sign-in
	// exists it returns its id and its organization (an earlier run's).
	CreateUser(ctx context.Context, a admin, org string) (id, userOrg string, err error)
}

// localDirectory is the local stack's: the local token issuer signs a token for any user the
// table holds, so the id is only made here.
type localDirectory struct{}

func (localDirectory) CreateUser(_ context.Context, _ admin, org string) (string, string, error) {
	return inbox.NewID("u_"), org, nil
}

// bootstrap creates the organization and its admin unless the table already has a user with
// that email (created reports which).
func bootstrap(ctx context.Context, st *store.Store, dir directory, a admin, now time.Time) (u *inbox.User, created bool, err error) {
	if u, err := st.UserByEmail(ctx, a.Email); err == nil {
		return u, false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, false, fmt.Errorf("find %s: %w", a.Email, err)
	}
	id, org, err := dir.CreateUser(ctx, a, inbox.NewID("o_"))
	if err != nil {
		return nil, false, fmt.Errorf("create the sign-in of %s: %w", a.Email, err)
	}
	if err := st.PutOrganization(ctx, &inbox.Organization{ID: org, Name: a.Org, CreatedAt: now}); err != nil {
		return nil, false, fmt.Errorf("create organization: %w", err)
	}
	u = &inbox.User{ID: id, OrgID: org, Email: a.Email, Name: a.Name, Role: inbox.RoleAdmin, Available: true}
	if err := st.PutUser(ctx, u); err != nil {
		return nil, false, fmt.Errorf("create admin: %w", err)
	}
	return u, true, nil
}
