// Package provider holds what the WhatsApp providers' send clients (shared/meta,
// shared/twilio) have in common: the error of a failed send, from which the send function
// takes the reason an agent sees and whether to retry, whatever the provider.
package provider

import "strconv"

// SendError is a failed send: the provider's error, or no usable answer at all.
type SendError struct {
	Provider   string // "meta" or "twilio"
	Code       int    // the provider's error code (131047, 63016, ...); 0 when it gave none
	Title      string // the provider's short description of the error
	Message    string // what exactly was wrong: the provider's details, or what failed locally
	HTTPStatus int    // 0 when there was no response
	Retryable  bool   // whether sending again later may succeed
	Reason     string // an explanation of the failure an agent can act on
	Err        error  // the transport error, when there was no response
}

func (e *SendError) Error() string {
	s := e.Provider + ": send failed"
	if e.HTTPStatus != 0 {
		s += " (HTTP " + strconv.Itoa(e.HTTPStatus) + ")"
	}
	if e.Code != 0 {
		s += ": #" + strconv.Itoa(e.Code)
	}
	if e.Title != "" {
		s += ": " + e.Title
	}
	if e.Message != "" && e.Message != e.Title {
		s += ": " + e.Message
	}
	return s
}

func (e *SendError) Unwrap() error { return e.Err }
