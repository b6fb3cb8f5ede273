package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/consume"
	"github.com/buzon/buzon/shared/deploy"
	"github.com/buzon/buzon/shared/media"
)

// The stack is synthesized once for the whole package: a synth through the
// jsii kernel takes seconds. Tests that call into jsii (template assertions,
// logical ids) do not use t.Parallel, because the Go jsii runtime writes
// requests to and reads responses from its node process without a lock.
// Tests that only read the decoded template run in parallel.
var (
	stack    awscdk.Stack
	template assertions.Template
	tmpl     cfnTemplate // template.ToJSON(), decoded once
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "buzon-infra-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Stand-ins for the Makefile-built binaries, so the test needs no build.
	assets := filepath.Join(dir, "lambda")
	for _, name := range deploy.Buzon.Names() {
		if err := os.MkdirAll(filepath.Join(assets, name), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := os.WriteFile(filepath.Join(assets, name, "bootstrap"), []byte("test "+name), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	// No jsii.Close: the kernel's node process exits when the test binary
	// does, and Close in jsii-runtime-go v1.127.0 races with the runtime's
	// own process monitor, which fails `go test -race`.

	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(dir, "cdk.out"))})
	stack, err = NewStack(app, "Test", &StackProps{AssetRoot: assets})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	template = assertions.Template_FromStack(stack, nil)
	tmpl = cfnTemplate(*template.ToJSON())
	return m.Run()
}

// check runs one template assertion. The assertions library reports a
// mismatch by throwing, which the jsii runtime turns into a panic.
func check(t *testing.T, assertion func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%v", r)
		}
	}()
	assertion()
}

// logicalID is the template's logical id of the resource that a construct
// defines, the construct named by its path under the stack ("UserPool",
// "UserPool/ConsoleClient").
func logicalID(t *testing.T, path string) string {
	t.Helper()
	var c constructs.IConstruct = stack
	for _, id := range strings.Split(path, "/") {
		if c = c.Node().TryFindChild(jsii.String(id)); c == nil {
			t.Fatalf("no construct %q in the stack", path)
		}
	}
	cfn, ok := c.Node().DefaultChild().(awscdk.CfnElement)
	if !ok {
		t.Fatalf("construct %q has no CloudFormation resource", path)
	}
	return *stack.GetLogicalId(cfn)
}

type obj = map[string]any

func ref(id string) obj      { return obj{"Ref": id} }
func arn(id string) obj      { return obj{"Fn::GetAtt": []any{id, "Arn"}} }
func like(m obj) any         { return assertions.Match_ObjectLike(&m) }
func arrayWith(a ...any) any { return assertions.Match_ArrayWith(&a) }

func TestTable(t *testing.T) {
	gsi := func(name, projection string) obj {
		return obj{
			"IndexName": name,
			"KeySchema": []any{
				obj{"AttributeName": name + "PK", "KeyType": "HASH"},
				obj{"AttributeName": name + "SK", "KeyType": "RANGE"},
			},
			"Projection": obj{"ProjectionType": projection},
		}
	}
	tests := []struct {
		name  string
		props obj
	}{
		{"keys", obj{
			"KeySchema": []any{
				obj{"AttributeName": "PK", "KeyType": "HASH"},
				obj{"AttributeName": "SK", "KeyType": "RANGE"},
			},
			"AttributeDefinitions": arrayWith(
				obj{"AttributeName": "PK", "AttributeType": "S"},
				obj{"AttributeName": "SK", "AttributeType": "S"},
			),
		}},
		{"on demand", obj{"BillingMode": "PAY_PER_REQUEST"}},
		{"GSIs", obj{"GlobalSecondaryIndexes": []any{
			gsi("GSI1", "ALL"), gsi("GSI2", "ALL"), gsi("GSI3", "ALL"), gsi("GSI4", "KEYS_ONLY"), gsi("GSI5", "KEYS_ONLY"),
		}}},
		{"GSI attributes are strings", obj{"AttributeDefinitions": arrayWith(
			obj{"AttributeName": "GSI1PK", "AttributeType": "S"}, obj{"AttributeName": "GSI1SK", "AttributeType": "S"},
			obj{"AttributeName": "GSI2PK", "AttributeType": "S"}, obj{"AttributeName": "GSI2SK", "AttributeType": "S"},
			obj{"AttributeName": "GSI3PK", "AttributeType": "S"}, obj{"AttributeName": "GSI3SK", "AttributeType": "S"},
			obj{"AttributeName": "GSI4PK", "AttributeType": "S"}, obj{"AttributeName": "GSI4SK", "AttributeType": "S"},
			obj{"AttributeName": "GSI5PK", "AttributeType": "S"}, obj{"AttributeName": "GSI5SK", "AttributeType": "S"},
		)}},
		{"TTL", obj{"TimeToLiveSpecification": obj{"AttributeName": "ttl", "Enabled": true}}},
		{"PITR", obj{"PointInTimeRecoverySpecification": obj{"PointInTimeRecoveryEnabled": true}}},
		{"deletion protection", obj{"DeletionProtectionEnabled": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, func() { template.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), tt.props) })
		})
	}
	t.Run("one table, retained", func(t *testing.T) {
		check(t, func() { template.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1)) })
		check(t, func() {
			template.HasResource(jsii.String("AWS::DynamoDB::Table"), obj{
				"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
			})
		})
	})
}

