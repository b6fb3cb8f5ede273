package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/deploy"
)

// TestProvisionAndSignIn provisions the stack's resources on the emulators twice (a reused
// emulator), then signs in as a seeded user through the gateway.
func TestProvisionAndSignIn(t *testing.T) {
	c := emulatorClients(t)
	t.Parallel()
	ctx := context.Background()
	res, err := provision(ctx, c, "seed.json", time.Now())
	if err != nil {
		t.Fatalf("provision: %v", err)
	}
	again, err := provision(ctx, c, "seed.json", time.Now())
	if err != nil {
		t.Fatalf("provision again: %v", err)
	}
	if diff := cmp.Diff(res.Queues, again.Queues); diff != "" {
		t.Errorf("provision again: queues (-first +again):\n%s", diff)
	}
	if len(res.Queues) != len(deploy.Buzon.Queues) {
		t.Errorf("provisioned %d queues, the declaration has %d", len(res.Queues), len(deploy.Buzon.Queues))
	}

	tk := newTokens([]byte("k"), time.Now)
	gw := &gateway{tokens: tk, userByEmail: res.Store.UserByEmail, log: slog.New(slog.NewTextHandler(&testLog{t: t}, nil)), now: time.Now}
	rec := httptest.NewRecorder()
	gw.ServeHTTP(rec, httptest.NewRequest("POST", "/local/token", bytes.NewReader([]byte(`{"email":"sofia@acme.test"}`))))
	if rec.Code != http.StatusOK {
		t.Fatalf("POST /local/token: %d %s", rec.Code, rec.Body)
	}
	var out struct{ Token string }
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	a, err := tk.Check("Bearer " + out.Token)
	if err != nil {
		t.Fatal(err)
	}
	if a.Claims["custom:org_id"] != "acme" || a.Claims["email"] != "sofia@acme.test" || a.Claims["sub"] != "u_sofia_at_acme_test" {
		t.Errorf("claims = %v", a.Claims)
	}
}
