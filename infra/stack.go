package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
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

	"github.com/buzon/buzon/shared/deploy"
	"github.com/buzon/buzon/shared/realtime"
)

// DefaultAssetRoot is where the Makefile writes one directory per function,
// each holding that function's linux/arm64 bootstrap binary.
const DefaultAssetRoot = "build/lambda"

// Tuning of what shared/deploy leaves to the stack.
const (
	queueRetentionDays = 4  // a message that cannot be handled reaches the DLQ long before
	dlqRetentionDays   = 14 // the maximum: time to notice the alarm and redrive
	logRetention       = awslogs.RetentionDays_ONE_MONTH

	// The stage throttle is the default of a route without a throttle of its own (each
	// function's routes declare theirs in shared/deploy). It must carry one line's peak of 1,000 inbound
	// messages per second plus their status callbacks, and stays under the
	// account's regional default of 10,000 requests per second.
	throttleRate  = 2500
	throttleBurst = 5000
)

// StackProps configures NewStack.
type StackProps struct {
	awscdk.StackProps
	// Deployment is what to build. Nil means deploy.Buzon.
	Deployment *deploy.Deployment
	// AssetRoot holds one directory per function with its bootstrap binary.
	// Empty means DefaultAssetRoot.
	AssetRoot string
	// LogLevel is every function's application log level (DEBUG, INFO,
	// WARN or ERROR, any case): Lambda drops lower records and passes it to
	// the function as AWS_LAMBDA_LOG_LEVEL, which its logger reads. Empty
	// means INFO.
	LogLevel string
	// CORSOrigins are the browser origins allowed to call the agent API.
	// Empty means any origin: the API authenticates with bearer tokens, never
	// cookies, so a foreign origin gains nothing without a token.
	CORSOrigins []string
}

// CheckAssets reports which functions of d have no bootstrap under root, so
// that main can fail with a hint before the CDK fails with an asset error.
func CheckAssets(d deploy.Deployment, root string) error {
	var errs []error
	for _, name := range d.Names() {
		p := filepath.Join(root, name, "bootstrap")
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("infra: %s missing (run `make synth`)", p))
		} else if err != nil {
			errs = append(errs, fmt.Errorf("infra: %w", err))
		}
	}
	return errors.Join(errs...)
}