func TestQueues(t *testing.T) {
	highThroughputFIFO := obj{
		"FifoQueue":                 true,
		"DeduplicationScope":        "messageGroup",
		"FifoThroughputLimit":       "perMessageGroupId",
		"ContentBasedDeduplication": false,
	}
	for _, q := range deploy.Buzon.Queues {
		t.Run(q.Name, func(t *testing.T) {
			queue, dlq := logicalID(t, deploy.Title(q.Name)+"Queue"), logicalID(t, deploy.Title(q.Name)+"DLQ")
			kind := obj{}
			if q.FIFO {
				kind = highThroughputFIFO
			}
			want := merge(kind, obj{
				"RedrivePolicy":     obj{"deadLetterTargetArn": arn(dlq), "maxReceiveCount": float64(q.MaxReceives)},
				"VisibilityTimeout": q.Visibility.Seconds(),
			})
			if diff := cmp.Diff(want, subset(tmpl.props(queue), want)); diff != "" {
				t.Errorf("queue %s (-want +got):\n%s", queue, diff)
			}
			wantDLQ := merge(kind, obj{"MessageRetentionPeriod": 14 * 24 * 3600.0})
			if diff := cmp.Diff(wantDLQ, subset(tmpl.props(dlq), wantDLQ)); diff != "" {
				t.Errorf("DLQ %s (-want +got):\n%s", dlq, diff)
			}

			consumer, ok := deploy.Buzon.Consumer(q.Name)
			if !ok {
				t.Fatalf("no function consumes %s", q.Name)
			}
			visibility := tmpl.props(queue)["VisibilityTimeout"]
			timeout := tmpl.props(logicalID(t, deploy.Title(consumer.Name)+"Function"))["Timeout"]
			v, ok1 := visibility.(float64)
			ft, ok2 := timeout.(float64)
			if !ok1 || !ok2 || v < 6*ft {
				t.Errorf("VisibilityTimeout = %v, consumer Timeout = %v; want visibility ≥ 6 × timeout", visibility, timeout)
			}
			// The runner's outage sizing assumes this visibility timeout (consume.Tolerance).
			if v != consume.Visibility.Seconds() {
				t.Errorf("VisibilityTimeout = %v, want consume.Visibility (%v)", v, consume.Visibility)
			}
		})
	}
	t.Run("count", func(t *testing.T) {
		check(t, func() {
			template.ResourceCountIs(jsii.String("AWS::SQS::Queue"), jsii.Number(2*len(deploy.Buzon.Queues)+1)) // + fanout's stream DLQ
		})
	})
}

func TestEventSourceMappings(t *testing.T) {
	tests := []struct{ name, queue, function string }{
		{"assign consumes inbound", "InboundQueue", "AssignFunction"},
		{"send consumes outbound", "OutboundQueue", "SendFunction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, func() {
				template.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), obj{
					"EventSourceArn":        arn(logicalID(t, tt.queue)),
					"FunctionName":          ref(logicalID(t, tt.function)),
					"BatchSize":             10,
					"FunctionResponseTypes": []any{"ReportBatchItemFailures"},
				})
			})
		})
	}
	t.Run("one per declared consumer", func(t *testing.T) {
		n := 0
		for _, f := range deploy.Buzon.Functions {
			if f.Consumes != "" {
				n++
			}
			if f.Stream {
				n++
			}
		}
		check(t, func() { template.ResourceCountIs(jsii.String("AWS::Lambda::EventSourceMapping"), jsii.Number(n)) })
	})
}

func TestFunctions(t *testing.T) {
	// Pinned, so that a change of the declaration shows here too.
	tests := []struct {
		name string
		env  []string
	}{
		{"webhook", []string{"INBOUND_QUEUE_URL", "PUBLIC_BASE_URL", "SECRETS_ARN"}},
		{"assign", []string{"INBOUND_DLQ_URL", "INBOUND_QUEUE_URL", "MEDIA_QUEUE_URL", "OUTBOUND_QUEUE_URL", "TABLE_NAME"}},
		{"api", []string{"MEDIA_BUCKET", "OUTBOUND_QUEUE_URL", "SECRETS_ARN", "TABLE_NAME", "WEBSOCKET_URL"}},
		{"send", []string{"MEDIA_BUCKET", "OUTBOUND_DLQ_URL", "OUTBOUND_QUEUE_URL", "PUBLIC_BASE_URL", "SECRETS_ARN", "TABLE_NAME"}},
		{"media", []string{"MEDIA_BUCKET", "MEDIA_DLQ_URL", "MEDIA_QUEUE_URL", "SECRETS_ARN", "TABLE_NAME"}},
		{"templates", []string{"SECRETS_ARN", "TABLE_NAME"}},
		{"window", []string{"TABLE_NAME"}},
		{"authorizer", []string{"JWKS_URL", "JWT_CLIENT_ID", "JWT_ISSUER"}},
		{"realtime", []string{"TABLE_NAME", "WEBSOCKET_MANAGEMENT_URL"}},
		{"fanout", []string{"TABLE_NAME", "WEBSOCKET_MANAGEMENT_URL"}},
		{"console", []string{"COGNITO_CLIENT_ID", "COGNITO_DOMAIN", "MEDIA_ORIGIN", "WEBSOCKET_URL"}},
	}
	if got, want := len(tests), len(deploy.Buzon.Functions); got != want {
		t.Fatalf("test covers %d functions, the declaration has %d", got, want)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			decl, ok := deploy.Buzon.Function(tt.name)
			if !ok {
				t.Fatalf("%s is not declared", tt.name)
			}
			fn, logs := logicalID(t, deploy.Title(tt.name)+"Function"), logicalID(t, deploy.Title(tt.name)+"Logs")
			p := tmpl.props(fn)
			want := obj{
				"Runtime":       "provided.al2023",
				"Architectures": []any{"arm64"},
				"Handler":       "bootstrap",
				"LoggingConfig": obj{"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "LogGroup": ref(logs)},
				"MemorySize":    float64(decl.MemoryMB),
				"Timeout":       decl.Timeout.Seconds(),
			}
			if diff := cmp.Diff(want, subset(p, want)); diff != "" {
				t.Errorf("function %s (-want +got):\n%s", tt.name, diff)
			}
			vars, _ := dig(p, "Environment", "Variables").(obj)
			if diff := cmp.Diff(tt.env, sortedKeys(vars)); diff != "" {
				t.Errorf("environment (-want +got):\n%s", diff)
			}
			// Every variable is declared, and every required one is set.
			declared := map[string]bool{}
			for _, s := range decl.Env() {
				declared[s.Name] = true
				if _, ok := vars[s.Name]; s.Required && !ok {
					t.Errorf("required %s not set", s.Name)
				}
			}
			for name := range vars {
				if !declared[name] {
					t.Errorf("%s set but not declared", name)
				}
			}
			if u, ok := vars["PUBLIC_BASE_URL"]; ok {
				want := any(obj{"Fn::GetAtt": []any{logicalID(t, "HttpApi"), "ApiEndpoint"}})
				if diff := cmp.Diff(want, u); diff != "" {
					t.Errorf("PUBLIC_BASE_URL (-want +got):\n%s", diff)
				}
			}
			if got := tmpl.props(logs)["RetentionInDays"]; got == nil {
				t.Errorf("log group %s has no retention", logs)
			}
		})
	}
	t.Run("count", func(t *testing.T) {
		n := jsii.Number(len(deploy.Buzon.Functions))
		check(t, func() { template.ResourceCountIs(jsii.String("AWS::Lambda::Function"), n) })
		// One log group per function, and the API's access logs.
		check(t, func() { template.ResourceCountIs(jsii.String("AWS::Logs::LogGroup"), jsii.Number(*n+1)) })
	})
}

