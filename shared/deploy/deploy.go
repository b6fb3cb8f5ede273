// Package deploy declares Buzón's deployment once: the functions, what invokes each, the
// settings each reads, what each may touch, and the queues between them. infra/stack.go builds
// the AWS stack from it and infra/local the local stack; neither adds a function, a setting or
// a grant of its own, and shared/boot checks a function's required settings against it.
//
// Adding a function is one entry in Functions plus its code in functions/<name> (see the
// README, "Adding a function"). A grant always comes with the setting that names its resource
// (table access gives TABLE_NAME, sending to a queue gives its URL), so a function never holds
// a permission it has no way to use; the tests in this package check that every declared
// setting is read by the function's code and every setting it reads is declared.
//
// The package is plain Go (no CDK) so that the functions, the local runner and the tests can
// import it.
package deploy

import (
	"slices"
	"strings"
	"time"
)

// Access is what a function may do with a store: read, write or both.
type Access uint8

// Access values. The zero Access is no access.
const (
	Read      Access = 1 << iota // get, query, scan
	Write                        // put, update, delete (on the table); put (on the bucket)
	ReadWrite = Read | Write
)

// Can reports whether a includes every right of b.
func (a Access) Can(b Access) bool { return a&b == b }

// Queue is one SQS queue between functions. Every queue has a dead-letter queue, named
// <Name>-dlq, that a message reaches after MaxReceives deliveries (and where a consumer buries
// a poison message at once, with its reason).
type Queue struct {
	Name string // "inbound": the queue inbound(.fifo), its DLQ inbound-dlq(.fifo)
	FIFO bool   // FIFO in high-throughput mode, deduplicated by MessageDeduplicationId only
	// Visibility is how long a received message stays hidden. At least six times its
	// consumer's timeout, as Lambda recommends for SQS event sources, so a message is not
	// redelivered while a retrying batch is still in flight.
	Visibility  time.Duration
	MaxReceives int // deliveries before the DLQ
}

// DLQ is the name of the queue's dead-letter queue, for SendsTo.
func (q Queue) DLQ() string { return q.Name + "-dlq" }

// Route is one route of the HTTP API.
type Route struct {
	Method string // GET, POST, ... or ANY
	Path   string // "/webhooks/meta"; a last segment {name+} matches the rest of the path
	Auth   bool   // behind the Cognito JWT authorizer
}

// Key is the route key as API Gateway writes it: "POST /webhooks/meta".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Throttle is API Gateway's token bucket for a route: a steady rate and the burst above it.
type Throttle struct {
	Rate  float64 // requests per second
	Burst int     // requests at once above the rate
}

// Schedule invokes a function at a fixed rate (an EventBridge rule).
type Schedule struct {
	Every time.Duration
	// AtStart also invokes it when the local stack starts (AWS has no such moment).
	AtStart bool
}

// Setting is one environment variable a function reads (shared/config is the reader).
type Setting struct {
	Name     string // TABLE_NAME
	Required bool   // the function does not start without it
}

// Function is one Lambda function, built from functions/<Name>.
type Function struct {
	Name        string
	Description string
	MemoryMB    int
	Timeout     time.Duration
	// NoRetry: an asynchronous invocation (a schedule's) that fails is not retried, because
	// the next one repeats it.
	NoRetry bool
	Pool    int // processes serving it at once in the local stack (Lambda scales out itself)
	// Reserved is the function's reserved concurrency in AWS: that many instances are kept for
	// it alone (a flood on another function cannot take them) and it never runs more. Zero
	// means it shares the account's unreserved pool.
	Reserved int

	// What invokes it.
	Consumes string    // a queue's name: its event source, batches with partial failure
	Stream   bool      // the table's stream (new and old images), batches with partial failure
	Schedule *Schedule // a fixed rate
	Routes   []Route   // HTTP API routes
	// Throttle limits the requests API Gateway passes to each of its routes (route settings of
	// the stage), so a flood on one function's routes is refused before it reaches another's.
	Throttle  *Throttle
	WebSocket []string // WebSocket API route keys ($connect, $disconnect, $default, ...)

	// What it may touch. Each grant gives the function the setting that names the resource.
	Table  Access // the one table: TABLE_NAME
	Bucket Access // the media bucket: MEDIA_BUCKET
	// BucketReads and BucketWrites limit Bucket's gets and puts to keys under a prefix
	// (shared/media's key layout); empty: any key.
	BucketReads, BucketWrites string
	SendsTo                   []string // queues (or "<queue>-dlq") it sends to: <QUEUE>_QUEUE_URL, <QUEUE>_DLQ_URL
	Secrets                   []string // keys of the provider secret it reads: SECRETS_ARN in AWS, the keys themselves locally

	// Settings it reads that no grant gives: URLs, tunables, the URL of the queue it
	// consumes (to postpone a message).
	Settings []Setting
}

