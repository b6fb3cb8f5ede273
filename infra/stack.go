package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/buzon/buzon/shared/consume"
)

// DefaultAssetRoot is where the Makefile writes one directory per function,
// each holding that function's linux/arm64 bootstrap binary.
const DefaultAssetRoot = "build/lambda"

// FunctionNames lists the Lambda functions of the stack; each is built from
// functions/<name> into <AssetRoot>/<name>/bootstrap.
var FunctionNames = []string{"webhook", "assign", "api", "send", "templates", "window"}

// Tuning that the rest of the stack derives from. The queues' visibility
// timeout and maxReceiveCount are shared/consume's (consume.Visibility, six
// times the consumers' timeout, and consume.MaxReceives, sized with the
// runner's backoff for an hour's outage).
const (
	consumerTimeoutSeconds = 30
	queueRetentionDays     = 4  // a message that cannot be handled reaches the DLQ long before
	dlqRetentionDays       = 14 // the maximum: time to notice the alarm and redrive
	logRetention           = awslogs.RetentionDays_ONE_MONTH

	// The stage throttle must carry one line's peak of 1,000 inbound
	// messages per second plus their status callbacks, and stays under the
	// account's regional default of 10,000 requests per second.
	throttleRate  = 2500
	throttleBurst = 5000
)

// StackProps configures NewStack.
type StackProps struct {
	awscdk.StackProps
	// AssetRoot holds one directory per function with its bootstrap binary.
	// Empty means DefaultAssetRoot.
	AssetRoot string
	// LogLevel is passed to every function as LOG_LEVEL. Empty means "info".
	LogLevel string
	// CORSOrigins are the browser origins allowed to call the agent API.
	// Empty means any origin: the API authenticates with bearer tokens, never
	// cookies, so a foreign origin gains nothing without a token.
	CORSOrigins []string
}

// CheckAssets reports which functions have no bootstrap under root, so that
// main can fail with a hint before the CDK fails with an asset error.
func CheckAssets(root string) error {
	var errs []error
	for _, name := range FunctionNames {
		p := filepath.Join(root, name, "bootstrap")
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("infra: %s missing (run `make synth`)", p))
		} else if err != nil {
			errs = append(errs, fmt.Errorf("infra: %w", err))
		}
	}
	return errors.Join(errs...)
}