// TestConsoleSignIn: the console's app client signs in through the hosted page with the
// authorization code flow (PKCE: a public client, no secret), back to / of the HTTP API.
func TestConsoleSignIn(t *testing.T) {
	client := tmpl.props(logicalID(t, "UserPool/ConsoleClient"))
	back := obj{"Fn::Join": []any{"", []any{obj{"Fn::GetAtt": []any{logicalID(t, "HttpApi"), "ApiEndpoint"}}, "/"}}}
	want := obj{
		"AllowedOAuthFlows":               []any{"code"},
		"AllowedOAuthFlowsUserPoolClient": true,
		"AllowedOAuthScopes":              []any{"openid", "email", "profile"},
		"CallbackURLs":                    []any{back},
		"LogoutURLs":                      []any{back},
		"GenerateSecret":                  false,
	}
	if diff := cmp.Diff(want, subset(client, want)); diff != "" {
		t.Errorf("console client (-want +got):\n%s", diff)
	}
	check(t, func() { template.ResourceCountIs(jsii.String("AWS::Cognito::UserPoolDomain"), jsii.Number(1)) })
}

func TestHTTPAPI(t *testing.T) {
	authorizer := logicalID(t, "HttpApi/CognitoAuthorizer")
	pool, client := logicalID(t, "UserPool"), logicalID(t, "UserPool/ConsoleClient")
	check(t, func() { template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Authorizer"), jsii.Number(2)) }) // and the WebSocket API's

	t.Run("JWT authorizer", func(t *testing.T) {
		p := tmpl.props(authorizer)
		want := obj{
			"AuthorizerType": "JWT",
			"IdentitySource": []any{"$request.header.Authorization"},
			"JwtConfiguration": obj{
				"Audience": []any{ref(client)},
				"Issuer": obj{"Fn::Join": []any{"", []any{
					"https://cognito-idp.", ref("AWS::Region"), ".amazonaws.com/", ref(pool),
				}}},
			},
		}
		if diff := cmp.Diff(want, subset(p, want)); diff != "" {
			t.Errorf("authorizer (-want +got):\n%s", diff)
		}
	})

	tests := []struct {
		routeKey, function, authorization string
	}{
		{"GET /webhooks/meta", "WebhookFunction", "NONE"},
		{"POST /webhooks/meta", "WebhookFunction", "NONE"},
		{"POST /webhooks/twilio", "WebhookFunction", "NONE"},
		{"ANY /v1/{proxy+}", "ApiFunction", "JWT"},
		{"GET /", "ConsoleFunction", "NONE"},
		{"GET /{proxy+}", "ConsoleFunction", "NONE"},
	}
	routes := map[string]obj{}
	for _, p := range tmpl.resources("AWS::ApiGatewayV2::Route") {
		if refID(p["ApiId"]) != logicalID(t, "HttpApi") {
			continue // the WebSocket API's: TestWebSocketAPI
		}
		routes[p["RouteKey"].(string)] = p
	}
	if len(routes) != len(tests) {
		t.Errorf("routes = %v, want %d", sortedKeys(routes), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.routeKey, func(t *testing.T) {
			route, ok := routes[tt.routeKey]
			if !ok {
				t.Fatalf("no route %q", tt.routeKey)
			}
			if got := route["AuthorizationType"]; got != tt.authorization {
				t.Errorf("AuthorizationType = %v, want %s", got, tt.authorization)
			}
			if tt.authorization == "JWT" {
				if diff := cmp.Diff(any(ref(authorizer)), route["AuthorizerId"]); diff != "" {
					t.Errorf("AuthorizerId (-want +got):\n%s", diff)
				}
			}
			integration := tmpl.props(refID(route["Target"]))
			if got, want := refID(integration["IntegrationUri"]), logicalID(t, tt.function); got != want {
				t.Errorf("route integrates %q, want %q", got, want)
			}
		})
	}

	t.Run("stage throttling", func(t *testing.T) {
		check(t, func() {
			template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), obj{
				"StageName":  "$default",
				"AutoDeploy": true,
				"DefaultRouteSettings": obj{
					"ThrottlingRateLimit":  assertions.Match_AnyValue(),
					"ThrottlingBurstLimit": assertions.Match_AnyValue(),
				},
			})
		})
	})
}

