package config

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// SecretTTL is how long a function uses the provider secret as it read it before reading it
// again. A function warmed before the secret was filled in (the first deploy creates it
// empty) or before a token was rotated picks up the new value within this time, without being
// recycled. Each read is one GetSecretValue call ($0.05 per 10,000): every five minutes it
// costs about a cent a month per warm instance.
const SecretTTL = 5 * time.Minute

// SecretCache is a configuration whose provider secrets are re-read from SECRETS_ARN once they
// are older than its TTL. It is safe for concurrent use.
type SecretCache struct {
	base  Config // the environment's configuration: a secret set there wins, as in LoadSecrets
	fetch SecretFetcher
	keys  []string
	ttl   time.Duration
	now   func() time.Time

	mu   sync.Mutex
	cur  Config
	read time.Time // when cur was read; zero before the first read
}

// NewSecretCache returns a cache of base with the provider secrets keys read through fetch at
// most ttl ago (ttl ≤ 0 means SecretTTL). now is the clock; nil means time.Now.
func NewSecretCache(base Config, fetch SecretFetcher, ttl time.Duration, now func() time.Time, keys ...string) *SecretCache {
	if ttl <= 0 {
		ttl = SecretTTL
	}
	if now == nil {
		now = time.Now
	}
	return &SecretCache{base: base, fetch: fetch, keys: keys, ttl: ttl, now: now}
}

// Config returns the configuration with secrets read at most the TTL ago, reading them again
// when they are older. A failed re-read keeps the last value in use (an outage of Secrets
// Manager must not stop a working function) and is tried again a TTL later; only a first read
// that fails is an error.
func (s *SecretCache) Config(ctx context.Context) (Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if !s.read.IsZero() && now.Sub(s.read) < s.ttl {
		return s.cur, nil
	}
	c := s.base
	if err := c.LoadSecrets(ctx, s.fetch, s.keys...); err != nil {
		if s.read.IsZero() {
			return Config{}, err
		}
		slog.WarnContext(ctx, "provider secret not re-read, the last value stays in use", "error", err)
		s.read = now
		return s.cur, nil
	}
	s.cur, s.read = c, now
	return c, nil
}
