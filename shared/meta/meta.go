// Package meta is Buzón's edge for the Meta WhatsApp Cloud API webhook: it checks the
// X-Hub-Signature-256 header, answers the subscription handshake and parses a delivery into
// Buzón's own events.Inbound items.
//
// Parsing and signatures are pure logic: no network, no AWS. The webhook function verifies the
// signature over the raw request bytes first and only then parses them; nothing here
// re-serialises a payload. Client (send.go) is the one exception to "no network": the Cloud
// API client the send function delivers outbound messages with.
package meta

import "errors"

// Errors returned by VerifySignature and Parse. Callers inspect them with errors.Is; the
// wrapped text gives a human reason and is safe to return in a 4xx body.
var (
	// ErrMissingSignature means the request carried no X-Hub-Signature-256 header.
	ErrMissingSignature = errors.New("meta: missing signature")
	// ErrBadSignature means the header is malformed or matches none of the app secrets.
	ErrBadSignature = errors.New("meta: bad signature")
	// ErrNoSecret means no (non-empty) app secret was configured: a server-side problem,
	// never the caller's.
	ErrNoSecret = errors.New("meta: no app secret configured")
	// ErrInvalid means the body is not a valid WhatsApp webhook delivery.
	ErrInvalid = errors.New("meta: invalid webhook delivery")
)