func TestUserPool(t *testing.T) {
	check(t, func() {
		template.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), obj{
			"AdminCreateUserConfig": obj{"AllowAdminCreateUserOnly": true},
			"Schema":                arrayWith(like(obj{"Name": "org_id", "AttributeDataType": "String", "Mutable": false})),
		})
	})
	// A client that could write custom:org_id would let a user move
	// themselves into another organization.
	for id, p := range tmpl.resources("AWS::Cognito::UserPoolClient") {
		write, _ := p["WriteAttributes"].([]any)
		if write == nil || slices.Contains(write, any("custom:org_id")) {
			t.Errorf("client %s WriteAttributes = %v, want a list without custom:org_id", id, write)
		}
		read, _ := p["ReadAttributes"].([]any)
		if !slices.Contains(read, any("custom:org_id")) {
			t.Errorf("client %s ReadAttributes = %v, want custom:org_id", id, read)
		}
	}
}

func TestSchedules(t *testing.T) {
	tests := []struct{ expression, function string }{
		{"rate(6 hours)", "TemplatesFunction"},
		{"rate(1 minute)", "WindowFunction"},
	}
	for _, tt := range tests {
		t.Run(tt.expression, func(t *testing.T) {
			check(t, func() {
				template.HasResourceProperties(jsii.String("AWS::Events::Rule"), obj{
					"ScheduleExpression": tt.expression,
					"State":              "ENABLED",
					"Targets":            arrayWith(like(obj{"Arn": arn(logicalID(t, tt.function))})),
				})
			})
		})
	}
}

// TestWebSocketAPI: $connect is behind the Lambda authorizer reading the token from the query,
// every route goes to the realtime function, $default answers on the socket, and the fan-out
// reads the stream as realtime.StreamMapping says.
func TestWebSocketAPI(t *testing.T) {
	api := logicalID(t, "WebSocketApi")
	check(t, func() {
		template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), obj{
			"ApiId": ref(api), "AuthorizerType": "REQUEST", "IdentitySource": []any{"route.request.querystring.token"},
		})
	})
	routes := map[string]obj{}
	for _, p := range tmpl.resources("AWS::ApiGatewayV2::Route") {
		if refID(p["ApiId"]) == api {
			routes[p["RouteKey"].(string)] = p
		}
	}
	if diff := cmp.Diff([]string{"$connect", "$default", "$disconnect"}, sortedKeys(routes)); diff != "" {
		t.Errorf("WebSocket routes (-want +got):\n%s", diff)
	}
	for key, route := range routes {
		want := "NONE"
		if key == "$connect" {
			want = "CUSTOM"
		}
		if got := route["AuthorizationType"]; got != want {
			t.Errorf("%s AuthorizationType = %v, want %s", key, got, want)
		}
		integration := tmpl.props(refID(route["Target"]))
		if got := refID(integration["IntegrationUri"]); got != logicalID(t, "RealtimeFunction") {
			t.Errorf("%s integrates %q, want the realtime function", key, got)
		}
	}
	check(t, func() {
		template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::RouteResponse"), obj{"ApiId": ref(api), "RouteResponseKey": "$default"})
	})
	check(t, func() {
		template.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), obj{
			"FunctionName":                   ref(logicalID(t, "FanoutFunction")),
			"StartingPosition":               "LATEST",
			"BatchSize":                      1000,
			"MaximumBatchingWindowInSeconds": 1,
			"BisectBatchOnFunctionError":     true,
			"MaximumRetryAttempts":           3,
			"MaximumRecordAgeInSeconds":      3600,
			"FunctionResponseTypes":          []any{"ReportBatchItemFailures"},
			"FilterCriteria": obj{"Filters": []any{obj{
				"Pattern": `{"dynamodb":{"Keys":{"SK":{"S":["CONV",{"prefix":"M#"}]}}}}`,
			}}},
		})
	})
}

// alarmCase is one alarm the stack must have: the metric it watches and when it fires.
type alarmCase struct {
	name              string
	namespace, metric string
	dimension         obj
	periods           float64
}

