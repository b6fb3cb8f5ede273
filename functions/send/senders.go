package main

import (
	"context"
	"log/slog"
	"sync"

	"github.com/buzon/buzon/shared/config"
)

// senders finds the client of a line's provider; nil means the provider has no credentials.
type senders interface {
	sender(ctx context.Context, provider string) Sender
}

// staticSenders are clients made once (tests, benchmarks).
type staticSenders map[string]Sender

func (s staticSenders) sender(_ context.Context, provider string) Sender { return s[provider] }

// secretSenders are the clients of the provider secrets as the cache last read them: a token
// filled in or rotated after the function started is used within config.SecretTTL, without a
// redeploy. The clients are rebuilt only when the tokens changed.
type secretSenders struct {
	secrets *config.SecretCache
	build   func(config.Config) staticSenders

	mu      sync.Mutex
	tokens  [2]string // the Meta and Twilio tokens the clients were built with
	clients staticSenders
}

func (s *secretSenders) sender(ctx context.Context, provider string) Sender {
	cfg, err := s.secrets.Config(ctx) // fails only before a first read, which boot did
	if err != nil {
		slog.ErrorContext(ctx, "provider secret unreadable", "error", err)
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if tokens := [2]string{cfg.MetaAccessToken, cfg.TwilioAuthToken}; s.clients == nil || tokens != s.tokens {
		s.tokens, s.clients = tokens, s.build(cfg)
	}
	return s.clients[provider]
}
