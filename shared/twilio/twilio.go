// Package twilio is Buzón's edge for Twilio's WhatsApp webhooks: it checks the
// X-Twilio-Signature header and parses an inbound-message webhook or a status callback (form
// parameters) into Buzón's own events.Inbound.
//
// Parsing and signatures are pure logic: no network, no AWS. Client (send.go) is the one
// exception: the Messages API client the send function delivers outbound messages with.
package twilio

import "errors"

// Errors returned by VerifySignature and VerifyBodySignature, and the reason of Parse's
// malformed items. Callers inspect them with errors.Is; the wrapped text gives a human reason
// and is safe to return in a 4xx body.
var (
	// ErrMissingSignature means the request carried no X-Twilio-Signature header.
	ErrMissingSignature = errors.New("twilio: missing signature")
	// ErrBadSignature means the signature matches none of the accepted URL forms.
	ErrBadSignature = errors.New("twilio: bad signature")
	// ErrNoAuthToken means no auth token was configured: a server-side problem, never the
	// caller's.
	ErrNoAuthToken = errors.New("twilio: no auth token configured")
	// ErrInvalid means the parameters are not a WhatsApp message or status callback (the
	// reason of a malformed item).
	ErrInvalid = errors.New("twilio: invalid webhook")
)