func TestAlarms(t *testing.T) {
	topic := logicalID(t, "AlarmTopic")
	queueName := func(id string) obj {
		return obj{"Name": "QueueName", "Value": obj{"Fn::GetAtt": []any{logicalID(t, id), "QueueName"}}}
	}
	tests := []alarmCase{
		{"inbound DLQ", "AWS/SQS", "ApproximateNumberOfMessagesVisible", queueName("InboundDLQ"), 1},
		{"outbound DLQ", "AWS/SQS", "ApproximateNumberOfMessagesVisible", queueName("OutboundDLQ"), 1},
		{"inbound oldest message", "AWS/SQS", "ApproximateAgeOfOldestMessage", queueName("InboundQueue"), 1},
		{"outbound oldest message", "AWS/SQS", "ApproximateAgeOfOldestMessage", queueName("OutboundQueue"), 1},
		{"media DLQ", "AWS/SQS", "ApproximateNumberOfMessagesVisible", queueName("MediaDLQ"), 1},
		{"media oldest message", "AWS/SQS", "ApproximateAgeOfOldestMessage", queueName("MediaQueue"), 1},
		{"API 5xx", "AWS/ApiGateway", "5xx", obj{"Name": "ApiId", "Value": ref(logicalID(t, "HttpApi"))}, 1},
	}
	for _, f := range deploy.Buzon.Functions {
		tests = append(tests, alarmCase{f.Name + " errors", "AWS/Lambda", "Errors",
			obj{"Name": "FunctionName", "Value": ref(logicalID(t, deploy.Title(f.Name)+"Function"))}, 1})
		// A consumer reports failed records to SQS, not to Lambda: its own metric.
		if f.Consumes != "" {
			tests = append(tests, alarmCase{f.Name + " record failures", consume.MetricNamespace, consume.MetricRecordFailures,
				obj{"Name": "Function", "Value": f.Name}, recordFailurePeriods})
		}
	}
	alarms := tmpl.resources("AWS::CloudWatch::Alarm")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, func() {
				template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj{
					"Namespace":          tt.namespace,
					"MetricName":         tt.metric,
					"Dimensions":         []any{tt.dimension},
					"EvaluationPeriods":  tt.periods,
					"ComparisonOperator": "GreaterThanThreshold",
				})
			})
		})
	}
	t.Run("table throttles", func(t *testing.T) {
		var found bool
		for _, p := range alarms {
			names := map[string]bool{}
			for _, m := range asSlice(p["Metrics"]) {
				if dig(m, "MetricStat", "Metric", "Namespace") == "AWS/DynamoDB" {
					names[dig(m, "MetricStat", "Metric", "MetricName").(string)] = true
				}
			}
			found = found || (names["ReadThrottleEvents"] && names["WriteThrottleEvents"])
		}
		if !found {
			t.Error("no alarm on the table's read and write throttle events")
		}
	})
	t.Run("every alarm notifies the topic", func(t *testing.T) {
		for id, p := range alarms {
			for _, key := range []string{"AlarmActions", "OKActions"} {
				if diff := cmp.Diff([]any{ref(topic)}, p[key]); diff != "" {
					t.Errorf("alarm %s %s (-want +got):\n%s", id, key, diff)
				}
			}
		}
	})
	t.Run("the topic emails the parameter", func(t *testing.T) {
		check(t, func() {
			template.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), obj{
				"Protocol": "email", "TopicArn": ref(topic), "Endpoint": ref(AlarmEmailParameter),
			})
		})
		check(t, func() {
			template.HasParameter(jsii.String(AlarmEmailParameter), obj{"Type": "String"})
		})
	})
	t.Run("count", func(t *testing.T) {
		streams := 0 // each stream consumer's DLQ alarm (TestWebSocketAPI checks its mapping)
		for _, f := range deploy.Buzon.Functions {
			if f.Stream {
				streams++
			}
		}
		if got, want := len(alarms), len(tests)+1+streams; got != want {
			t.Errorf("%d alarms, want %d", got, want)
		}
	})
	t.Run("dashboard", func(t *testing.T) {
		dashboards := tmpl.resources("AWS::CloudWatch::Dashboard")
		if len(dashboards) != 1 {
			t.Fatalf("%d dashboards, want 1", len(dashboards))
		}
		body, _ := json.Marshal(dashboards)
		// One alarm widget per alarm: the body names each alarm's ARN.
		for id := range alarms {
			if !strings.Contains(string(body), id) {
				t.Errorf("dashboard does not show alarm %s", id)
			}
		}
	})
}

// TestIsolation: the webhooks and the agent API have throttles and reserved concurrency of
// their own, as shared/deploy declares them, so a flood on one cannot starve the other.
func TestIsolation(t *testing.T) {
	stages := httpStages(t)
	if len(stages) != 1 {
		t.Fatalf("%d stages, want 1", len(stages))
	}
	var settings obj
	for _, p := range stages {
		settings, _ = p["RouteSettings"].(obj)
	}
	want := obj{}
	for _, f := range deploy.Buzon.Functions {
		if len(f.Routes) > 0 && f.Throttle == nil {
			t.Errorf("function %s has routes and no throttle", f.Name)
		}
		for _, r := range f.Routes {
			want[r.Key()] = obj{"ThrottlingRateLimit": f.Throttle.Rate, "ThrottlingBurstLimit": float64(f.Throttle.Burst)}
		}
		t.Run(f.Name+" reserved concurrency", func(t *testing.T) {
			got := tmpl.props(logicalID(t, deploy.Title(f.Name)+"Function"))["ReservedConcurrentExecutions"]
			if f.Reserved == 0 {
				if got != nil {
					t.Errorf("ReservedConcurrentExecutions = %v, declared none", got)
				}
				return
			}
			if got != float64(f.Reserved) {
				t.Errorf("ReservedConcurrentExecutions = %v, declared %d", got, f.Reserved)
			}
		})
	}
	if diff := cmp.Diff(want, settings); diff != "" {
		t.Errorf("stage RouteSettings (-want +got):\n%s", diff)
	}
	webhook, _ := deploy.Buzon.Function("webhook")
	api, _ := deploy.Buzon.Function("api")
	if webhook.Reserved == 0 || api.Reserved == 0 || *webhook.Throttle == *api.Throttle {
		t.Errorf("webhook (reserved %d, %+v) and api (reserved %d, %+v) must be reserved and throttled apart",
			webhook.Reserved, webhook.Throttle, api.Reserved, api.Throttle)
	}
}

