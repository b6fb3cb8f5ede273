package deploy

import (
	"time"

	"github.com/buzon/buzon/shared/consume"
	"github.com/buzon/buzon/shared/media"
)

// consumerTimeout bounds one batch of a queue consumer: consume.Visibility is six times it.
const consumerTimeout = 30 * time.Second

// Buzon is the deployment: the one place that says which functions exist and what each reads,
// touches and is invoked by.
var Buzon = Deployment{
	Queues: []Queue{
		// Provider events, one message group per conversation, from the webhook to assign.
		// Visibility and receives are the consumer runner's outage sizing (shared/consume).
		{Name: "inbound", FIFO: true, Visibility: consume.Visibility, MaxReceives: consume.MaxReceives},
		// Messages to send, one group per conversation, from the API and auto-replies to send.
		{Name: "outbound", FIFO: true, Visibility: consume.Visibility, MaxReceives: consume.MaxReceives},
		// One job per customer attachment, each its own message group, from assign to media.
		{Name: "media", FIFO: true, Visibility: consume.Visibility, MaxReceives: consume.MaxReceives},
	},
	Functions: []Function{
		{
			Name:        "webhook",
			Description: "Verifies provider webhooks and enqueues them on the inbound queue",
			MemoryMB:    256,
			Timeout:     10 * time.Second,
			Pool:        4,
			// The webhooks and the agent API are throttled and reserved apart, so a flood of
			// deliveries (a line's peak is 1,000 messages per second plus their statuses) leaves
			// the agents their API, and a runaway client of the API leaves the providers their
			// webhooks. 200 instances carry 2,000 requests per second at 100 ms each; the
			// account keeps its other 600 of the default 1,000 for the consumers and schedules.
			Reserved: 200,
			Throttle: &Throttle{Rate: 2000, Burst: 4000},
			Routes: []Route{
				{Method: "GET", Path: "/webhooks/meta"}, // the subscription handshake
				{Method: "POST", Path: "/webhooks/meta"},
				{Method: "POST", Path: "/webhooks/twilio"},
			},
			SendsTo: []string{"inbound"},
			// X-Hub-Signature-256, the verify token and X-Twilio-Signature.
			Secrets: []string{"META_APP_SECRET", "META_VERIFY_TOKEN", "TWILIO_AUTH_TOKEN"},
			Settings: []Setting{
				{Name: "PUBLIC_BASE_URL", Required: true}, // the URL Twilio signs
				{Name: "MAX_WEBHOOK_BYTES"},
			},
		},
		{
			Name:        "assign",
			Description: "Records inbound messages and statuses, routes and assigns conversations",
			MemoryMB:    512,
			Timeout:     consumerTimeout,
			Pool:        2,
			Consumes:    "inbound",
			Table:       ReadWrite,
			// A poison event goes to the DLQ at once, with its reason; auto-replies go out
			// through the outbound queue as agents' messages do.
			SendsTo: []string{"inbound-dlq", "outbound", "media"}, // and one job per customer attachment
			// A failed record's visibility is changed on its queue: the retry's backoff (the
			// consumer's own grant covers sqs:ChangeMessageVisibility).
			Settings: []Setting{{Name: "INBOUND_QUEUE_URL", Required: true}},
		},
		{
			Name:        "api",
			Description: "The agent API",
			MemoryMB:    512,
			// API Gateway gives up on an integration after 30 seconds.
			Timeout: 29 * time.Second,
			Pool:    4,
			// A team's consoles make a few requests per second each; 500 per second serve a
			// hundred busy organizations, 100 instances at 200 ms each.
			Reserved: 100,
			Throttle: &Throttle{Rate: 500, Burst: 1000},
			Routes:   []Route{{Method: "ANY", Path: "/v1/{proxy+}", Auth: true}},
			Table:    ReadWrite,
			// Presigns reads of kept media, and the uploads agents PUT (checked with a HEAD).
			Bucket:       ReadWrite,
			BucketWrites: media.UploadPrefix,
			SendsTo:      []string{"outbound"},
			// An admin's "sync now" lists the templates with the Meta access token.
			Secrets: []string{"META_ACCESS_TOKEN"},
			Settings: []Setting{{Name: "META_GRAPH_URL"}, {Name: "META_API_VERSION"}, {Name: "S3_PATH_STYLE"},
				{Name: "WEBSOCKET_URL"}}, // GET /v1/realtime
		},
		{
			Name:        "send",
			Description: "Sends outbound messages through the provider",
			MemoryMB:    256,
			Timeout:     consumerTimeout,
			Pool:        2,
			Consumes:    "outbound",
			Table:       ReadWrite,
			Bucket:      Read, // agents' uploads, handed to the provider
			BucketReads: media.UploadPrefix,
			SendsTo:     []string{"outbound-dlq"}, // poison messages, with their reason
			Secrets:     []string{"META_ACCESS_TOKEN", "TWILIO_AUTH_TOKEN"},
			Settings: []Setting{
				// Backing off on a provider's rate limit postpones one message, not the batch
				// (the consumer's own grant covers sqs:ChangeMessageVisibility).
				{Name: "OUTBOUND_QUEUE_URL", Required: true},
				{Name: "PUBLIC_BASE_URL"}, // Twilio's status callback URL
				{Name: "META_GRAPH_URL"}, {Name: "META_API_VERSION"}, {Name: "TWILIO_API_URL"},
				{Name: "LINE_RATE_LIMIT"},
				{Name: "S3_PATH_STYLE"},
			},
		},
		{
			Name:        "media",
			Description: "Keeps customers' attachments in the media bucket",
			// A download streams in 5 MB parts: 22 MB of heap for a 100 MB document.
			MemoryMB: 256,
			// A download must finish within a consumer's timeout (the queue's visibility is
			// sized on it): 100 MB at 4 MB/s; a slower one is retried, then marked failed.
			Timeout:      consumerTimeout,
			Pool:         2,
			Consumes:     "media",
			Table:        ReadWrite, // reads the message, writes its media attribute
			Bucket:       Write,     // puts only, of what it downloads
			BucketWrites: media.InboundPrefix,
			SendsTo:      []string{"media-dlq"},
			Secrets:      []string{"META_ACCESS_TOKEN", "TWILIO_AUTH_TOKEN"},
			Settings: []Setting{
				{Name: "MEDIA_QUEUE_URL", Required: true}, // retries come back by visibility
				{Name: "META_GRAPH_URL"}, {Name: "META_API_VERSION"}, {Name: "TWILIO_API_URL"},
				{Name: "S3_PATH_STYLE"},
			},
		},
		{
			Name:        "templates",
			Description: "Syncs message templates from the providers",
			MemoryMB:    256,
			Timeout:     5 * time.Minute,
			Pool:        1,
			Schedule:    &Schedule{Every: 6 * time.Hour, AtStart: true},
			Table:       ReadWrite,
			Secrets:     []string{"META_ACCESS_TOKEN"},
			Settings:    []Setting{{Name: "META_GRAPH_URL"}, {Name: "META_API_VERSION"}},
		},
		{
			Name:        "window",
			Description: "Warns before and marks the close of 24-hour customer service windows",
			MemoryMB:    256,
			// Ends before the next tick starts.
			Timeout:  50 * time.Second,
			NoRetry:  true,
			Pool:     1,
			Schedule: &Schedule{Every: time.Minute},
			Table:    ReadWrite,
			Settings: []Setting{{Name: "WINDOW_WARN_LEAD"}},
		},
		{
			Name:        "authorizer",
			Description: "Checks the user pool token of a WebSocket $connect (the token query parameter)",
			MemoryMB:    256,
			Timeout:     10 * time.Second,
			Pool:        2,
			WebSocket:   []string{"$connect/authorizer"},
			Settings: []Setting{
				{Name: "JWT_ISSUER", Required: true}, {Name: "JWT_CLIENT_ID", Required: true}, {Name: "JWKS_URL", Required: true},
			},
		},
		{
			Name:        "realtime",
			Description: "The WebSocket routes: connect, disconnect, ping, subscribe, typing, presence",
			MemoryMB:    256,
			Timeout:     10 * time.Second,
			Pool:        2,
			WebSocket:   []string{"$connect", "$disconnect", "$default"},
			Table:       ReadWrite,
			// Typing goes to the other viewers at once, through @connections.
			Settings: []Setting{{Name: "WEBSOCKET_MANAGEMENT_URL", Required: true}},
		},
		{
			Name:        "fanout",
			Description: "Turns the table's stream into realtime events for exactly the users who may see them",
			MemoryMB:    512,
			Timeout:     consumerTimeout,
			Pool:        1,
			Stream:      true,
			Table:       ReadWrite, // audiences, users, markers; gone connections deleted
			Settings:    []Setting{{Name: "WEBSOCKET_MANAGEMENT_URL", Required: true}},
		},
		{
			Name:        "console",
			Description: "The agent console: its files, embedded in the binary, at / of the HTTP API",
			MemoryMB:    128,
			Timeout:     5 * time.Second,
			Pool:        1,
			// The console's own origin is the API's, so it calls /v1/... without CORS and its
			// Content Security Policy says 'self'. API Gateway picks the most specific route,
			// so /v1/{proxy+} and the webhooks stay with their functions.
			Routes: []Route{{Method: "GET", Path: "/"}, {Method: "GET", Path: "/{proxy+}"}},
			// A page load is a dozen small GETs, mostly answered 304: a team's consoles stay far
			// below this, and a flood of them leaves the API its own share.
			Throttle: &Throttle{Rate: 200, Burst: 400},
			// Its Content Security Policy names where the page connects and loads media from;
			// /config.json tells it how to sign in.
			Settings: []Setting{{Name: "WEBSOCKET_URL"}, {Name: "MEDIA_ORIGIN"}, {Name: "COGNITO_DOMAIN"}, {Name: "COGNITO_CLIENT_ID"}},
		},
	},
}
