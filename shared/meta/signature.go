package meta

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
)

// signaturePrefix starts the X-Hub-Signature-256 value. The older X-Hub-Signature header
// ("sha1=…") is never accepted in its place.
const signaturePrefix = "sha256="

// VerifySignature checks header, the X-Hub-Signature-256 value "sha256=<hex>", against the
// HMAC-SHA256 of body under each of secrets (one per Meta app subscribed to the webhook) and
// returns nil when any of them matches.
//
// body must be the request bytes exactly as received: Meta signs its escaped JSON (non-ASCII
// as \uXXXX, "/" as "\/"), so a re-serialised payload does not verify. Empty secrets are
// skipped; with none left VerifySignature returns ErrNoSecret. A missing header is
// ErrMissingSignature; a malformed or non-matching one is ErrBadSignature. Digests are
// compared in constant time.
func VerifySignature(body []byte, header string, secrets ...[]byte) error {
	usable := 0
	for _, s := range secrets {
		if len(s) > 0 {
			usable++
		}
	}
	if usable == 0 {
		return ErrNoSecret
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return ErrMissingSignature
	}
	if len(header) < len(signaturePrefix) || !strings.EqualFold(header[:len(signaturePrefix)], signaturePrefix) {
		return fmt.Errorf("%w: not a %s digest", ErrBadSignature, signaturePrefix)
	}
	got, err := hex.DecodeString(header[len(signaturePrefix):])
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: malformed digest", ErrBadSignature)
	}
	for _, s := range secrets {
		if len(s) == 0 {
			continue
		}
		mac := hmac.New(sha256.New, s)
		mac.Write(body)
		if hmac.Equal(mac.Sum(nil), got) {
			return nil
		}
	}
	return ErrBadSignature
}

// Handshake answers Meta's subscription check (GET with hub.mode, hub.verify_token and
// hub.challenge). It reports ok when hub.mode is "subscribe" and hub.verify_token equals
// verifyToken, and then returns hub.challenge verbatim, to be sent back as a plain-text 200
// body. Anything else, including an empty configured verifyToken or a missing challenge, is
// not ok (answer 403). Tokens are compared in constant time, lengths included.
func Handshake(q url.Values, verifyToken string) (challenge string, ok bool) {
	if verifyToken == "" || q.Get("hub.mode") != "subscribe" {
		return "", false
	}
	challenge = q.Get("hub.challenge")
	if challenge == "" {
		return "", false
	}
	// Hashing first makes the comparison independent of the tokens' lengths.
	got := sha256.Sum256([]byte(q.Get("hub.verify_token")))
	want := sha256.Sum256([]byte(verifyToken))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return "", false
	}
	return challenge, true
}