// Settings names of the resources a grant gives.
const (
	TableSetting   = "TABLE_NAME"
	BucketSetting  = "MEDIA_BUCKET"
	SecretsSetting = "SECRETS_ARN"
)

// QueueSetting is the setting that holds a queue's URL: "inbound" → INBOUND_QUEUE_URL,
// "inbound-dlq" → INBOUND_DLQ_URL.
func QueueSetting(name string) string {
	s := strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	if !strings.HasSuffix(s, "_DLQ") {
		s += "_QUEUE"
	}
	return s + "_URL"
}

// Title is a declared name as a resource id prefix (CloudFormation logical ids, EventBridge
// rule names): "api" → "Api", "media-download" → "MediaDownload".
func Title(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// Env is every setting the function reads, sorted by name: those its grants give (all
// required), then Settings. Secrets are not in it: in AWS they come through SECRETS_ARN, which
// is.
func (f Function) Env() []Setting {
	var out []Setting
	add := func(s Setting) {
		if i := slices.IndexFunc(out, func(o Setting) bool { return o.Name == s.Name }); i >= 0 {
			out[i].Required = out[i].Required || s.Required
			return
		}
		out = append(out, s)
	}
	if f.Table != 0 {
		add(Setting{TableSetting, true})
	}
	if f.Bucket != 0 {
		add(Setting{BucketSetting, true})
	}
	for _, q := range f.SendsTo {
		add(Setting{QueueSetting(q), true})
	}
	if len(f.Secrets) > 0 {
		add(Setting{SecretsSetting, false})
	}
	for _, s := range f.Settings {
		add(s)
	}
	slices.SortFunc(out, func(a, b Setting) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Required names the settings the function cannot start without.
func (f Function) Required() []string {
	var out []string
	for _, s := range f.Env() {
		if s.Required {
			out = append(out, s.Name)
		}
	}
	return out
}

// Deployment is the whole system: its functions and the queues between them.
type Deployment struct {
	Functions []Function
	Queues    []Queue
}

// Function returns the function named name.
func (d Deployment) Function(name string) (Function, bool) {
	i := slices.IndexFunc(d.Functions, func(f Function) bool { return f.Name == name })
	if i < 0 {
		return Function{}, false
	}
	return d.Functions[i], true
}

// Queue returns the queue named name.
func (d Deployment) Queue(name string) (Queue, bool) {
	i := slices.IndexFunc(d.Queues, func(q Queue) bool { return q.Name == name })
	if i < 0 {
		return Queue{}, false
	}
	return d.Queues[i], true
}

// Names lists the functions' names in declaration order.
func (d Deployment) Names() []string {
	out := make([]string, len(d.Functions))
	for i, f := range d.Functions {
		out[i] = f.Name
	}
	return out
}

// Consumer returns the function that consumes queue, if any.
func (d Deployment) Consumer(queue string) (Function, bool) {
	i := slices.IndexFunc(d.Functions, func(f Function) bool { return f.Consumes == queue })
	if i < 0 {
		return Function{}, false
	}
	return d.Functions[i], true
}

// StreamConsumed reports whether any function consumes the table's stream.
func (d Deployment) StreamConsumed() bool {
	return slices.ContainsFunc(d.Functions, func(f Function) bool { return f.Stream })
}
