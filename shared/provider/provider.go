// Package provider holds what the WhatsApp providers' send clients (shared/meta,
// shared/twilio) have in common: the error of a failed send, from which the send function
// takes the reason an agent sees and whether to retry, whatever the provider.
package provider

import (
	"io"
	"net/http"
	"strconv"
)

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

// MaxResponse caps what is read of a provider's answer to a send.
const MaxResponse = 1 << 20

// Do sends req with hc (http.DefaultClient when nil) and reads at most limit bytes of the
// answer. A request that got no answer (timeout, refused, reset: the provider may or may not
// have it) or whose answer was cut short comes back as a SendError naming who was called;
// otherwise the status and body.
func Do(hc *http.Client, req *http.Request, who string, limit int64) (status int, body []byte, err *SendError) {
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, rerr := hc.Do(req)
	if rerr != nil {
		return 0, nil, &SendError{Title: "no response from " + who, Message: rerr.Error(), Retryable: true, Err: rerr}
	}
	defer resp.Body.Close()
	body, rerr = io.ReadAll(io.LimitReader(resp.Body, limit))
	if rerr != nil {
		return resp.StatusCode, nil, &SendError{HTTPStatus: resp.StatusCode, Title: "response cut short", Message: rerr.Error(),
			Retryable: resp.StatusCode >= 500, Err: rerr}
	}
	return resp.StatusCode, body, nil
}
