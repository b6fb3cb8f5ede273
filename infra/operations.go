package main

import (
	"encoding/json"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/buzon/buzon/shared/consume"
	"github.com/buzon/buzon/shared/deploy"
)

// Alarm thresholds. Every alarm notifies the alarm topic when it fires and when it clears.
const (
	// A message waiting this long has been retried through several backoffs (5 s doubling to
	// 5 min, shared/consume) or nobody consumes the queue: worth a look before the DLQ.
	oldestMessageAlarm = 10 * 60 // seconds
	// Per-record failures include a provider's rate limit postponing a send: a blip is
	// expected, failures in three five-minute periods in a row are not.
	recordFailurePeriods = 3
)

// AlarmEmailParameter is the stack parameter naming who gets the alarms:
// `cdk deploy --parameters AlarmEmail=ops@example.com`. SNS sends a confirmation email first.
const AlarmEmailParameter = "AlarmEmail"

// operations builds the alarms, each with the alarm topic as its action, and the dashboard
// that shows them.
type operations struct {
	stack     awscdk.Stack
	topic     awssns.Topic
	action    awscloudwatch.IAlarmAction
	dashboard awscloudwatch.Dashboard
}

func newOperations(stack awscdk.Stack) *operations {
	email := awscdk.NewCfnParameter(stack, jsii.String(AlarmEmailParameter), &awscdk.CfnParameterProps{
		Type:                  jsii.String("String"),
		Description:           jsii.String("The email address that receives Buzón's alarms (confirm SNS's email first)"),
		AllowedPattern:        jsii.String(`[^@\s]+@[^@\s]+\.[^@\s]+`),
		ConstraintDescription: jsii.String("an email address"),
	})
	topic := awssns.NewTopic(stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("Buzón alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(email.ValueAsString(), nil))
	return &operations{
		stack:  stack,
		topic:  topic,
		action: awscloudwatchactions.NewSnsAction(topic),
		dashboard: awscloudwatch.NewDashboard(stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
			DefaultInterval: awscdk.Duration_Hours(jsii.Number(3)),
		}),
	}
}

// alarm defines an alarm on metric that fires when it is above threshold in periods periods in
// a row, notifies the topic both ways and appears on the dashboard.
func (o *operations) alarm(id, description string, metric awscloudwatch.IMetric, threshold float64, periods int) {
	a := awscloudwatch.NewAlarm(o.stack, jsii.String(id), &awscloudwatch.AlarmProps{
		AlarmDescription:   jsii.String(description),
		Metric:             metric,
		Threshold:          jsii.Number(threshold),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		EvaluationPeriods:  jsii.Number(periods),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	a.AddAlarmAction(o.action)
	a.AddOkAction(o.action)
	o.dashboard.AddWidgets(awscloudwatch.NewAlarmWidget(&awscloudwatch.AlarmWidgetProps{
		Alarm: a, Title: jsii.String(description), Width: jsii.Number(8), Height: jsii.Number(6),
	}))
}

func every(minutes float64, statistic string) *awscloudwatch.MetricOptions {
	return &awscloudwatch.MetricOptions{
		Period:    awscdk.Duration_Minutes(jsii.Number(minutes)),
		Statistic: jsii.String(statistic),
	}
}

// queue alarms on a queue's oldest message and on its dead-letter queue.
func (o *operations) queue(name string, queue, dlq awssqs.Queue) {
	o.alarm(deploy.Title(name)+"AgeAlarm", "The "+name+" queue's oldest message waits over 10 minutes",
		queue.MetricApproximateAgeOfOldestMessage(every(5, "Maximum")), oldestMessageAlarm, 1)
	o.deadLetters(name, dlq)
}

// deadLetters alarms as soon as a message is in dlq.
func (o *operations) deadLetters(name string, dlq awssqs.Queue) {
	o.alarm(deploy.Title(name)+"DLQAlarm", "Messages are waiting in the "+name+" dead-letter queue",
		dlq.MetricApproximateNumberOfMessagesVisible(every(1, "Maximum")), 0, 1)
}

// function alarms on a function's errors and, for a queue consumer, on its per-record failures
// (the consumer runner's metric: a batch with failed records is not an error to Lambda).
func (o *operations) function(f deploy.Function, fn awslambda.Function) {
	id := deploy.Title(f.Name)
	o.alarm(id+"ErrorsAlarm", "The "+f.Name+" function returned errors", fn.MetricErrors(every(5, "Sum")), 0, 1)
	if f.Consumes == "" {
		return
	}
	failures := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(consume.MetricNamespace),
		MetricName:    jsii.String(consume.MetricRecordFailures),
		DimensionsMap: &map[string]*string{"Function": jsii.String(f.Name)},
		Period:        awscdk.Duration_Minutes(jsii.Number(5)),
		Statistic:     jsii.String("Sum"),
	})
	o.alarm(id+"RecordFailuresAlarm", "The "+f.Name+" function failed records for 15 minutes", failures, 0, recordFailurePeriods)
}

// table alarms when DynamoDB throttles reads or writes of the table.
func (o *operations) table(table awsdynamodb.Table) {
	throttles := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String("reads + writes"),
		Label:      jsii.String("Throttled reads and writes"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"reads":  table.Metric(jsii.String("ReadThrottleEvents"), every(5, "Sum")),
			"writes": table.Metric(jsii.String("WriteThrottleEvents"), every(5, "Sum")),
		},
		Period: awscdk.Duration_Minutes(jsii.Number(5)),
	})
	o.alarm("TableThrottlesAlarm", "DynamoDB throttled the table's reads or writes", throttles, 0, 1)
}

// api alarms on the HTTP API's 5xx answers.
func (o *operations) api(api awsapigatewayv2.HttpApi) {
	o.alarm("Api5xxAlarm", "The HTTP API answered 5xx", api.MetricServerError(every(5, "Sum")), 0, 1)
}

// routeSettings gives each route of a function with a throttle that throttle (the stage's
// route settings, by route key). The property is plain JSON to the CDK, so the keys are
// CloudFormation's spelling (a CfnStage_RouteSettingsProperty would be written camelCase).
func routeSettings(d deploy.Deployment) map[string]any {
	out := map[string]any{}
	for _, f := range d.Functions {
		if f.Throttle == nil {
			continue
		}
		for _, r := range f.Routes {
			out[r.Key()] = map[string]any{
				"ThrottlingRateLimit":  f.Throttle.Rate,
				"ThrottlingBurstLimit": f.Throttle.Burst,
			}
		}
	}
	return out
}

// accessLogFields is one JSON access log line per request. It never holds the query string:
// the Meta handshake carries the verify token there (hub.verify_token), and $context.path is
// the path alone.
var accessLogFields = map[string]string{
	"requestId":        "$context.requestId",
	"time":             "$context.requestTime",
	"ip":               "$context.identity.sourceIp",
	"routeKey":         "$context.routeKey",
	"path":             "$context.path",
	"status":           "$context.status",
	"responseLength":   "$context.responseLength",
	"latency":          "$context.responseLatency",
	"integrationError": "$context.integrationErrorMessage",
	"error":            "$context.error.message",
}

// accessLogs is the stage's access log: JSON lines in a log group of their own.
func accessLogs(stack awscdk.Stack) *awsapigatewayv2.CfnStage_AccessLogSettingsProperty {
	logs := awslogs.NewLogGroup(stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention: logRetention,
	})
	format, err := json.Marshal(accessLogFields)
	if err != nil {
		panic(err) // a map of strings always encodes
	}
	return &awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: logs.LogGroupArn(),
		Format:         jsii.String(string(format)),
	}
}