// NewStack defines Buzón: the table, the queues that connect the functions,
// the functions, the HTTP API with its Cognito JWT authorizer, the schedules,
// the media bucket, the provider secret and the alarms.
func NewStack(scope constructs.Construct, id string, props *StackProps) awscdk.Stack {
	if props == nil {
		props = &StackProps{}
	}
	sprops := props.StackProps
	if sprops.Description == nil {
		sprops.Description = jsii.String("Buzón: shared team inbox for WhatsApp")
	}
	stack := awscdk.NewStack(scope, &id, &sprops)

	assetRoot := props.AssetRoot
	if assetRoot == "" {
		assetRoot = DefaultAssetRoot
	}
	logLevel := props.LogLevel
	if logLevel == "" {
		logLevel = "info"
	}

	table := newTable(stack)
	inbound, inboundDLQ := newFIFOQueue(stack, "Inbound")
	outbound, outboundDLQ := newFIFOQueue(stack, "Outbound")
	media := newMediaBucket(stack)
	secrets := newProviderSecret(stack)
	pool, client := newUserPool(stack)

	api := awsapigatewayv2.NewHttpApi(stack, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		Description:        jsii.String("Buzón: provider webhooks and the agent API"),
		CreateDefaultStage: jsii.Bool(false),
		CorsPreflight:      corsPreflight(props.CORSOrigins),
	})
	api.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(throttleRate),
			BurstLimit: jsii.Number(throttleBurst),
		},
	})
	// The $default stage is served at the endpoint's root. The URL has no
	// trailing slash: functions append paths such as /webhooks/twilio, whose
	// exact spelling Twilio's signature covers.
	publicURL := api.ApiEndpoint()

	fns := &functionFactory{stack: stack, assetRoot: assetRoot, logLevel: logLevel}

	webhook := fns.new("webhook", functionSpec{
		description: "Verifies provider webhooks and enqueues them on the inbound queue",
		memoryMB:    256,
		timeout:     awscdk.Duration_Seconds(jsii.Number(10)),
		env: map[string]*string{
			"INBOUND_QUEUE_URL": inbound.QueueUrl(),
			"SECRETS_ARN":       secrets.SecretArn(),
			"PUBLIC_BASE_URL":   publicURL,
		},
	})
	inbound.GrantSendMessages(webhook)
	// The webhook checks X-Hub-Signature-256, the verify token and
	// X-Twilio-Signature, all of which are in the provider secret.
	secrets.GrantRead(webhook, nil)

	assign := fns.new("assign", functionSpec{
		description: "Records inbound messages and statuses, stores media, routes and assigns conversations",
		memoryMB:    512,
		timeout:     awscdk.Duration_Seconds(jsii.Number(consumerTimeoutSeconds)),
		env: map[string]*string{
			"TABLE_NAME": table.TableName(),
			// A failed record's visibility is changed on its queue: the retry's backoff.
			"INBOUND_QUEUE_URL":  inbound.QueueUrl(),
			"INBOUND_DLQ_URL":    inboundDLQ.QueueUrl(),
			"OUTBOUND_QUEUE_URL": outbound.QueueUrl(),
			"MEDIA_BUCKET":       media.BucketName(),
			"SECRETS_ARN":        secrets.SecretArn(),
		},
	})
	table.GrantReadWriteData(assign)
	// A poison event goes to the DLQ at once, with its reason, and is acknowledged.
	inboundDLQ.GrantSendMessages(assign)
	outbound.GrantSendMessages(assign) // auto-replies
	media.GrantReadWrite(assign, nil)
	// Inbound media is fetched from the provider with its access token.
	secrets.GrantRead(assign, nil)
	assign.AddEventSource(sqsSource(inbound))

	apiFn := fns.new("api", functionSpec{
		description: "The agent API",
		memoryMB:    512,
		// API Gateway gives up on an integration after 30 seconds.
		timeout: awscdk.Duration_Seconds(jsii.Number(29)),
		env: map[string]*string{
			"TABLE_NAME":         table.TableName(),
			"OUTBOUND_QUEUE_URL": outbound.QueueUrl(),
			"MEDIA_BUCKET":       media.BucketName(),
			"PUBLIC_BASE_URL":    publicURL,
			"SECRETS_ARN":        secrets.SecretArn(),
		},
	})
	table.GrantReadWriteData(apiFn)
	outbound.GrantSendMessages(apiFn)
	media.GrantReadWrite(apiFn, nil)
	// An admin's "sync now" lists the templates with the Meta access token, in the request.
	secrets.GrantRead(apiFn, nil)

	send := fns.new("send", functionSpec{
		description: "Sends outbound messages through the provider",
		memoryMB:    256,
		timeout:     awscdk.Duration_Seconds(jsii.Number(consumerTimeoutSeconds)),
		env: map[string]*string{
			"TABLE_NAME":         table.TableName(),
			"OUTBOUND_QUEUE_URL": outbound.QueueUrl(),
			"OUTBOUND_DLQ_URL":   outboundDLQ.QueueUrl(),
			"MEDIA_BUCKET":       media.BucketName(),
			"SECRETS_ARN":        secrets.SecretArn(),
			// Twilio's status callback URL is built from it.
			"PUBLIC_BASE_URL": publicURL,
		},
	})
	table.GrantReadWriteData(send)
	outboundDLQ.GrantSendMessages(send) // poison messages, as for assign
	// Backing off on a provider's rate limit delays one message, not the batch.
	outbound.Grant(send, jsii.String("sqs:ChangeMessageVisibility"))
	// Outbound media is handed to the provider as a presigned URL, which is
	// only as good as the signer's s3:GetObject.
	media.GrantRead(send, nil)
	secrets.GrantRead(send, nil)
	send.AddEventSource(sqsSource(outbound))

	templates := fns.new("templates", functionSpec{
		description: "Syncs message templates from the providers",
		memoryMB:    256,
		timeout:     awscdk.Duration_Minutes(jsii.Number(5)),
		env: map[string]*string{
			"TABLE_NAME":  table.TableName(),
			"SECRETS_ARN": secrets.SecretArn(),
		},
	})
	table.GrantReadWriteData(templates)
	secrets.GrantRead(templates, nil)

	window := fns.new("window", functionSpec{
		description: "Warns before and marks the close of 24-hour customer service windows",
		memoryMB:    256,
		// Ends before the next tick starts.
		timeout: awscdk.Duration_Seconds(jsii.Number(50)),
		// The next tick repeats the check; retrying a stale one only overlaps it.
		retryAttempts: jsii.Number(0),
		env: map[string]*string{
			"TABLE_NAME":         table.TableName(),
			"OUTBOUND_QUEUE_URL": outbound.QueueUrl(),
		},
	})
	table.GrantReadWriteData(window)
	outbound.GrantSendMessages(window)

	awsevents.NewRule(stack, jsii.String("TemplatesSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Template sync every 6 hours"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Hours(jsii.Number(6))),
		Targets:     &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(templates, nil)},
	})
	awsevents.NewRule(stack, jsii.String("WindowSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Window-expiry check every minute"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(1))),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(window, &awseventstargets.LambdaFunctionProps{
			MaxEventAge:   awscdk.Duration_Minutes(jsii.Number(1)),
			RetryAttempts: jsii.Number(0),
		})},
	})

	webhookIntegration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("WebhookIntegration"), webhook, nil)
	api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String("/webhooks/meta"),
		Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_POST},
		Integration: webhookIntegration,
	})
	api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String("/webhooks/twilio"),
		Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_POST},
		Integration: webhookIntegration,
	})
	// The issuer as Cognito writes it into the tokens' iss claim.
	issuer := "https://cognito-idp." + *stack.Region() + ".amazonaws.com/" + *pool.UserPoolId()
	authorizer := awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String("CognitoAuthorizer"), &issuer, &awsapigatewayv2authorizers.HttpJwtAuthorizerProps{
		AuthorizerName: jsii.String("cognito"),
		JwtAudience:    &[]*string{client.UserPoolClientId()},
	})
	api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String("/v1/{proxy+}"),
		Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_ANY},
		Integration: awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("ApiIntegration"), apiFn, nil),
		Authorizer:  authorizer,
	})

	dlqAlarm(stack, "InboundDLQAlarm", inboundDLQ)
	dlqAlarm(stack, "OutboundDLQAlarm", outboundDLQ)
	for _, fn := range fns.created {
		awscloudwatch.NewAlarm(stack, jsii.String(titleCase(fn.name)+"ErrorsAlarm"), &awscloudwatch.AlarmProps{
			AlarmDescription: jsii.String("The " + fn.name + " function returned errors"),
			Metric: fn.fn.MetricErrors(&awscloudwatch.MetricOptions{
				Period:    awscdk.Duration_Minutes(jsii.Number(5)),
				Statistic: jsii.String("Sum"),
			}),
			Threshold:          jsii.Number(0),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			EvaluationPeriods:  jsii.Number(1),
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
	}

	output(stack, "ApiUrl", publicURL)
	output(stack, "TableName", table.TableName())
	output(stack, "InboundQueueUrl", inbound.QueueUrl())
	output(stack, "OutboundQueueUrl", outbound.QueueUrl())
	output(stack, "InboundDLQUrl", inboundDLQ.QueueUrl())
	output(stack, "OutboundDLQUrl", outboundDLQ.QueueUrl())
	output(stack, "MediaBucketName", media.BucketName())
	output(stack, "SecretsArn", secrets.SecretArn())
	output(stack, "UserPoolId", pool.UserPoolId())
	output(stack, "UserPoolClientId", client.UserPoolClientId())

	return stack
}

// newTable defines the single table. Its key and index attribute names are
// the contract with shared/store/keys.go.
func newTable(stack awscdk.Stack) awsdynamodb.Table {
	str := func(name string) *awsdynamodb.Attribute {
		return &awsdynamodb.Attribute{Name: jsii.String(name), Type: awsdynamodb.AttributeType_STRING}
	}
	table := awsdynamodb.NewTable(stack, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey:        str("PK"),
		SortKey:             str("SK"),
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String("ttl"),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
	})
	for _, gsi := range []struct {
		name       string
		projection awsdynamodb.ProjectionType
	}{
		{"GSI1", awsdynamodb.ProjectionType_ALL},       // inbox by department queue
		{"GSI2", awsdynamodb.ProjectionType_ALL},       // by assignee
		{"GSI3", awsdynamodb.ProjectionType_ALL},       // lookups and search: email, contact name, phone
		{"GSI4", awsdynamodb.ProjectionType_KEYS_ONLY}, // window-expiry time buckets
		{"GSI5", awsdynamodb.ProjectionType_KEYS_ONLY}, // waiting conversations, oldest first
	} {
		table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(gsi.name),
			PartitionKey:   str(gsi.name + "PK"),
			SortKey:        str(gsi.name + "SK"),
			ProjectionType: gsi.projection,
		})
	}
	return table
}