// NewStack defines Buzón from its declaration (shared/deploy): the table, the
// queues, the functions with their settings, grants and triggers, the HTTP API
// with its Cognito JWT authorizer, the schedules, the media bucket, the
// provider secret and the alarms.
func NewStack(scope constructs.Construct, id string, props *StackProps) (awscdk.Stack, error) {
	if props == nil {
		props = &StackProps{}
	}
	d := deploy.Buzon
	if props.Deployment != nil {
		d = *props.Deployment
	}
	logLevel, err := applicationLogLevel(props.LogLevel)
	if err != nil {
		return nil, err
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

	table := newTable(stack, d.StreamConsumed())
	media := newMediaBucket(stack)
	secrets := newProviderSecret(stack)
	queues := map[string]awssqs.Queue{} // by name; a DLQ as <name>-dlq
	for _, q := range d.Queues {
		queue, dlq := newQueue(stack, q)
		queues[q.Name], queues[q.DLQ()] = queue, dlq
	}

	api := awsapigatewayv2.NewHttpApi(stack, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		Description:        jsii.String("Buzón: provider webhooks and the agent API"),
		CreateDefaultStage: jsii.Bool(false),
		CorsPreflight:      corsPreflight(props.CORSOrigins),
	})
	stage := api.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(throttleRate),
			BurstLimit: jsii.Number(throttleBurst),
		},
	})
	cfnStage := stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfnStage.SetRouteSettings(routeSettings(d))
	cfnStage.SetAccessLogSettings(accessLogs(stack))
	// The $default stage is served at the endpoint's root. The URL has no
	// trailing slash: functions append paths such as /webhooks/twilio, whose
	// exact spelling Twilio's signature covers.
	publicURL := api.ApiEndpoint()
	pool, client, signIn := newUserPool(stack, publicURL)
	// The issuer as Cognito writes it into the tokens' iss claim.
	issuer := "https://cognito-idp." + *stack.Region() + ".amazonaws.com/" + *pool.UserPoolId()
	authorizer := awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String("CognitoAuthorizer"), &issuer, &awsapigatewayv2authorizers.HttpJwtAuthorizerProps{
		AuthorizerName: jsii.String("cognito"),
		JwtAudience:    &[]*string{client.UserPoolClientId()},
	})

	// The value of each setting the stack provides; the others (tunables)
	// keep their defaults in shared/config.
	values := map[string]*string{
		deploy.TableSetting:   table.TableName(),
		deploy.BucketSetting:  media.BucketName(),
		deploy.SecretsSetting: secrets.SecretArn(),
		"PUBLIC_BASE_URL":     publicURL,
		// The console: where presigned media URLs point (its Content Security Policy), and
		// Cognito's hosted sign-in with the app client it uses.
		"MEDIA_ORIGIN":      jsii.String("https://" + *media.BucketRegionalDomainName()),
		"COGNITO_DOMAIN":    signIn.BaseUrl(nil),
		"COGNITO_CLIENT_ID": client.UserPoolClientId(),
	}
	for name, q := range queues {
		values[deploy.QueueSetting(name)] = q.QueueUrl()
	}
	var ws *webSocket
	if slices.ContainsFunc(d.Functions, func(f deploy.Function) bool { return len(f.WebSocket) > 0 }) {
		ws = newWebSocket(stack, values, issuer, client.UserPoolClientId())
	}

	var fns []namedFunction
	var streamDLQs []namedQueue
	for _, f := range d.Functions {
		env := map[string]*string{}
		for _, s := range f.Env() {
			v, ok := values[s.Name]
			if !ok && s.Required {
				return nil, fmt.Errorf("infra: function %s requires %s, which the stack does not provide", f.Name, s.Name)
			}
			if ok {
				env[s.Name] = v
			}
		}
		fn := newFunction(stack, assetRoot, f, env, logLevel)
		if f.Reserved > 0 {
			fn.Node().DefaultChild().(awslambda.CfnFunction).SetReservedConcurrentExecutions(jsii.Number(f.Reserved))
		}
		fns = append(fns, namedFunction{f.Name, fn})

		switch f.Table {
		case deploy.Read:
			table.GrantReadData(fn)
		case deploy.Write:
			table.GrantWriteData(fn)
		case deploy.ReadWrite:
			table.GrantReadWriteData(fn)
		}
		// Objects are written, never deleted, by the functions.
		if f.Bucket.Can(deploy.Read) {
			media.GrantRead(fn, keyPattern(f.BucketReads))
		}
		if f.Bucket.Can(deploy.Write) {
			media.GrantPut(fn, keyPattern(f.BucketWrites))
		}
		for _, q := range f.SendsTo {
			queue, ok := queues[q]
			if !ok {
				return nil, fmt.Errorf("infra: function %s sends to %q, which is not a declared queue", f.Name, q)
			}
			queue.GrantSendMessages(fn)
		}
		if len(f.Secrets) > 0 {
			secrets.GrantRead(fn, nil)
		}
		if ws != nil && slices.ContainsFunc(f.Settings, func(s deploy.Setting) bool { return s.Name == "WEBSOCKET_MANAGEMENT_URL" }) {
			ws.api.GrantManageConnections(fn) // PostToConnection, DeleteConnection
		}

		if f.Consumes != "" {
			queue, ok := queues[f.Consumes]
			if !ok {
				return nil, fmt.Errorf("infra: function %s consumes %q, which is not a declared queue", f.Name, f.Consumes)
			}
			fn.AddEventSource(sqsSource(queue))
		}
		if f.Stream {
			source, dlq := streamSource(stack, table, f)
			fn.AddEventSource(source)
			streamDLQs = append(streamDLQs, namedQueue{f.Name + " stream", dlq})
		}
		if sc := f.Schedule; sc != nil {
			target := &awseventstargets.LambdaFunctionProps{}
			if f.NoRetry {
				target.MaxEventAge = awscdk.Duration_Seconds(jsii.Number(sc.Every.Seconds()))
				target.RetryAttempts = jsii.Number(0)
			}
			awsevents.NewRule(stack, jsii.String(deploy.Title(f.Name)+"Schedule"), &awsevents.RuleProps{
				Description: jsii.String(f.Description + ", every " + sc.Every.String()),
				Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Seconds(jsii.Number(sc.Every.Seconds()))),
				Targets:     &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, target)},
			})
		}
		if len(f.Routes) > 0 {
			integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(deploy.Title(f.Name)+"Integration"), fn, nil)
			for _, r := range f.Routes {
				opts := &awsapigatewayv2.AddRoutesOptions{
					Path:        jsii.String(r.Path),
					Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
					Integration: integration,
				}
				if r.Auth {
					opts.Authorizer = authorizer
				}
				api.AddRoutes(opts)
			}
		}
	}

	if ws != nil {
		if err := ws.routes(d, fns); err != nil {
			return nil, err
		}
		output(stack, "WebSocketUrl", ws.stage.Url())
	}
	ops := newOperations(stack)
	for _, q := range d.Queues {
		ops.queue(q.Name, queues[q.Name], queues[q.DLQ()])
	}
	for _, q := range streamDLQs {
		ops.deadLetters(q.name, q.queue)
	}
	for _, fn := range fns {
		f, _ := d.Function(fn.name)
		ops.function(f, fn.fn)
	}
	ops.table(table)
	ops.api(api)

	output(stack, "ApiUrl", publicURL)
	output(stack, "TableName", table.TableName())
	for _, q := range d.Queues {
		output(stack, deploy.Title(q.Name)+"QueueUrl", queues[q.Name].QueueUrl())
		output(stack, deploy.Title(q.Name)+"DLQUrl", queues[q.DLQ()].QueueUrl())
	}
	output(stack, "MediaBucketName", media.BucketName())
	output(stack, "SecretsArn", secrets.SecretArn())
	output(stack, "UserPoolId", pool.UserPoolId())
	output(stack, "UserPoolClientId", client.UserPoolClientId())
	output(stack, "AlarmTopicArn", ops.topic.TopicArn())

	return stack, nil
}

