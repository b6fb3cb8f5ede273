package consume

import (
	"context"
	"log/slog"
	"time"
)

// The batch's counts, published as CloudWatch metrics through the Embedded Metric Format: the
// runner's one log line per batch ("batch applied") carries them as top-level numbers with an
// "_aws" directive, and CloudWatch Logs turns them into metrics of namespace MetricNamespace
// with the dimension Function (the Runner's Name). No API call, no agent: Lambda ships stdout
// to CloudWatch Logs, which extracts them.
const (
	MetricNamespace = "Buzon"
	// MetricRecords counts the records handed to the consumer.
	MetricRecords = "Records"
	// MetricRecordFailures counts the records whose handler failed, transiently or for good:
	// the per-record failures to watch.
	MetricRecordFailures = "RecordFailures"
	// MetricRecordsRetried counts the records reported back to SQS: transient failures and the
	// later records of their groups.
	MetricRecordsRetried = "RecordsRetried"
	// MetricRecordsDeadLettered counts the poison records moved to the dead-letter queue.
	MetricRecordsDeadLettered = "RecordsDeadLettered"
)

// Counts is what became of a batch's records.
type Counts struct {
	Records, Failures, Retried, DeadLettered int
}

func count(results []result) Counts {
	c := Counts{Records: len(results)}
	for _, r := range results {
		switch r.outcome {
		case retried:
			c.Failures++
			c.Retried++
		case blocked:
			c.Retried++
		case buried:
			c.Failures++
			c.DeadLettered++
		}
	}
	return c
}

// emfMetric and emfDirective are the Embedded Metric Format's "_aws" object.
type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

// report writes the batch's line: Info when every record was handled, Warn otherwise, so the
// failures' metrics survive a log level of warn.
func (r *Runner) report(ctx context.Context, results []result) {
	c := count(results)
	level := slog.LevelInfo
	if c.Failures+c.Retried > 0 {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.Group("_aws",
			slog.Int64("Timestamp", time.Now().UnixMilli()),
			slog.Any("CloudWatchMetrics", []emfDirective{{
				Namespace:  MetricNamespace,
				Dimensions: [][]string{{"Function"}},
				Metrics: []emfMetric{
					{MetricRecords, "Count"}, {MetricRecordFailures, "Count"},
					{MetricRecordsRetried, "Count"}, {MetricRecordsDeadLettered, "Count"},
				},
			}}),
		),
		slog.String("Function", r.Name),
		slog.Int(MetricRecords, c.Records),
		slog.Int(MetricRecordFailures, c.Failures),
		slog.Int(MetricRecordsRetried, c.Retried),
		slog.Int(MetricRecordsDeadLettered, c.DeadLettered),
	}
	if r.Report != nil {
		attrs = append(attrs, r.Report()...)
	}
	r.log().LogAttrs(ctx, level, "batch applied", attrs...)
}
