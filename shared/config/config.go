// Package config turns the environment into typed configuration. It is the only reader of
// environment variables in Buzón; functions call Load once at init.
package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrMissing reports a required setting that is not set.
var ErrMissing = errors.New("config: required setting missing")

// Config is every setting a Buzón function reads, each field tagged with its variable. Not
// every function needs every field: shared/deploy declares which settings each function reads
// (its tests hold the declaration to the fields each function's code uses), and the log level
// is Lambda's own AWS_LAMBDA_LOG_LEVEL, which the logger reads.
type Config struct {
	TableName        string `env:"TABLE_NAME"`
	InboundQueueURL  string `env:"INBOUND_QUEUE_URL"`
	OutboundQueueURL string `env:"OUTBOUND_QUEUE_URL"`
	InboundDLQURL    string `env:"INBOUND_DLQ_URL"` // poison events go here at once, with the reason
	OutboundDLQURL   string `env:"OUTBOUND_DLQ_URL"`
	MediaBucket      string `env:"MEDIA_BUCKET"`
	S3PathStyle      bool   `env:"S3_PATH_STYLE"`   // "true": bucket in the path (the local S3 emulator)
	MediaQueueURL    string `env:"MEDIA_QUEUE_URL"` // the media function's jobs, one per attachment
	MediaDLQURL      string `env:"MEDIA_DLQ_URL"`
	PublicBaseURL    string `env:"PUBLIC_BASE_URL"` // the webhook's public base URL, for Twilio signatures

	// Provider secrets. In AWS they come from the Secrets Manager secret SECRETS_ARN
	// (a JSON object with these names as keys); locally from the environment.
	SecretsARN      string   `env:"SECRETS_ARN"`
	MetaAppSecrets  []string `env:"META_APP_SECRET"` // comma-separated for several Meta apps
	MetaVerifyToken string   `env:"META_VERIFY_TOKEN"`
	MetaAccessToken string   `env:"META_ACCESS_TOKEN"`
	TwilioAuthToken string   `env:"TWILIO_AUTH_TOKEN"`

	MetaGraphURL   string `env:"META_GRAPH_URL"` // base URL of the Graph API (the sandbox locally)
	MetaAPIVersion string `env:"META_API_VERSION"`
	TwilioAPIURL   string `env:"TWILIO_API_URL"` // base URL of Twilio's REST API (the sandbox locally)

	MaxWebhookBytes int           `env:"MAX_WEBHOOK_BYTES"` // largest accepted webhook body
	LineRateLimit   int           `env:"LINE_RATE_LIMIT"`   // messages per second per line (Cloud API default 80)
	WindowWarnLead  time.Duration `env:"WINDOW_WARN_LEAD"`  // warn the assignee this long before the window closes

	// Realtime (the WebSocket API).
	WebSocketURL           string `env:"WEBSOCKET_URL"`            // what clients connect to, GET /v1/realtime
	WebSocketManagementURL string `env:"WEBSOCKET_MANAGEMENT_URL"` // the @connections endpoint
	JWTIssuer              string `env:"JWT_ISSUER"`               // the user pool the WebSocket authorizer trusts
	JWTClientID            string `env:"JWT_CLIENT_ID"`            // the app client the token must be for
	JWKSURL                string `env:"JWKS_URL"`                 // the issuer's signing keys

	// The console (its Content Security Policy and how it signs in).
	MediaOrigin     string `env:"MEDIA_ORIGIN"`      // where presigned media URLs point: the bucket's origin
	CognitoDomain   string `env:"COGNITO_DOMAIN"`    // the hosted sign-in; empty: the local token issuer
	CognitoClientID string `env:"COGNITO_CLIENT_ID"` // the console's app client
}

// FromEnv reads the configuration from the process environment.
func FromEnv() (Config, error) { return Load(os.Getenv) }