// applicationLogLevel is the functions' log level for Lambda's logging
// configuration.
func applicationLogLevel(level string) (awslambda.ApplicationLogLevel, error) {
	switch strings.ToUpper(level) {
	case "", "INFO":
		return awslambda.ApplicationLogLevel_INFO, nil
	case "DEBUG":
		return awslambda.ApplicationLogLevel_DEBUG, nil
	case "WARN":
		return awslambda.ApplicationLogLevel_WARN, nil
	case "ERROR":
		return awslambda.ApplicationLogLevel_ERROR, nil
	}
	return "", fmt.Errorf("infra: log level %q: want DEBUG, INFO, WARN or ERROR", level)
}

// newTable defines the single table. Its key and index attribute names are
// the contract with shared/store/keys.go.
// The stream, with new and old images, exists only when a function consumes it.
func newTable(stack awscdk.Stack, stream bool) awsdynamodb.Table {
	str := func(name string) *awsdynamodb.Attribute {
		return &awsdynamodb.Attribute{Name: jsii.String(name), Type: awsdynamodb.AttributeType_STRING}
	}
	props := &awsdynamodb.TableProps{
		PartitionKey:        str("PK"),
		SortKey:             str("SK"),
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String("ttl"),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
	}
	if stream {
		props.Stream = awsdynamodb.StreamViewType_NEW_AND_OLD_IMAGES
	}
	table := awsdynamodb.NewTable(stack, jsii.String("Table"), props)
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

// newQueue defines a queue and its dead-letter queue as q declares them. A
// FIFO queue runs in high-throughput mode and deduplicates by
// MessageDeduplicationId only: the producers derive it from the provider's
// message id, so a retried webhook or a re-sent request is dropped within the
// five-minute window.
func newQueue(stack awscdk.Stack, q deploy.Queue) (queue, dlq awssqs.Queue) {
	kind := func(p *awssqs.QueueProps) *awssqs.QueueProps {
		if q.FIFO {
			p.Fifo = jsii.Bool(true)
			p.ContentBasedDeduplication = jsii.Bool(false)
			p.DeduplicationScope = awssqs.DeduplicationScope_MESSAGE_GROUP
			p.FifoThroughputLimit = awssqs.FifoThroughputLimit_PER_MESSAGE_GROUP_ID
		}
		p.Encryption = awssqs.QueueEncryption_SQS_MANAGED
		p.EnforceSSL = jsii.Bool(true)
		return p
	}
	id := deploy.Title(q.Name)
	dlq = awssqs.NewQueue(stack, jsii.String(id+"DLQ"), kind(&awssqs.QueueProps{
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(dlqRetentionDays)),
	}))
	queue = awssqs.NewQueue(stack, jsii.String(id+"Queue"), kind(&awssqs.QueueProps{
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(queueRetentionDays)),
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(q.Visibility.Seconds())),
		DeadLetterQueue: &awssqs.DeadLetterQueue{
			Queue:           dlq,
			MaxReceiveCount: jsii.Number(q.MaxReceives),
		},
	}))
	return queue, dlq
}

