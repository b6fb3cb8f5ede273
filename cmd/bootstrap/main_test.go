package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/testenv"
)

func TestBootstrap(t *testing.T) {
	if testing.Short() {
		t.Skip("needs DynamoDB Local")
	}
	ctx := context.Background()
	st := testenv.Store(t)
	email := testenv.ID("ana-") + "@acme.example"
	now := time.Date(2026, 12, 1, 5, 0, 0, 0, time.UTC)

	u, created, err := bootstrap(ctx, st, localDirectory{}, admin{Org: "Acme", Email: email, Name: "Ana"}, now)
	if err != nil || !created {
		t.Fatalf("bootstrap = %v, created %v", err, created)
	}
	id, org := u.ID, u.OrgID
	if !strings.HasPrefix(id, "u_") || !strings.HasPrefix(org, "o_") {
		t.Errorf("user %q of organization %q, want new ids", id, org)
	}
	want := &inbox.User{ID: id, OrgID: org, Email: email, Name: "Ana", Role: inbox.RoleAdmin, Available: true}
	// What the local token issuer (and the API, through the token's sub and custom:org_id)
	// finds for the email: the same id as the sign-in's, an admin of the new organization.
	got, err := st.UserByEmail(ctx, strings.ToUpper(email))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("user by email (-want +got):\n%s", diff)
	}
	o, err := st.Organization(ctx, org)
	if err != nil || o.Name != "Acme" {
		t.Errorf("organization = %+v, %v; want Acme", o, err)
	}

	// Again: nothing new, the same admin.
	again, created, err := bootstrap(ctx, st, refusing{}, admin{Org: "Other", Email: email, Name: "Ana"}, now)
	if err != nil || created || again.ID != id || again.OrgID != org {
		t.Errorf("second run = %+v, created %v, %v; want the existing admin", again, created, err)
	}
}

// refusing is a directory that must not be asked: the table already has the admin.
type refusing struct{}

func (refusing) CreateUser(context.Context, admin, string) (string, string, error) {
	return "", "", errors.New("sign-in created twice")
}

func TestBootstrapRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct{ args, want string }{
		{"", "want -org, -email, -name"},
		{"-org Acme -email nobody -name Ana", `-email "nobody" is not an email address`},
		{"-org Acme -email ana@ -name Ana", "not an email address"},
		{"-org Acme -email ana@acme.example", "want -name"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), strings.Fields(tt.args), &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) = %v, want %q", tt.args, err, tt.want)
			}
		})
	}
}
