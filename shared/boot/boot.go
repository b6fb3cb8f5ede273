// Package boot does what every function's main does once at init: structured logging, the
// configuration, the AWS SDK configuration (endpoints come from the standard AWS_ENDPOINT_URL*
// variables, so the same binary runs against emulators, LocalStack or AWS) and the provider
// secrets.
package boot

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/buzon/buzon/shared/config"
)

// Setup configures the default logger and returns the configuration and the AWS configuration.
// required names the settings the function cannot run without.
func Setup(ctx context.Context, required ...string) (config.Config, aws.Config, error) {
	slog.SetDefault(lambdacontext.NewLogger())
	cfg, err := config.FromEnv()
	if err != nil {
		return config.Config{}, aws.Config{}, err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return config.Config{}, aws.Config{}, fmt.Errorf("aws config: %w", err)
	}
	sm := secretsmanager.NewFromConfig(awsCfg)
	err = cfg.LoadSecrets(ctx, func(ctx context.Context, arn string) (string, error) {
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.SecretString), nil
	})
	if err != nil {
		return config.Config{}, aws.Config{}, err
	}
	if err := cfg.Require(required...); err != nil {
		return config.Config{}, aws.Config{}, err
	}
	return cfg, awsCfg, nil
}