// sqsSource is a queue's event source: the consumer reports the records that
// failed, and the rest of the batch is deleted.
func sqsSource(q awssqs.IQueue) awslambda.IEventSource {
	return awslambdaeventsources.NewSqsEventSource(q, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(10),
		ReportBatchItemFailures: jsii.Bool(true),
	})
}

// streamSource is the table stream's event source for f. A record that keeps
// failing is retried as long as a queue message would be, then its batch's
// description goes to a dead-letter queue of f's own (a stream keeps no
// records for redrive).
func streamSource(stack awscdk.Stack, table awsdynamodb.Table, f deploy.Function) (awslambda.IEventSource, awssqs.Queue) {
	dlq := awssqs.NewQueue(stack, jsii.String(deploy.Title(f.Name)+"StreamDLQ"), &awssqs.QueueProps{
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(dlqRetentionDays)),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
	})
	filters := streamFilters()
	// The mapping is realtime.StreamMapping, which the local poller plays too.
	return awslambdaeventsources.NewDynamoEventSource(table, &awslambdaeventsources.DynamoEventSourceProps{
		StartingPosition:        awslambda.StartingPosition_LATEST,
		BatchSize:               jsii.Number(float64(realtime.StreamMapping.BatchSize)),
		MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(realtime.StreamMapping.BatchingWindow.Seconds())),
		ReportBatchItemFailures: jsii.Bool(true),
		BisectBatchOnError:      jsii.Bool(true),
		RetryAttempts:           jsii.Number(float64(realtime.StreamMapping.MaxRetries)),
		MaxRecordAge:            awscdk.Duration_Seconds(jsii.Number(realtime.StreamMapping.MaxRecordAge.Seconds())),
		OnFailure:               awslambdaeventsources.NewSqsDlq(dlq),
		Filters:                 &filters,
	}), dlq
}

// MediaArchiveParameter is the stack parameter that sets after how many days kept media moves
// to S3 Standard-IA (cheaper to keep, dearer to read: old attachments are rarely opened):
// `cdk deploy --parameters MediaArchiveDays=30`. S3 takes no fewer than 30.
const MediaArchiveParameter = "MediaArchiveDays"

