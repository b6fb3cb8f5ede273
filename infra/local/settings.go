package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// errSettings reports an environment variable the runner cannot use.
var errSettings = errors.New("local: invalid setting")

// settings is the runner's configuration. shared/config reads the functions' environment;
// these are the runner's own knobs (ports, ticks, paths), and loadSettings is their only
// reader. The functions' settings the runner passes on (META_APP_SECRET, ...) are read here
// only to be forwarded.
type settings struct {
	Port         int    // PORT: the gateway
	DynamoDBPort int    // DYNAMODB_PORT
	SQSPort      int    // SQS_PORT: ElasticMQ
	S3Port       int    // S3_PORT: S3Proxy
	SandboxPort  int    // SANDBOX_PORT: the provider sandbox (Graph API, Twilio)
	WSPort       int    // WS_PORT: the WebSocket API and its @connections endpoint
	SandboxFail  string // PROVIDER_SANDBOX_FAIL
	// STREAM_REDELIVER=1: the stream poller gives every batch twice (at-least-once, played).
	StreamRedeliver bool
	PublicBaseURL   string // PUBLIC_BASE_URL: what the webhook signs URLs against
	SeedFile        string // SEED_FILE
	BinDir          string // LOCAL_BIN_DIR: where the Makefile puts <name>/bootstrap
	JWTKey          []byte // LOCAL_JWT_KEY, or random per run
	Tick            time.Duration
	TemplatesTick   time.Duration
	LogLevel        string // LOG_LEVEL: the functions' (as AWS_LAMBDA_LOG_LEVEL) and by default the runner's
	LocalLogLevel   string // LOCAL_LOG_LEVEL: the runner's own, when it should differ
	PoolScale       int    // LOCAL_POOL_SCALE: multiplies every function's warm pool (load runs)
	PoolMax         int    // LOCAL_POOL_MAX: processes per function at most, as it scales out on demand (Lambda's concurrency, capped for one machine)

	// Forwarded to the functions.
	MetaAppSecret   string
	MetaVerifyToken string
	MetaAccessToken string
	TwilioAuthToken string
}

// loadSettings reads the runner's settings through getenv (os.Getenv in main).
func loadSettings(getenv func(string) string) (settings, error) {
	var s settings
	var errs []error
	port := func(name string, def int) int {
		n, err := positive(getenv(name), def)
		if err != nil || n > 65535 {
			errs = append(errs, fmt.Errorf("%w: %s: want a TCP port, got %q", errSettings, name, getenv(name)))
		}
		return n
	}
	seconds := func(name string, def int) time.Duration {
		n, err := positive(getenv(name), def)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %v", errSettings, name, err))
		}
		return time.Duration(n) * time.Second
	}
	s.Port = port("PORT", 8080)
	s.DynamoDBPort = port("DYNAMODB_PORT", 8000)
	s.SQSPort = port("SQS_PORT", 9324)
	s.S3Port = port("S3_PORT", 9444)
	s.SandboxPort = port("SANDBOX_PORT", 8090)
	s.WSPort = port("WS_PORT", 8081)
	s.SandboxFail = getenv("PROVIDER_SANDBOX_FAIL")
	s.StreamRedeliver = getenv("STREAM_REDELIVER") == "1"
	s.Tick = seconds("TICK_SECONDS", 60)
	s.TemplatesTick = seconds("TEMPLATES_TICK_SECONDS", 3600)
	s.PublicBaseURL = strings.TrimRight(or(getenv("PUBLIC_BASE_URL"), fmt.Sprintf("http://127.0.0.1:%d", s.Port)), "/")
	s.SeedFile = or(getenv("SEED_FILE"), "infra/local/seed.json")
	scale, err := positive(getenv("LOCAL_POOL_SCALE"), 1)
	if err != nil || scale > 16 {
		errs = append(errs, fmt.Errorf("%w: LOCAL_POOL_SCALE: want 1 to 16, got %q", errSettings, getenv("LOCAL_POOL_SCALE")))
	}
	s.PoolScale = scale
	poolMax, err := positive(getenv("LOCAL_POOL_MAX"), 16)
	if err != nil || poolMax > 256 {
		errs = append(errs, fmt.Errorf("%w: LOCAL_POOL_MAX: want 1 to 256, got %q", errSettings, getenv("LOCAL_POOL_MAX")))
	}
	s.PoolMax = poolMax
	s.BinDir = or(getenv("LOCAL_BIN_DIR"), ".cache/bin")
	s.LogLevel = or(getenv("LOG_LEVEL"), "info")
	s.LocalLogLevel = or(getenv("LOCAL_LOG_LEVEL"), s.LogLevel)
	for name, v := range map[string]string{"LOG_LEVEL": s.LogLevel, "LOCAL_LOG_LEVEL": s.LocalLogLevel} {
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %v", errSettings, name, err))
		}
	}
	if k := getenv("LOCAL_JWT_KEY"); k != "" {
		s.JWTKey = []byte(k)
	} else {
		s.JWTKey = make([]byte, 32)
		rand.Read(s.JWTKey)
	}
	s.MetaAppSecret = or(getenv("META_APP_SECRET"), "local-meta-secret")
	s.MetaVerifyToken = or(getenv("META_VERIFY_TOKEN"), "local-verify-token")
	s.MetaAccessToken = or(getenv("META_ACCESS_TOKEN"), "local-meta-token")
	s.TwilioAuthToken = or(getenv("TWILIO_AUTH_TOKEN"), "local-twilio-token")
	return s, errors.Join(errs...)
}

// logLevel is the runner's own level (LOCAL_LOG_LEVEL, else LOG_LEVEL) as a slog level;
// loadSettings has checked it.
func (s settings) logLevel() slog.Level {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(s.LocalLogLevel))
	return lvl
}

// ticks are the runner's schedule rates by function, in place of the declared ones: a
// minute's window check and an hourly template sync are too slow to watch.
func (s settings) ticks() map[string]time.Duration {
	return map[string]time.Duration{"window": s.Tick, "templates": s.TemplatesTick}
}

func (s settings) dynamoDBURL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.DynamoDBPort) }
func (s settings) sqsURL() string      { return fmt.Sprintf("http://127.0.0.1:%d", s.SQSPort) }
func (s settings) s3URL() string       { return fmt.Sprintf("http://127.0.0.1:%d", s.S3Port) }
func (s settings) sandboxURL() string  { return fmt.Sprintf("http://127.0.0.1:%d", s.SandboxPort) }

// webSocketURL is what clients connect to; webSocketManagementURL the @connections endpoint
// (in AWS: https://{api}.execute-api.{region}.amazonaws.com/{stage}).
func (s settings) webSocketURL() string { return fmt.Sprintf("ws://127.0.0.1:%d", s.WSPort) }
func (s settings) webSocketManagementURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d", s.WSPort)
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func positive(v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return def, fmt.Errorf("want a positive integer, got %q", v)
	}
	return n, nil
}
