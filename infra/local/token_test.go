package main

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/inbox"
)

func TestTokensIssueCheck(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tk := newTokens([]byte("k"), func() time.Time { return now })
	tok, err := tk.Issue(&inbox.User{ID: "u_ana", OrgID: "acme", Email: "ana@acme.test", Name: "Ana"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := tk.Check("Bearer " + tok)
	if err != nil {
		t.Fatalf("Check(issued token): %v", err)
	}
	want := authorization{Claims: map[string]string{
		"sub": "u_ana", "email": "ana@acme.test", "email_verified": "true", "custom:org_id": "acme", "name": "Ana",
		"iss": tokenIssuer, "aud": tokenAudience, "token_use": "id",
		"auth_time": "1795341600", "iat": "1795341600", "exp": "1795384800",
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Check (-want +got):\n%s", diff)
	}
	// API Gateway also takes the token without the scheme.
	if _, err := tk.Check(tok); err != nil {
		t.Errorf("Check(bare token): %v", err)
	}
}

func TestTokensCheckRejects(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tk := newTokens([]byte("k"), func() time.Time { return now })
	valid := func(edit func(c map[string]any)) string {
		c := map[string]any{"sub": "u", "iss": tokenIssuer, "aud": tokenAudience, "exp": now.Add(time.Hour).Unix()}
		edit(c)
		s, err := tk.sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	enc := base64.RawURLEncoding
	tests := []struct {
		name   string
		header string
	}{
		{name: "no header", header: ""},
		{name: "not a JWT", header: "Bearer abc"},
		{name: "expired", header: valid(func(c map[string]any) { c["exp"] = now.Unix() })},
		{name: "no exp", header: valid(func(c map[string]any) { delete(c, "exp") })},
		{name: "not yet valid", header: valid(func(c map[string]any) { c["nbf"] = now.Add(time.Minute).Unix() })},
		{name: "issued in the future", header: valid(func(c map[string]any) { c["iat"] = now.Add(time.Minute).Unix() })},
		{name: "other issuer", header: valid(func(c map[string]any) { c["iss"] = "https://cognito-idp.example" })},
		{name: "other audience", header: valid(func(c map[string]any) { c["aud"] = "someone-else" })},
		{name: "other key", header: func() string {
			s, _ := newTokens([]byte("other"), tk.now).sign(map[string]any{"iss": tokenIssuer, "aud": tokenAudience, "exp": now.Add(time.Hour).Unix()})
			return "Bearer " + s
		}()},
		{name: "alg none", header: func() string {
			parts := strings.Split(strings.TrimPrefix(valid(func(map[string]any) {}), "Bearer "), ".")
			return "Bearer " + enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."
		}()},
		{name: "payload swapped", header: func() string {
			parts := strings.Split(strings.TrimPrefix(valid(func(map[string]any) {}), "Bearer "), ".")
			evil := enc.EncodeToString([]byte(`{"sub":"admin","iss":"buzon-local","aud":"buzon-local-console","exp":9999999999}`))
			return "Bearer " + parts[0] + "." + evil + "." + parts[2]
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := tk.Check(tt.header); !errors.Is(err, ErrUnauthorized) {
				t.Errorf("Check(%q) error = %v, want ErrUnauthorized", tt.header, err)
			}
		})
	}
}

func TestTokensScopesAndClaimStrings(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	tk := newTokens([]byte("k"), func() time.Time { return now })
	s, err := tk.sign(map[string]any{
		"iss": tokenIssuer, "client_id": tokenAudience, "exp": now.Add(time.Hour).Unix(),
		"scope": "buzon/read buzon/write", "cognito:groups": []string{"admin", "agents"}, "n": 1.5,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := tk.Check("bearer " + s)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if diff := cmp.Diff([]string{"buzon/read", "buzon/write"}, got.Scopes); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
	for k, want := range map[string]string{"cognito:groups": "[admin agents]", "n": "1.5", "exp": "1800003600"} {
		if got.Claims[k] != want {
			t.Errorf("claim %s = %q, want %q", k, got.Claims[k], want)
		}
	}
}
