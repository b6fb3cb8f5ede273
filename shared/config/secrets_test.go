package config

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// secretStore is the secret's value over time and the number of reads, for SecretCache.
type secretStore struct {
	value string
	err   error
	reads int
}

func (s *secretStore) fetch(_ context.Context, arn string) (string, error) {
	s.reads++
	if arn != "arn:secret" {
		return "", errors.New("unknown secret " + arn)
	}
	return s.value, s.err
}

func TestSecretCacheRereadsAfterTTL(t *testing.T) {
	t.Parallel()
	const ttl = time.Minute
	start := time.Date(2026, 12, 1, 5, 0, 0, 0, time.UTC)
	type step struct {
		after   time.Duration // since start
		value   string        // the secret's value from this step on ("" keeps it)
		fail    bool          // Secrets Manager fails from this step on
		want    string        // META_ACCESS_TOKEN seen
		reads   int           // reads so far
		wantErr bool
	}
	tests := []struct {
		name  string
		env   string // META_ACCESS_TOKEN in the environment
		steps []step
	}{
		{"filled after the first read", "", []step{
			{after: 0, value: `{"META_ACCESS_TOKEN":""}`, want: "", reads: 1},
			{after: 30 * time.Second, value: `{"META_ACCESS_TOKEN":"filled"}`, want: "", reads: 1},
			{after: ttl, want: "filled", reads: 2},
			{after: ttl + 59*time.Second, want: "filled", reads: 2},
		}},
		{"rotated", "", []step{
			{after: 0, value: `{"META_ACCESS_TOKEN":"old"}`, want: "old", reads: 1},
			{after: ttl - time.Nanosecond, value: `{"META_ACCESS_TOKEN":"new"}`, want: "old", reads: 1},
			{after: ttl, want: "new", reads: 2},
		}},
		{"a failed re-read keeps the last value and retries a TTL later", "", []step{
			{after: 0, value: `{"META_ACCESS_TOKEN":"old"}`, want: "old", reads: 1},
			{after: ttl, fail: true, want: "old", reads: 2},
			{after: ttl + 30*time.Second, want: "old", reads: 2},
			{after: 2 * ttl, value: `{"META_ACCESS_TOKEN":"new"}`, want: "new", reads: 3},
		}},
		{"a failed first read is an error, the next call reads again", "", []step{
			{after: 0, fail: true, wantErr: true, reads: 1},
			{after: time.Second, value: `{"META_ACCESS_TOKEN":"x"}`, want: "x", reads: 2},
		}},
		{"the environment wins", "from-env", []step{
			{after: 0, value: `{"META_ACCESS_TOKEN":"stored"}`, want: "from-env", reads: 1},
			{after: ttl, value: `{"META_ACCESS_TOKEN":"rotated"}`, want: "from-env", reads: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := &secretStore{}
			now := start
			base := Config{SecretsARN: "arn:secret", MetaAccessToken: tt.env, TableName: "t"}
			cache := NewSecretCache(base, store.fetch, ttl, func() time.Time { return now }, "META_ACCESS_TOKEN")
			for i, s := range tt.steps {
				now = start.Add(s.after)
				if s.value != "" {
					store.value = s.value
				}
				store.err = nil
				if s.fail {
					store.err = errors.New("service unavailable")
				}
				c, err := cache.Config(context.Background())
				if (err != nil) != s.wantErr {
					t.Fatalf("step %d: err = %v, want error %v", i, err, s.wantErr)
				}
				if err == nil && (c.MetaAccessToken != s.want || c.TableName != "t") {
					t.Errorf("step %d: token %q table %q, want %q and t", i, c.MetaAccessToken, c.TableName, s.want)
				}
				if store.reads != s.reads {
					t.Errorf("step %d: %d reads, want %d", i, store.reads, s.reads)
				}
			}
		})
	}
}

func TestSecretCacheWithoutARN(t *testing.T) {
	t.Parallel()
	store := &secretStore{}
	base := Config{MetaAccessToken: "local", TwilioAuthToken: "tw"}
	c, err := NewSecretCache(base, store.fetch, 0, nil, "META_ACCESS_TOKEN", "TWILIO_AUTH_TOKEN").Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(base, c); diff != "" || store.reads != 0 {
		t.Errorf("config (-want +got):\n%s, %d reads", diff, store.reads)
	}
}