// TestAccessLogs: one JSON line per request, never the query string (the Meta handshake's
// verify token is in it).
func TestAccessLogs(t *testing.T) {
	for id, p := range httpStages(t) {
		format, _ := dig(p, "AccessLogSettings", "Format").(string)
		var fields map[string]string
		if err := json.Unmarshal([]byte(format), &fields); err != nil {
			t.Fatalf("stage %s access log format %q is not JSON: %v", id, format, err)
		}
		for _, want := range []string{"$context.requestId", "$context.routeKey", "$context.status"} {
			if !slices.Contains(slices.Collect(maps.Values(fields)), want) {
				t.Errorf("access log lacks %s: %v", want, fields)
			}
		}
		lower := strings.ToLower(format)
		for _, banned := range []string{"querystring", "query", "authorization", "$context.authorizer"} {
			if strings.Contains(lower, strings.ToLower(banned)) {
				t.Errorf("access log format logs %q: %s", banned, format)
			}
		}
		if got, want := refID(dig(p, "AccessLogSettings", "DestinationArn")), logicalID(t, "ApiAccessLogs"); got != want {
			t.Errorf("access logs go to %q, want %q", got, want)
		}
	}
}

func TestCORS(t *testing.T) {
	for id, p := range tmpl.resources("AWS::ApiGatewayV2::Api") {
		if p["ProtocolType"] != "HTTP" {
			continue // the WebSocket API has no CORS
		}
		headers := asSlice(dig(p, "CorsConfiguration", "AllowHeaders"))
		for _, h := range []string{"authorization", "content-type", "idempotency-key"} {
			if !slices.Contains(headers, any(h)) {
				t.Errorf("API %s CORS AllowHeaders = %v, want %s", id, headers, h)
			}
		}
	}
}

func TestMediaBucket(t *testing.T) {
	check(t, func() {
		template.HasResourceProperties(jsii.String("AWS::S3::Bucket"), obj{
			"PublicAccessBlockConfiguration": obj{
				"BlockPublicAcls": true, "BlockPublicPolicy": true,
				"IgnorePublicAcls": true, "RestrictPublicBuckets": true,
			},
			"BucketEncryption": assertions.Match_AnyValue(),
			"LifecycleConfiguration": obj{"Rules": arrayWith(like(obj{
				"Status":      "Enabled",
				"Transitions": []any{obj{"StorageClass": "STANDARD_IA", "TransitionInDays": ref(MediaArchiveParameter)}},
			}))},
		})
	})
	check(t, func() {
		template.HasParameter(jsii.String(MediaArchiveParameter), obj{"Type": "Number", "Default": 90, "MinValue": 30})
	})
	check(t, func() {
		template.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), obj{
			"PolicyDocument": obj{"Statement": arrayWith(like(obj{
				"Effect":    "Deny",
				"Condition": obj{"Bool": obj{"aws:SecureTransport": "false"}},
			}))},
		})
	})
}

// TestGrants pins down what each function may touch: the resources its
// role's policies name, with the actions that matter for each.
func TestGrants(t *testing.T) {
	type access map[string][]string // construct id → actions that must be allowed
	tableRW := []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"}
	secretRead := []string{"secretsmanager:GetSecretValue"}
	send := []string{"sqs:SendMessage"}
	consume := []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"}
	tests := []struct {
		function string
		want     access
		denied   []string // actions the function must not have on any resource
	}{
		{"webhook", access{"InboundQueue": send, "ProviderSecrets": secretRead}, []string{"dynamodb:GetItem", "s3:PutObject"}},
		{"assign", access{"Table": tableRW, "InboundQueue": consume, "InboundDLQ": send, "OutboundQueue": send, "MediaQueue": send}, []string{"s3:GetObject*", "secretsmanager:GetSecretValue"}},
		// Presigns reads of kept media and agents' uploads; never deletes.
		{"api", access{"Table": tableRW, "OutboundQueue": send, "ProviderSecrets": secretRead, "MediaBucket": {"s3:GetObject*", "s3:PutObject"}}, []string{"sqs:ReceiveMessage", "s3:DeleteObject*"}},
		// Reads agents' uploads to hand them to the provider.
		{"send", access{"Table": tableRW, "OutboundQueue": consume, "OutboundDLQ": send, "ProviderSecrets": secretRead, "MediaBucket": {"s3:GetObject*"}}, []string{"s3:PutObject", "s3:DeleteObject*"}},
		// Puts what it downloads, and nothing else.
		{"media", access{"Table": tableRW, "MediaQueue": consume, "MediaDLQ": send, "ProviderSecrets": secretRead, "MediaBucket": {"s3:PutObject"}}, []string{"s3:GetObject*", "s3:DeleteObject*"}},
		{"templates", access{"Table": tableRW, "ProviderSecrets": secretRead}, []string{"sqs:SendMessage"}},
		{"window", access{"Table": tableRW}, []string{"sqs:SendMessage", "secretsmanager:GetSecretValue"}},
	}
	for _, tt := range tests {
		t.Run(tt.function, func(t *testing.T) {
			byResource := map[string]string{} // logical id → construct id
			for construct := range tt.want {
				byResource[logicalID(t, construct)] = construct
			}
			got := tmpl.grants(refID(tmpl.props(logicalID(t, deploy.Title(tt.function)+"Function"))["Role"]))

			var gotResources, wantResources []string
			for id := range got {
				c, ok := byResource[id]
				if !ok {
					c = "unexpected " + id
				}
				gotResources = append(gotResources, c)
			}
			for c := range tt.want {
				wantResources = append(wantResources, c)
			}
			slices.Sort(gotResources)
			slices.Sort(wantResources)
			if diff := cmp.Diff(wantResources, gotResources); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
			for construct, actions := range tt.want {
				allowed := got[logicalID(t, construct)]
				for _, a := range actions {
					if !slices.Contains(allowed, a) {
						t.Errorf("%s: %s not allowed (have %v)", construct, a, allowed)
					}
				}
			}
			for id, allowed := range got {
				for _, a := range tt.denied {
					if slices.Contains(allowed, a) {
						t.Errorf("%s allowed on %s, want denied", a, id)
					}
				}
			}
		})
	}
}

