package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Names and AWS identity the local stack reports in events and ARNs; scripts/emulators.sh
// gives ElasticMQ the same region and account for its queue ARNs.
const (
	region    = "us-east-1"
	accountID = "123456789012"
	tableName = "buzon"
)

// functionSpec is how one function runs. Memory and timeout mirror infra/stack.go; pool is
// how many processes serve it at once (its local concurrency).
type functionSpec struct {
	Name     string
	MemoryMB int
	Timeout  time.Duration
	Pool     int
}

// functionSpecs lists Buzón's functions as infra/stack.go deploys them.
func functionSpecs() []functionSpec {
	return []functionSpec{
		{Name: "webhook", MemoryMB: 256, Timeout: 10 * time.Second, Pool: 4},
		{Name: "assign", MemoryMB: 512, Timeout: 30 * time.Second, Pool: 2},
		{Name: "api", MemoryMB: 512, Timeout: 29 * time.Second, Pool: 4},
		{Name: "send", MemoryMB: 256, Timeout: 30 * time.Second, Pool: 2},
		{Name: "templates", MemoryMB: 256, Timeout: 5 * time.Minute, Pool: 1},
		{Name: "window", MemoryMB: 256, Timeout: 50 * time.Second, Pool: 1},
	}
}

// functionARN is the ARN a function is invoked under.
func functionARN(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, accountID, name)
}

// functionEnv is the environment every function gets: Lambda's own variables, the AWS
// endpoints of the emulators, and Buzón's configuration. Nothing is inherited from the
// runner's environment, as in Lambda.
func functionEnv(s settings, spec functionSpec, inbound, outbound fifoQueue) []string {
	return []string{
		// Lambda's reserved variables (the runtime API address is added per process).
		"AWS_LAMBDA_FUNCTION_NAME=" + spec.Name,
		fmt.Sprintf("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", spec.MemoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + spec.Name,
		"AWS_LAMBDA_LOG_FORMAT=JSON", // infra sets the JSON log format on every function
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
		// Buzón's configuration (shared/config).
		"TABLE_NAME=" + tableName,
		"INBOUND_QUEUE_URL=" + inbound.URL,
		"OUTBOUND_QUEUE_URL=" + outbound.URL,
		"INBOUND_DLQ_URL=" + inbound.DLQURL,
		"OUTBOUND_DLQ_URL=" + outbound.DLQURL,
		"PUBLIC_BASE_URL=" + s.PublicBaseURL,
		"META_APP_SECRET=" + s.MetaAppSecret,
		"META_VERIFY_TOKEN=" + s.MetaVerifyToken,
		"META_ACCESS_TOKEN=" + s.MetaAccessToken,
		"TWILIO_AUTH_TOKEN=" + s.TwilioAuthToken,
		"META_GRAPH_URL=" + s.sandboxURL(),
		"TWILIO_API_URL=" + s.sandboxURL(),
		"LOG_LEVEL=" + s.LogLevel,
	}
}

// startFunctions starts the pool of every function whose source directory exists, running
// the bootstrap the Makefile built into binDir/<name>/bootstrap. A function not written yet
// is skipped. On error it returns the pools it did start, for the caller to stop.
func startFunctions(ctx context.Context, s settings, res stackResources, logs *logSink, log *slog.Logger) (map[string]*Function, error) {
	fns := map[string]*Function{}
	for _, spec := range functionSpecs() {
		spec.Pool *= max(s.PoolScale, 1)
		if _, err := os.Stat(filepath.Join("functions", spec.Name)); err != nil {
			log.Info("function skipped: functions/"+spec.Name+" does not exist", "function", spec.Name)
			continue
		}
		bin, err := filepath.Abs(filepath.Join(s.BinDir, spec.Name, "bootstrap"))
		if err != nil {
			return fns, err
		}
		if _, err := os.Stat(bin); err != nil {
			return fns, fmt.Errorf("function %s: %w (run make build)", spec.Name, err)
		}
		f := newFunction(spec, bin, functionEnv(s, spec, res.Inbound, res.Outbound), logs, log)
		f.Start(ctx)
		fns[spec.Name] = f
	}
	return fns, nil
}
