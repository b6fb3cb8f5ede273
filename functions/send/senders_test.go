package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/buzon/buzon/shared/config"
	"github.com/buzon/buzon/shared/meta"
)

// TestSendersFollowTheSecret: a function started before the secret was filled in sends once
// the secret is re-read, and a rotated token is the one the next send uses.
func TestSendersFollowTheSecret(t *testing.T) {
	t.Parallel()
	secret := `{"META_ACCESS_TOKEN":"","TWILIO_AUTH_TOKEN":""}`
	now := time.Date(2026, 12, 1, 5, 0, 0, 0, time.UTC)
	fetch := func(context.Context, string) (string, error) { return secret, nil }
	cache := config.NewSecretCache(config.Config{SecretsARN: "arn:secret"}, fetch, time.Minute,
		func() time.Time { return now }, "META_ACCESS_TOKEN", "TWILIO_AUTH_TOKEN")
	s := &secretSenders{secrets: cache, build: func(c config.Config) staticSenders { return newSenders(c, http.DefaultClient) }}
	ctx := context.Background()
	token := func() string {
		c, _ := s.sender(ctx, "meta").(*meta.Client)
		if c == nil {
			return ""
		}
		return c.Token
	}

	if got := token(); got != "" {
		t.Fatalf("before the secret is filled: meta sender with token %q, want none", got)
	}
	secret = `{"META_ACCESS_TOKEN":"first","TWILIO_AUTH_TOKEN":"tw"}`
	now = now.Add(time.Minute)
	if got := token(); got != "first" {
		t.Errorf("after the TTL: token %q, want first", got)
	}
	if s.sender(ctx, "twilio") == nil {
		t.Error("no twilio sender once its token is filled")
	}
	secret = `{"META_ACCESS_TOKEN":"rotated","TWILIO_AUTH_TOKEN":"tw"}`
	now = now.Add(time.Minute)
	if got := token(); got != "rotated" {
		t.Errorf("after a rotation: token %q, want rotated", got)
	}
}
