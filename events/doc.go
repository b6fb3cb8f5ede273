// Package events holds Buzón's own queue event types: what the webhook function puts on the
// inbound FIFO queue and what the API puts on the outbound queue. Provider payloads are parsed
// into these types once, at the edge, so that consumers never see a provider's wire format.
//
// testdata/*.json holds one sample per event kind; each round-trips through its Go type.
package events