// newFIFOQueue defines a FIFO queue in high-throughput mode and its FIFO
// dead-letter queue. Deduplication is by MessageDeduplicationId only: the
// producers derive it from the provider's message id, so a retried webhook
// or a re-sent request is dropped within the five-minute window.
func newFIFOQueue(stack awscdk.Stack, id string) (queue, dlq awssqs.Queue) {
	fifo := func(p *awssqs.QueueProps) *awssqs.QueueProps {
		p.Fifo = jsii.Bool(true)
		p.ContentBasedDeduplication = jsii.Bool(false)
		p.DeduplicationScope = awssqs.DeduplicationScope_MESSAGE_GROUP
		p.FifoThroughputLimit = awssqs.FifoThroughputLimit_PER_MESSAGE_GROUP_ID
		p.Encryption = awssqs.QueueEncryption_SQS_MANAGED
		p.EnforceSSL = jsii.Bool(true)
		return p
	}
	dlq = awssqs.NewQueue(stack, jsii.String(id+"DLQ"), fifo(&awssqs.QueueProps{
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(dlqRetentionDays)),
	}))
	queue = awssqs.NewQueue(stack, jsii.String(id+"Queue"), fifo(&awssqs.QueueProps{
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(queueRetentionDays)),
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(consume.Visibility.Seconds())),
		DeadLetterQueue: &awssqs.DeadLetterQueue{
			Queue:           dlq,
			MaxReceiveCount: jsii.Number(consume.MaxReceives),
		},
	}))
	return queue, dlq
}

