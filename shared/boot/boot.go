// Package boot does what every function's main does once at init: structured logging, the
// configuration, the AWS SDK configuration (endpoints come from the standard AWS_ENDPOINT_URL*
// variables, so the same binary runs against emulators, LocalStack or AWS) and the provider
// secrets.
package boot

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/buzon/buzon/shared/config"
	"github.com/buzon/buzon/shared/deploy"
)

// SetupSecrets configures the default logger and returns the configuration cache and the AWS
// configuration of the function named name in shared/deploy: it fails when a setting the
// declaration marks required is empty, and reads from the provider secret only the keys the
// function declares. The cache reads the secret again once its value is older than
// config.SecretTTL: a function warmed before the secret was filled in, or before a token was
// rotated, then uses the new value without being recycled.
//
// The logger is Lambda's: JSON, at the level of AWS_LAMBDA_LOG_LEVEL, which Lambda sets from
// the function's application log level (infra/stack.go) and the local runner from LOG_LEVEL.
func SetupSecrets(ctx context.Context, name string) (*config.SecretCache, aws.Config, error) {
	slog.SetDefault(lambdacontext.NewLogger())
	fn, ok := deploy.Buzon.Function(name)
	if !ok {
		return nil, aws.Config{}, fmt.Errorf("boot: %q is not a function of shared/deploy", name)
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, aws.Config{}, err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRetryer(Retryer))
	if err != nil {
		return nil, aws.Config{}, fmt.Errorf("aws config: %w", err)
	}
	sm := secretsmanager.NewFromConfig(awsCfg)
	fetch := func(ctx context.Context, arn string) (string, error) {
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.SecretString), nil
	}
	secrets := config.NewSecretCache(cfg, fetch, config.SecretTTL, nil, fn.Secrets...)
	first, err := secrets.Config(ctx)
	if err != nil {
		return nil, aws.Config{}, err
	}
	if err := first.Require(fn.Required()...); err != nil {
		return nil, aws.Config{}, err
	}
	return secrets, awsCfg, nil
}

// Retry bounds of every AWS call: the worst case of backoffs (at most 1+2+3+3 s with full
// jitter) stays well inside the shortest function timeout that makes AWS calls (10 s).
const (
	retryMaxAttempts = 5
	retryMaxBackoff  = 3 * time.Second
)

// Retryer is the SDK's standard retryer without its client-side retry quota. The quota is a
// token bucket that each retry drains (5 of 500 tokens) and only successes refill: under
// sustained throttling, which DynamoDB and SQS answer with retryable errors, it is empty after
// a hundred retries and every later call of the process fails at once with "retry quota
// exceeded" instead of backing off, which turns a slow table into failed batches. Attempts and
// backoff stay bounded, so a call still ends within its Lambda's timeout; a longer outage is
// the consumer's to ride out (redelivery with backoff, then the DLQ).
func Retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = retryMaxAttempts
		o.MaxBackoff = retryMaxBackoff
		o.RateLimiter = ratelimit.None
	})
}