// Load reads the configuration through getenv.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		TableName:        getenv("TABLE_NAME"),
		InboundQueueURL:  getenv("INBOUND_QUEUE_URL"),
		OutboundQueueURL: getenv("OUTBOUND_QUEUE_URL"),
		InboundDLQURL:    getenv("INBOUND_DLQ_URL"),
		OutboundDLQURL:   getenv("OUTBOUND_DLQ_URL"),
		MediaBucket:      getenv("MEDIA_BUCKET"),
		S3PathStyle:      getenv("S3_PATH_STYLE") == "true",
		MediaQueueURL:    getenv("MEDIA_QUEUE_URL"),
		MediaDLQURL:      getenv("MEDIA_DLQ_URL"),
		PublicBaseURL:    strings.TrimRight(getenv("PUBLIC_BASE_URL"), "/"),
		SecretsARN:       getenv("SECRETS_ARN"),
		MetaVerifyToken:  getenv("META_VERIFY_TOKEN"),
		MetaAccessToken:  getenv("META_ACCESS_TOKEN"),
		TwilioAuthToken:  getenv("TWILIO_AUTH_TOKEN"),
		MetaGraphURL:     strings.TrimRight(or(getenv("META_GRAPH_URL"), "https://graph.facebook.com"), "/"),
		MetaAPIVersion:   or(getenv("META_API_VERSION"), "v23.0"),
		TwilioAPIURL:     strings.TrimRight(or(getenv("TWILIO_API_URL"), "https://api.twilio.com"), "/"),
	}
	c.WebSocketURL = getenv("WEBSOCKET_URL")
	c.WebSocketManagementURL = strings.TrimRight(getenv("WEBSOCKET_MANAGEMENT_URL"), "/")
	c.JWTIssuer, c.JWTClientID, c.JWKSURL = getenv("JWT_ISSUER"), getenv("JWT_CLIENT_ID"), getenv("JWKS_URL")
	c.MediaOrigin, c.CognitoDomain, c.CognitoClientID = getenv("MEDIA_ORIGIN"), getenv("COGNITO_DOMAIN"), getenv("COGNITO_CLIENT_ID")
	c.MetaAppSecrets = splitList(getenv("META_APP_SECRET"))
	var err error
	if c.MaxWebhookBytes, err = intOr(getenv("MAX_WEBHOOK_BYTES"), 3<<20); err != nil {
		return Config{}, fmt.Errorf("config: MAX_WEBHOOK_BYTES: %w", err)
	}
	if c.LineRateLimit, err = intOr(getenv("LINE_RATE_LIMIT"), 80); err != nil {
		return Config{}, fmt.Errorf("config: LINE_RATE_LIMIT: %w", err)
	}
	lead := or(getenv("WINDOW_WARN_LEAD"), "1h")
	if c.WindowWarnLead, err = time.ParseDuration(lead); err != nil {
		return Config{}, fmt.Errorf("config: WINDOW_WARN_LEAD: %w", err)
	}
	return c, nil
}

// SecretFetcher returns the string value of a secret (Secrets Manager in AWS).
type SecretFetcher func(ctx context.Context, arn string) (string, error)

// LoadSecrets fills the provider secrets named by keys (META_APP_SECRET, ...) from SECRETS_ARN
// when it is set; the secret's other keys are left alone. Values already set in the
// environment win, so a local run needs no secret store.
func (c *Config) LoadSecrets(ctx context.Context, fetch SecretFetcher, keys ...string) error {
	if c.SecretsARN == "" || len(keys) == 0 {
		return nil
	}
	raw, err := fetch(ctx, c.SecretsARN)
	if err != nil {
		return fmt.Errorf("config: read secret: %w", err)
	}
	var s map[string]string
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return fmt.Errorf("config: secret is not a JSON object of strings: %w", err)
	}
	for _, k := range keys {
		switch k {
		case "META_APP_SECRET":
			if len(c.MetaAppSecrets) == 0 {
				c.MetaAppSecrets = splitList(s[k])
			}
		case "META_VERIFY_TOKEN":
			c.MetaVerifyToken = or(c.MetaVerifyToken, s[k])
		case "META_ACCESS_TOKEN":
			c.MetaAccessToken = or(c.MetaAccessToken, s[k])
		case "TWILIO_AUTH_TOKEN":
			c.TwilioAuthToken = or(c.TwilioAuthToken, s[k])
		default:
			return fmt.Errorf("config: %s is not a provider secret", k)
		}
	}
	return nil
}

// Require returns ErrMissing naming every listed setting that is empty.
func (c *Config) Require(names ...string) error {
	values := map[string]string{
		"TABLE_NAME":         c.TableName,
		"INBOUND_QUEUE_URL":  c.InboundQueueURL,
		"OUTBOUND_QUEUE_URL": c.OutboundQueueURL,
		"INBOUND_DLQ_URL":    c.InboundDLQURL,
		"OUTBOUND_DLQ_URL":   c.OutboundDLQURL,
		"MEDIA_BUCKET":       c.MediaBucket,
		"MEDIA_QUEUE_URL":    c.MediaQueueURL,
		"MEDIA_DLQ_URL":      c.MediaDLQURL,
		"PUBLIC_BASE_URL":    c.PublicBaseURL,
		"META_APP_SECRET":    strings.Join(c.MetaAppSecrets, ","),
		"META_VERIFY_TOKEN":  c.MetaVerifyToken,
		"META_ACCESS_TOKEN":  c.MetaAccessToken,
		"TWILIO_AUTH_TOKEN":  c.TwilioAuthToken,

		"WEBSOCKET_URL":            c.WebSocketURL,
		"WEBSOCKET_MANAGEMENT_URL": c.WebSocketManagementURL,
		"JWT_ISSUER":               c.JWTIssuer,
		"JWT_CLIENT_ID":            c.JWTClientID,
		"JWKS_URL":                 c.JWKSURL,
		"MEDIA_ORIGIN":             c.MediaOrigin,
		"COGNITO_DOMAIN":           c.CognitoDomain,
		"COGNITO_CLIENT_ID":        c.CognitoClientID,
	}
	var missing []string
	for _, n := range names {
		if values[n] == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrMissing, strings.Join(missing, ", "))
	}
	return nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func intOr(v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("want a positive integer, got %q", v)
	}
	return n, nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
