package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/buzon/buzon/shared/deploy"
)

// Names and AWS identity the local stack reports in events and ARNs; scripts/emulators.sh
// gives ElasticMQ the same region and account for its queue ARNs.
const (
	region    = "us-east-1"
	accountID = "123456789012"
	tableName = "buzon"
	// mediaBucket is the local media bucket (S3Proxy, in memory).
	mediaBucket = "buzon-media"
)

// functionSpec is how one function runs locally, from its declaration in shared/deploy.
type functionSpec struct {
	Name     string
	MemoryMB int
	Timeout  time.Duration
	Pool     int // processes kept warm
	MaxPool  int // processes at most: the pool grows on demand up to it, as Lambda scales out
	// IdleTimeout: a process started on demand stops after this long without an invocation
	// (0: idleTimeout).
	IdleTimeout time.Duration
	Settings    []string // the variables of Buzón's configuration it reads, by name
}

// functionSpecs lists Buzón's functions as shared/deploy declares them. Locally a function
// gets the provider secrets it declares as variables of their own, where AWS gives it
// SECRETS_ARN.
func functionSpecs(d deploy.Deployment) []functionSpec {
	var out []functionSpec
	for _, f := range d.Functions {
		spec := functionSpec{Name: f.Name, MemoryMB: f.MemoryMB, Timeout: f.Timeout, Pool: f.Pool}
		for _, s := range f.Env() {
			if s.Name != deploy.SecretsSetting {
				spec.Settings = append(spec.Settings, s.Name)
			}
		}
		spec.Settings = append(spec.Settings, f.Secrets...)
		out = append(out, spec)
	}
	return out
}

// functionARN is the ARN a function is invoked under.
func functionARN(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, accountID, name)
}

// localValues are the values the local stack gives Buzón's settings: its resources, the
// provider sandbox in place of the providers, and the provider secrets of the runner's
// settings. A setting without a value here keeps its default in shared/config.
func localValues(s settings, res stackResources) map[string]string {
	v := map[string]string{
		deploy.TableSetting:  tableName,
		"PUBLIC_BASE_URL":    s.PublicBaseURL,
		"META_APP_SECRET":    s.MetaAppSecret,
		"META_VERIFY_TOKEN":  s.MetaVerifyToken,
		"META_ACCESS_TOKEN":  s.MetaAccessToken,
		"TWILIO_AUTH_TOKEN":  s.TwilioAuthToken,
		"META_GRAPH_URL":     s.sandboxURL(),
		"TWILIO_API_URL":     s.sandboxURL(),
		deploy.BucketSetting: mediaBucket,
		"S3_PATH_STYLE":      "true",    // S3Proxy: the bucket in the path
		"MEDIA_ORIGIN":       s.s3URL(), // presigned media URLs point there
		// The WebSocket API (websocket.go) and the local token issuer (token.go).
		"WEBSOCKET_URL":            s.webSocketURL(),
		"WEBSOCKET_MANAGEMENT_URL": s.webSocketManagementURL(),
		"JWT_ISSUER":               tokenIssuer,
		"JWT_CLIENT_ID":            tokenAudience,
		"JWKS_URL":                 fmt.Sprintf("http://127.0.0.1:%d%s", s.Port, jwksPath),
	}
	for name, q := range res.Queues {
		v[deploy.QueueSetting(name)] = q.URL
		v[deploy.QueueSetting(name+"-dlq")] = q.DLQURL
	}
	return v
}

// functionEnv is the environment of one function: Lambda's own variables, the AWS endpoints
// of the emulators, and exactly the settings the function declares that have a local value.
// Nothing is inherited from the runner's environment, as in Lambda.
func functionEnv(s settings, spec functionSpec, values map[string]string) []string {
	env := []string{
		// Lambda's reserved variables (the runtime API address is added per process).
		"AWS_LAMBDA_FUNCTION_NAME=" + spec.Name,
		fmt.Sprintf("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", spec.MemoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + spec.Name,
		"AWS_LAMBDA_LOG_FORMAT=JSON", // infra sets the JSON log format on every function
		// Lambda sets it from the function's application log level (infra/stack.go);
		// the function's logger reads it.
		"AWS_LAMBDA_LOG_LEVEL=" + strings.ToUpper(s.LogLevel),
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"TZ=:UTC",
		"LANG=en_US.UTF-8",
		"_HANDLER=bootstrap",
		// Credentials and endpoints of the emulators, in place of the execution role.
		"AWS_ACCESS_KEY_ID=local",
		"AWS_SECRET_ACCESS_KEY=local",
		"AWS_ENDPOINT_URL_DYNAMODB=" + s.dynamoDBURL(),
		"AWS_ENDPOINT_URL_SQS=" + s.sqsURL(),
		"AWS_ENDPOINT_URL_S3=" + s.s3URL(),
	}
	for _, name := range spec.Settings {
		if v, ok := values[name]; ok {
			env = append(env, name+"="+v)
		}
	}
	return env
}

// startFunctions starts the pool of every declared function, running the bootstrap the
// Makefile built into binDir/<name>/bootstrap. A required setting without a local value is an
// error here, before any process starts, not a function that fails its init. On error it
// returns the pools it did start, for the caller to stop.
func startFunctions(ctx context.Context, s settings, res stackResources, logs *logSink, log *slog.Logger) (map[string]*Function, error) {
	values := localValues(s, res)
	for _, f := range deploy.Buzon.Functions {
		for _, name := range f.Required() {
			if _, ok := values[name]; !ok {
				return nil, fmt.Errorf("function %s requires %s, which the local stack does not provide", f.Name, name)
			}
		}
	}
	fns := map[string]*Function{}
	for _, spec := range functionSpecs(deploy.Buzon) {
		spec.Pool *= max(s.PoolScale, 1)
		spec.MaxPool = max(spec.Pool, s.PoolMax)
		bin, err := filepath.Abs(filepath.Join(s.BinDir, spec.Name, "bootstrap"))
		if err != nil {
			return fns, err
		}
		if _, err := os.Stat(bin); err != nil {
			return fns, fmt.Errorf("function %s: %w (run make build)", spec.Name, err)
		}
		f := newFunction(spec, bin, functionEnv(s, spec, values), logs, log)
		f.Start(ctx)
		fns[spec.Name] = f
	}
	return fns, nil
}
