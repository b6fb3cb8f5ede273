package twilio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// ErrMediaGone reports an attachment Twilio no longer serves (404: deleted from the message).
var ErrMediaGone = errors.New("twilio: media no longer available")

// Download opens an inbound attachment's MediaUrl with the account's basic auth (Twilio
// redirects to its storage host; the client follows). The caller closes the body.
func (c *Client) Download(ctx context.Context, account, mediaURL string) (body io.ReadCloser, contentType string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, mediaURL, nil)
	if err != nil {
		return nil, "", fmt.Errorf("twilio: download: %w", err)
	}
	req.SetBasicAuth(account, c.AuthToken)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("twilio: download: %w", err)
	}
	if res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusGone {
		res.Body.Close()
		return nil, "", fmt.Errorf("%w: %s", ErrMediaGone, res.Status)
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, "", fmt.Errorf("twilio: download: %s", res.Status)
	}
	return res.Body, res.Header.Get("Content-Type"), nil
}
