package meta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ErrMediaGone reports a media id or download URL the Cloud API no longer serves (404):
// the media was deleted or is past Meta's retention, or the URL expired.
var ErrMediaGone = errors.New("meta: media no longer available")

// MediaInfo is the Graph API's answer for a media id: where to download it (with the bearer
// token, within five minutes) and what it is.
type MediaInfo struct {
	URL      string
	MimeType string
	SHA256   string
	Size     int64
}

// Media asks the Graph API for a media id's download URL: GET /{version}/{media-id}. Ask
// again for each download: the URL works for five minutes.
func (c *Client) Media(ctx context.Context, id string) (MediaInfo, error) {
	u := strings.TrimRight(c.BaseURL, "/") + "/" + url.PathEscape(c.Version) + "/" + url.PathEscape(id)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return MediaInfo{}, fmt.Errorf("meta: media %s: %w", id, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	res, err := c.httpClient().Do(req)
	if err != nil {
		return MediaInfo{}, fmt.Errorf("meta: media %s: %w", id, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	if err != nil {
		return MediaInfo{}, fmt.Errorf("meta: media %s: %w", id, err)
	}
	if res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusBadRequest && strings.Contains(string(raw), "does not exist") {
		return MediaInfo{}, fmt.Errorf("%w: media id %s: %s", ErrMediaGone, id, res.Status)
	}
	if res.StatusCode != http.StatusOK {
		return MediaInfo{}, fmt.Errorf("meta: media %s: %s", id, res.Status)
	}
	var w struct {
		URL      string          `json:"url"`
		MimeType string          `json:"mime_type"`
		SHA256   string          `json:"sha256"`
		FileSize json.RawMessage `json:"file_size"` // a string in the spec, a number in practice
	}
	if err := json.Unmarshal(raw, &w); err != nil || w.URL == "" {
		return MediaInfo{}, fmt.Errorf("meta: media %s: an answer without a url", id)
	}
	size, _ := strconv.ParseInt(strings.Trim(string(w.FileSize), `"`), 10, 64)
	return MediaInfo{URL: w.URL, MimeType: w.MimeType, SHA256: w.SHA256, Size: size}, nil
}

// Download opens a URL from Media with the bearer token Meta requires; the caller closes the
// body. An expired URL or deleted media is ErrMediaGone.
func (c *Client) Download(ctx context.Context, u string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("meta: download: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	res, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("meta: download: %w", err)
	}
	if res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusGone {
		res.Body.Close()
		return nil, fmt.Errorf("%w: download: %s", ErrMediaGone, res.Status)
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, fmt.Errorf("meta: download: %s", res.Status)
	}
	return res.Body, nil
}

// Upload sends a file to POST /{version}/{phone-number-id}/media and returns the media id a
// send names. The body is streamed as multipart without being held in memory.
func (c *Client) Upload(ctx context.Context, phoneNumberID, contentType, filename string, body io.Reader) (string, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := writeUpload(mw, contentType, filename, body)
		pw.CloseWithError(err)
	}()
	u := strings.TrimRight(c.BaseURL, "/") + "/" + url.PathEscape(c.Version) + "/" + url.PathEscape(phoneNumberID) + "/media"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, pr)
	if err != nil {
		pr.Close()
		return "", fmt.Errorf("meta: upload: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := c.httpClient().Do(req)
	if err != nil {
		pr.Close()
		return "", fmt.Errorf("meta: upload: %w", err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	if res.StatusCode != http.StatusOK {
		return "", parseError(res.StatusCode, raw)
	}
	var ok struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &ok); err != nil || ok.ID == "" {
		return "", fmt.Errorf("meta: upload: an answer without an id")
	}
	return ok.ID, nil
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}