// TestGrantsAreDeclared holds every function's role to its declaration: the
// resources its policies name are exactly those its declaration grants, and
// each allows what the declared access needs and no more. (That each grant is
// used is shared/deploy's test: every grant comes with the setting naming its
// resource, and the function's code reads every declared setting.)
func TestGrantsAreDeclared(t *testing.T) {
	tableWrites := []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
	tableReads := []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:Scan"}
	for _, f := range deploy.Buzon.Functions {
		t.Run(f.Name, func(t *testing.T) {
			type rule struct{ must, mustNot []string }
			want := map[string]rule{} // construct id → actions
			switch {
			case f.Table == deploy.ReadWrite:
				want["Table"] = rule{must: append(slices.Clone(tableReads), tableWrites...)}
			case f.Table == deploy.Read:
				want["Table"] = rule{must: tableReads, mustNot: tableWrites}
			case f.Table == deploy.Write:
				want["Table"] = rule{must: tableWrites, mustNot: tableReads}
			}
			if f.Bucket != 0 {
				r := rule{mustNot: []string{"s3:DeleteObject*"}}
				if f.Bucket.Can(deploy.Read) {
					r.must = append(r.must, "s3:GetObject*")
				} else {
					r.mustNot = append(r.mustNot, "s3:GetObject*")
				}
				if f.Bucket.Can(deploy.Write) {
					r.must = append(r.must, "s3:PutObject")
				} else {
					r.mustNot = append(r.mustNot, "s3:PutObject")
				}
				want["MediaBucket"] = r
			}
			queueID := func(name string) string {
				if q, ok := strings.CutSuffix(name, "-dlq"); ok {
					return deploy.Title(q) + "DLQ"
				}
				return deploy.Title(name) + "Queue"
			}
			for _, q := range f.SendsTo {
				want[queueID(q)] = rule{must: []string{"sqs:SendMessage"}}
			}
			if f.Consumes != "" {
				r := want[queueID(f.Consumes)]
				r.must = append(r.must, "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility")
				if !slices.Contains(f.SendsTo, f.Consumes) {
					r.mustNot = append(r.mustNot, "sqs:SendMessage")
				}
				want[queueID(f.Consumes)] = r
			}
			if len(f.Secrets) > 0 {
				want["ProviderSecrets"] = rule{must: []string{"secretsmanager:GetSecretValue"}}
			}
			if slices.ContainsFunc(f.Settings, func(s deploy.Setting) bool { return s.Name == "WEBSOCKET_MANAGEMENT_URL" }) {
				want["WebSocketApi"] = rule{must: []string{"execute-api:ManageConnections"}}
			}
			if f.Stream {
				// Its failed batches' descriptions, and dynamodb:ListStreams, which is on "*".
				want[deploy.Title(f.Name)+"StreamDLQ"] = rule{must: []string{"sqs:SendMessage"}}
			}

			got := tmpl.grants(refID(tmpl.props(logicalID(t, deploy.Title(f.Name)+"Function"))["Role"]))
			byID := map[string]string{}
			var wantResources []string
			for c := range want {
				byID[logicalID(t, c)] = c
				wantResources = append(wantResources, c)
			}
			if f.Stream {
				// The stream is the table's; CDK names it by the table's StreamArn.
				byID[logicalID(t, "Table")] = "Table"
				delete(got, "") // dynamodb:ListStreams
			}
			var gotResources []string
			for id := range got {
				c, ok := byID[id]
				if !ok {
					c = "undeclared " + id
				}
				gotResources = append(gotResources, c)
			}
			slices.Sort(gotResources)
			slices.Sort(wantResources)
			if diff := cmp.Diff(wantResources, slices.Compact(gotResources)); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
			for c, r := range want {
				allowed := got[logicalID(t, c)]
				for _, a := range r.must {
					if !slices.Contains(allowed, a) {
						t.Errorf("%s: %s not allowed (have %v)", c, a, allowed)
					}
				}
				for _, a := range r.mustNot {
					if slices.Contains(allowed, a) {
						t.Errorf("%s: %s allowed, not declared", c, a)
					}
				}
			}
		})
	}
}

// TestNoWildcardActions checks every identity policy for actions that grant
// a whole service, and every role for managed policies other than the basic
// Lambda execution role.
func TestNoWildcardActions(t *testing.T) {
	t.Parallel()
	for id, p := range tmpl.resources("AWS::IAM::Policy") {
		for _, st := range asSlice(dig(p, "PolicyDocument", "Statement")) {
			for _, a := range asSlice(st.(obj)["Action"]) {
				action := a.(string)
				if action == "*" || strings.HasSuffix(action, ":*") {
					t.Errorf("policy %s allows %q", id, action)
				}
			}
		}
	}
	for id, p := range tmpl.resources("AWS::IAM::Role") {
		for _, m := range asSlice(p["ManagedPolicyArns"]) {
			if s := fmt.Sprint(m); !strings.Contains(s, "service-role/AWSLambdaBasicExecutionRole") {
				t.Errorf("role %s has managed policy %s", id, s)
			}
		}
	}
}

func TestOutputs(t *testing.T) {
	t.Parallel()
	outputs, _ := tmpl["Outputs"].(obj)
	for _, name := range []string{"ApiUrl", "TableName", "InboundQueueUrl", "OutboundQueueUrl", "UserPoolId", "UserPoolClientId"} {
		if _, ok := outputs[name]; !ok {
			t.Errorf("no output %s (have %v)", name, sortedKeys(outputs))
		}
	}
}