func sqsSource(q awssqs.IQueue) awslambda.IEventSource {
	return awslambdaeventsources.NewSqsEventSource(q, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(10),
		ReportBatchItemFailures: jsii.Bool(true),
	})
}

func newMediaBucket(stack awscdk.Stack) awss3.Bucket {
	return awss3.NewBucket(stack, jsii.String("MediaBucket"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{
			{
				Id: jsii.String("media-to-infrequent-access"),
				Transitions: &[]*awss3.Transition{{
					StorageClass:    awss3.StorageClass_INFREQUENT_ACCESS(),
					TransitionAfter: awscdk.Duration_Days(jsii.Number(90)),
				}},
			},
			{
				Id:                                  jsii.String("abort-incomplete-uploads"),
				AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
			},
		},
	})
}

// newProviderSecret defines the one secret with the providers' credentials.
// The verify token is ours to choose, so it is generated; the others come
// from Meta and Twilio and start empty, to be filled in after the first
// deploy (CloudFormation never regenerates or overwrites them).
func newProviderSecret(stack awscdk.Stack) awssecretsmanager.Secret {
	return awssecretsmanager.NewSecret(stack, jsii.String("ProviderSecrets"), &awssecretsmanager.SecretProps{
		Description: jsii.String("Buzón provider credentials: META_APP_SECRET, META_VERIFY_TOKEN, META_ACCESS_TOKEN, TWILIO_AUTH_TOKEN"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			SecretStringTemplate: jsii.String(`{"META_APP_SECRET":"","META_ACCESS_TOKEN":"","TWILIO_AUTH_TOKEN":""}`),
			GenerateStringKey:    jsii.String("META_VERIFY_TOKEN"),
			ExcludePunctuation:   jsii.Bool(true),
			PasswordLength:       jsii.Number(32),
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
}

// newUserPool defines the agents' user pool and the client the consoles sign
// in with. Users are created by admins, never by self sign-up; custom:org_id
// is set at creation, is immutable, and no client may write it, so a token's
// organization can be trusted by the API.
func newUserPool(stack awscdk.Stack) (awscognito.UserPool, awscognito.UserPoolClient) {
	pool := awscognito.NewUserPool(stack, jsii.String("UserPool"), &awscognito.UserPoolProps{
		SelfSignUpEnabled: jsii.Bool(false),
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		AutoVerify:        &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		AccountRecovery:   awscognito.AccountRecovery_EMAIL_ONLY,
		CustomAttributes: &map[string]awscognito.ICustomAttribute{
			"org_id": awscognito.NewStringAttribute(&awscognito.StringAttributeProps{
				MinLen:  jsii.Number(1),
				MaxLen:  jsii.Number(64),
				Mutable: jsii.Bool(false),
			}),
		},
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
	})
	client := pool.AddClient(jsii.String("ConsoleClient"), &awscognito.UserPoolClientOptions{
		AuthFlows:                  &awscognito.AuthFlow{UserSrp: jsii.Bool(true)},
		GenerateSecret:             jsii.Bool(false),
		DisableOAuth:               jsii.Bool(true),
		PreventUserExistenceErrors: jsii.Bool(true),
		ReadAttributes: awscognito.NewClientAttributes().
			WithStandardAttributes(&awscognito.StandardAttributesMask{
				Email: jsii.Bool(true), EmailVerified: jsii.Bool(true), Fullname: jsii.Bool(true),
			}).
			WithCustomAttributes(jsii.String("org_id")),
		WriteAttributes: awscognito.NewClientAttributes().
			WithStandardAttributes(&awscognito.StandardAttributesMask{
				Email: jsii.Bool(true), Fullname: jsii.Bool(true),
			}),
	})
	return pool, client
}

func corsPreflight(origins []string) *awsapigatewayv2.CorsPreflightOptions {
	if len(origins) == 0 {
		origins = []string{"*"}
	}
	return &awsapigatewayv2.CorsPreflightOptions{
		AllowOrigins: jsii.Strings(origins...),
		AllowHeaders: jsii.Strings("authorization", "content-type"),
		AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{
			awsapigatewayv2.CorsHttpMethod_GET, awsapigatewayv2.CorsHttpMethod_POST,
			awsapigatewayv2.CorsHttpMethod_PUT, awsapigatewayv2.CorsHttpMethod_PATCH,
			awsapigatewayv2.CorsHttpMethod_DELETE,
		},
		MaxAge: awscdk.Duration_Hours(jsii.Number(1)),
	}
}

type functionSpec struct {
	description   string
	memoryMB      float64
	timeout       awscdk.Duration
	retryAttempts *float64 // asynchronous invocations; nil keeps Lambda's default
	env           map[string]*string
}

type namedFunction struct {
	name string
	fn   awslambda.Function
}

type functionFactory struct {
	stack     awscdk.Stack
	assetRoot string
	logLevel  string
	created   []namedFunction
}

// new defines one function from its Makefile-built bootstrap, with its own
// log group. The environment is the function's only configuration.
func (f *functionFactory) new(name string, spec functionSpec) awslambda.Function {
	id := titleCase(name)
	logs := awslogs.NewLogGroup(f.stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention: logRetention,
	})
	env := map[string]*string{"LOG_LEVEL": jsii.String(f.logLevel)}
	for k, v := range spec.env {
		env[k] = v
	}
	fn := awslambda.NewFunction(f.stack, jsii.String(id+"Function"), &awslambda.FunctionProps{
		Description:   jsii.String(spec.description),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          awslambda.Code_FromAsset(jsii.String(filepath.Join(f.assetRoot, name)), nil),
		MemorySize:    jsii.Number(spec.memoryMB),
		Timeout:       spec.timeout,
		RetryAttempts: spec.retryAttempts,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		LogGroup:      logs,
		Environment:   &env,
	})
	f.created = append(f.created, namedFunction{name, fn})
	return fn
}

func dlqAlarm(stack awscdk.Stack, id string, dlq awssqs.Queue) {
	awscloudwatch.NewAlarm(stack, jsii.String(id), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("Messages are waiting in a dead-letter queue"),
		Metric: dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period:    awscdk.Duration_Minutes(jsii.Number(1)),
			Statistic: jsii.String("Maximum"),
		}),
		Threshold:          jsii.Number(0),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
}

func output(stack awscdk.Stack, id string, value *string) {
	awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: value})
}

// titleCase turns a function name into a construct id prefix: "api" → "Api".
func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
