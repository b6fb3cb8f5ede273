// Package provider holds what the WhatsApp providers' send clients (shared/meta,
// shared/twilio) have in common: the error of a failed send, from which the send function
// takes the reason an agent sees and whether to retry, whatever the provider.
package provider

import (
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync/atomic"
)

// SendError is a failed send: the provider's error, or no usable answer at all.
type SendError struct {
	Provider   string // "meta" or "twilio"
	Code       int    // the provider's error code (131047, 63016, ...); 0 when it gave none
	Title      string // the provider's short description of the error
	Message    string // what exactly was wrong: the provider's details, or what failed locally
	HTTPStatus int    // 0 when there was no response
	Retryable  bool   // whether sending again later may succeed
	// Uncertain: the request was written and no usable answer came back (a timeout, a reset
	// connection, an answer cut short or without the message id), so the provider may have
	// accepted the message. Sending again could deliver it twice; the send function waits for
	// the message's status callback instead.
	Uncertain bool
	Reason    string // an explanation of the failure an agent can act on
	Err       error  // the transport error, when there was no response
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
// answer. A request that got no answer or whose answer was cut short comes back as a
// SendError naming who was called; otherwise the status and body. The error is Uncertain when
// the request had been written (a timeout or a reset after it: the provider may have the
// message), and only Retryable when it never left (the connection could not be made).
func Do(hc *http.Client, req *http.Request, who string, limit int64) (status int, body []byte, err *SendError) {
	if hc == nil {
		hc = http.DefaultClient
	}
	var wrote atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		// Called once the request is on the wire, or failed part way: either way the provider
		// may have read it.
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	}))
	resp, rerr := hc.Do(req)
	if rerr != nil {
		if wrote.Load() {
			return 0, nil, &SendError{Title: "no response from " + who, Message: rerr.Error(), Uncertain: true, Err: rerr}
		}
		return 0, nil, &SendError{Title: "could not reach " + who, Message: rerr.Error(), Retryable: true, Err: rerr}
	}
	defer resp.Body.Close()
	body, rerr = io.ReadAll(io.LimitReader(resp.Body, limit))
	if rerr != nil {
		// A success cut short may have been an acceptance whose id never arrived.
		return resp.StatusCode, nil, &SendError{HTTPStatus: resp.StatusCode, Title: "response cut short", Message: rerr.Error(),
			Retryable: resp.StatusCode >= 500, Uncertain: resp.StatusCode/100 == 2, Err: rerr}
	}
	return resp.StatusCode, body, nil
}