func newMediaBucket(stack awscdk.Stack) awss3.Bucket {
	days := awscdk.NewCfnParameter(stack, jsii.String(MediaArchiveParameter), &awscdk.CfnParameterProps{
		Type:        jsii.String("Number"),
		Default:     jsii.Number(90),
		MinValue:    jsii.Number(30),
		Description: jsii.String("Days after which kept media moves to S3 Standard-IA (at least 30)"),
	})
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
					TransitionAfter: awscdk.Duration_Days(days.ValueAsNumber()),
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
func newUserPool(stack awscdk.Stack, consoleURL *string) (awscognito.UserPool, awscognito.UserPoolClient, awscognito.UserPoolDomain) {
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
		AuthFlows:      &awscognito.AuthFlow{UserSrp: jsii.Bool(true)},
		GenerateSecret: jsii.Bool(false),
		// The console signs in through the hosted page: the authorization code flow with
		// PKCE (a public client, no secret), back to the console at / of the HTTP API.
		OAuth: &awscognito.OAuthSettings{
			Flows:        &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true)},
			Scopes:       &[]awscognito.OAuthScope{awscognito.OAuthScope_OPENID(), awscognito.OAuthScope_EMAIL(), awscognito.OAuthScope_PROFILE()},
			CallbackUrls: jsii.Strings(*consoleURL + "/"),
			LogoutUrls:   jsii.Strings(*consoleURL + "/"),
		},
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
	// The hosted sign-in's domain prefix is global across AWS: the account id makes it unique.
	domain := pool.AddDomain(jsii.String("SignInDomain"), &awscognito.UserPoolDomainOptions{
		CognitoDomain: &awscognito.CognitoDomainOptions{DomainPrefix: jsii.String("buzon-" + *stack.Account())},
	})
	return pool, client, domain
}

func corsPreflight(origins []string) *awsapigatewayv2.CorsPreflightOptions {
	if len(origins) == 0 {
		origins = []string{"*"}
	}
	return &awsapigatewayv2.CorsPreflightOptions{
		AllowOrigins: jsii.Strings(origins...),
		// Idempotency-Key makes a retried send or start a no-op (docs/openapi.json).
		AllowHeaders: jsii.Strings("authorization", "content-type", "idempotency-key"),
		AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{
			awsapigatewayv2.CorsHttpMethod_GET, awsapigatewayv2.CorsHttpMethod_POST,
			awsapigatewayv2.CorsHttpMethod_PUT, awsapigatewayv2.CorsHttpMethod_PATCH,
			awsapigatewayv2.CorsHttpMethod_DELETE,
		},
		MaxAge: awscdk.Duration_Hours(jsii.Number(1)),
	}
}

type namedQueue struct {
	name  string
	queue awssqs.Queue
}

type namedFunction struct {
	name string
	fn   awslambda.Function
}

// newFunction defines f from its Makefile-built bootstrap, with its own log
// group. The environment is the function's only configuration.
func newFunction(stack awscdk.Stack, assetRoot string, f deploy.Function, env map[string]*string, level awslambda.ApplicationLogLevel) awslambda.Function {
	id := deploy.Title(f.Name)
	logs := awslogs.NewLogGroup(stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention: logRetention,
	})
	var retry *float64 // Lambda's default
	if f.NoRetry {
		retry = jsii.Number(0)
	}
	return awslambda.NewFunction(stack, jsii.String(id+"Function"), &awslambda.FunctionProps{
		Description:           jsii.String(f.Description),
		Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:          awslambda.Architecture_ARM_64(),
		Handler:               jsii.String("bootstrap"),
		Code:                  awslambda.Code_FromAsset(jsii.String(filepath.Join(assetRoot, f.Name)), nil),
		MemorySize:            jsii.Number(f.MemoryMB),
		Timeout:               awscdk.Duration_Seconds(jsii.Number(f.Timeout.Seconds())),
		RetryAttempts:         retry,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: level,
		LogGroup:              logs,
		Environment:           &env,
	})
}

func output(stack awscdk.Stack, id string, value *string) {
	awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: value})
}

// keyPattern is the bucket grant's object key pattern for a declared prefix: nil (every key)
// when there is none.
func keyPattern(prefix string) any {
	if prefix == "" {
		return nil
	}
	return jsii.String(prefix + "*")
}
