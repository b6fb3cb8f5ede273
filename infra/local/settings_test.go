package main

import (
	"errors"
	"testing"
	"time"
)

func TestLoadSettings(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	s, err := loadSettings(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if s.Port != 8080 || s.DynamoDBPort != 8000 || s.SQSPort != 9324 || s.S3Port != 9444 || s.SandboxPort != 8090 ||
		s.PublicBaseURL != "http://127.0.0.1:8080" || s.SeedFile != "infra/local/seed.json" ||
		s.Tick != time.Minute || s.TemplatesTick != time.Hour || len(s.JWTKey) != 32 ||
		s.MetaAppSecret != "local-meta-secret" || s.MetaVerifyToken != "local-verify-token" ||
		s.MetaAccessToken != "local-meta-token" || s.TwilioAuthToken != "local-twilio-token" {
		t.Errorf("defaults = %+v", s)
	}
	if s.sandboxURL() != "http://127.0.0.1:8090" {
		t.Errorf("sandboxURL = %s", s.sandboxURL())
	}

	s, err = loadSettings(env(map[string]string{"PORT": "9000", "LOCAL_JWT_KEY": "k", "TICK_SECONDS": "5", "PUBLIC_BASE_URL": "https://x.test/"}))
	if err != nil {
		t.Fatal(err)
	}
	if s.PublicBaseURL != "https://x.test" || string(s.JWTKey) != "k" || s.Tick != 5*time.Second || s.Port != 9000 {
		t.Errorf("overrides = %+v", s)
	}
	// PUBLIC_BASE_URL follows PORT.
	if s, _ := loadSettings(env(map[string]string{"PORT": "9000"})); s.PublicBaseURL != "http://127.0.0.1:9000" {
		t.Errorf("PublicBaseURL = %s, want the gateway's", s.PublicBaseURL)
	}

	for _, bad := range []map[string]string{{"PORT": "x"}, {"SQS_PORT": "70000"}, {"TICK_SECONDS": "0"}, {"LOG_LEVEL": "loud"}, {"LOCAL_LOG_LEVEL": "loud"}} {
		if _, err := loadSettings(env(bad)); !errors.Is(err, errSettings) {
			t.Errorf("loadSettings(%v) error = %v, want errSettings", bad, err)
		}
	}
}