func TestCheckAssets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	err := CheckAssets(deploy.Buzon, dir)
	if err == nil {
		t.Fatal("CheckAssets(empty dir) = nil, want an error")
	}
	for _, name := range deploy.Buzon.Names() {
		if !strings.Contains(err.Error(), filepath.Join(dir, name, "bootstrap")) {
			t.Errorf("error %q does not name %s", err, name)
		}
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "bootstrap"), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := CheckAssets(deploy.Buzon, dir); err != nil {
		t.Errorf("CheckAssets(complete dir) = %v, want nil", err)
	}
}

// cfnTemplate is a synthesized template decoded into Go values.
type cfnTemplate obj

func (c cfnTemplate) resources(typ string) map[string]obj {
	out := map[string]obj{}
	all, _ := c["Resources"].(obj)
	for id, r := range all {
		if r := r.(obj); r["Type"] == typ {
			p, _ := r["Properties"].(obj)
			out[id] = p
		}
	}
	return out
}

func (c cfnTemplate) props(logicalID string) obj {
	all, _ := c["Resources"].(obj)
	r, _ := all[logicalID].(obj)
	p, _ := r["Properties"].(obj)
	return p
}

// grants maps each resource that the role's policies name to the sorted
// actions allowed on it.
func (c cfnTemplate) grants(role string) map[string][]string {
	out := map[string][]string{}
	for _, p := range c.resources("AWS::IAM::Policy") {
		if !slices.ContainsFunc(asSlice(p["Roles"]), func(r any) bool { return refID(r) == role }) {
			continue
		}
		for _, st := range asSlice(dig(p, "PolicyDocument", "Statement")) {
			st := st.(obj)
			if st["Effect"] != "Allow" {
				continue
			}
			for _, r := range asSlice(st["Resource"]) {
				id := refID(r)
				for _, a := range asSlice(st["Action"]) {
					if !slices.Contains(out[id], a.(string)) {
						out[id] = append(out[id], a.(string))
					}
				}
				slices.Sort(out[id])
			}
		}
	}
	return out
}

// refID is the first logical id that a Ref, Fn::GetAtt or Fn::Join names.
func refID(v any) string {
	switch v := v.(type) {
	case obj:
		if r, ok := v["Ref"].(string); ok && !strings.HasPrefix(r, "AWS::") { // not a pseudo parameter
			return r
		}
		if a, ok := v["Fn::GetAtt"].([]any); ok && len(a) > 0 {
			s, _ := a[0].(string)
			return s
		}
		if a, ok := v["Fn::Join"].([]any); ok && len(a) == 2 {
			return refID(a[1])
		}
	case []any:
		for _, e := range v {
			if id := refID(e); id != "" {
				return id
			}
		}
	}
	return ""
}

func dig(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(obj)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// asSlice reads a CloudFormation "one or many" value as a list.
func asSlice(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		return []any{v}
	}
}

// subset keeps the keys of got that want has, so cmp.Diff compares only
// what a test cares about.
func subset(got, want obj) obj {
	out := obj{}
	for k := range want {
		if v, ok := got[k]; ok {
			out[k] = v
		}
	}
	return out
}

func merge(ms ...obj) obj {
	out := obj{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// httpStages are the HTTP API's stages (the WebSocket API's stage is TestWebSocketAPI's).
func httpStages(t *testing.T) map[string]obj {
	out := map[string]obj{}
	for id, p := range tmpl.resources("AWS::ApiGatewayV2::Stage") {
		if refID(p["ApiId"]) == logicalID(t, "HttpApi") {
			out[id] = p
		}
	}
	return out
}

// TestBucketGrantsByPrefix holds each function's object grants to its declared key prefixes:
// the media function puts only under in/, the API presigns uploads only under up/, send reads
// only up/.
func TestBucketGrantsByPrefix(t *testing.T) {
	for _, f := range deploy.Buzon.Functions {
		if f.Bucket == 0 {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			role := refID(tmpl.props(logicalID(t, deploy.Title(f.Name)+"Function"))["Role"])
			check := func(action, prefix string) {
				t.Helper()
				got := tmpl.objectPatterns(t, role, action)
				if want := []string{"/" + prefix + "*"}; !slices.Equal(got, want) {
					t.Errorf("%s on objects %q, want %q", action, got, want)
				}
			}
			if f.Bucket.Can(deploy.Read) {
				check("s3:GetObject*", f.BucketReads)
			}
			if f.Bucket.Can(deploy.Write) {
				check("s3:PutObject", f.BucketWrites)
			}
		})
	}
	if f, _ := deploy.Buzon.Function("media"); f.BucketWrites != media.InboundPrefix {
		t.Errorf("media writes under %q, want %q", f.BucketWrites, media.InboundPrefix)
	}
}

// objectPatterns is the key patterns (after the bucket's ARN) of the media bucket's objects
// on which role's policies allow action.
func (c cfnTemplate) objectPatterns(t *testing.T, role, action string) []string {
	bucket := logicalID(t, "MediaBucket")
	var out []string
	for _, p := range c.resources("AWS::IAM::Policy") {
		if !slices.ContainsFunc(asSlice(p["Roles"]), func(r any) bool { return refID(r) == role }) {
			continue
		}
		for _, st := range asSlice(dig(p, "PolicyDocument", "Statement")) {
			st := st.(obj)
			if st["Effect"] != "Allow" || !slices.Contains(asSlice(st["Action"]), any(action)) {
				continue
			}
			for _, r := range asSlice(st["Resource"]) {
				join, ok := r.(obj)["Fn::Join"].([]any)
				if !ok || refID(r) != bucket {
					continue // the bucket itself, or another resource
				}
				parts := asSlice(join[1])
				if s, ok := parts[len(parts)-1].(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}
