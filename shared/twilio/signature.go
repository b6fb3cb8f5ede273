package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// VerifySignature checks signature, the X-Twilio-Signature header, of a webhook Twilio sent
// to fullURL with the POST parameters form, under authToken (of the account or subaccount
// that owns the number). It returns nil on a match.
//
// fullURL is the public URL Twilio called: scheme, host, port if any, path and the raw query
// exactly as configured; behind API Gateway rebuild it from the Host header, not the
// internal URL. form holds only the POST body parameters, never the query (pass nil for a GET
// webhook, whose parameters are already in the URL).
//
// The signed string is fullURL followed by every parameter name and value, names sorted in
// byte order and, for a repeated name, its values sorted too; the signature is its Base64
// HMAC-SHA1. Because Twilio's own URL generation varies, the URL is tried as given, with the
// scheme's default port added when it has none, and with its port removed when it has one.
// Signatures are compared in constant time.
func VerifySignature(fullURL string, form url.Values, signature, authToken string) error {
	if authToken == "" {
		return ErrNoAuthToken
	}
	signature = strings.TrimSpace(signature)
	if signature == "" {
		return ErrMissingSignature
	}
	params := signedParams(form)
	for _, u := range urlForms(fullURL) {
		if hmac.Equal([]byte(sign(authToken, u+params)), []byte(signature)) {
			return nil
		}
	}
	return ErrBadSignature
}

// VerifyBodySignature checks a Twilio webhook that carries a JSON body (not Messaging; e.g.
// some event streams): Twilio adds bodySHA256=<hex SHA-256 of the body> to the URL and signs
// the URL alone. Both the URL signature and the body hash must match.
func VerifyBodySignature(fullURL string, body []byte, signature, authToken string) error {
	if err := VerifySignature(fullURL, nil, signature, authToken); err != nil {
		return err
	}
	u, err := url.Parse(fullURL)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	want, err := hex.DecodeString(u.Query().Get("bodySHA256"))
	if err != nil || len(want) != sha256.Size {
		return fmt.Errorf("%w: URL has no valid bodySHA256", ErrBadSignature)
	}
	got := sha256.Sum256(body)
	if !hmac.Equal(got[:], want) {
		return fmt.Errorf("%w: body does not match bodySHA256", ErrBadSignature)
	}
	return nil
}

// sign returns the Base64 HMAC-SHA1 of s under token.
func sign(token, s string) string {
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// signedParams concatenates form as Twilio signs it: names sorted, then each name's values
// sorted, name and value appended with no separator. Sorting on name+value instead is a known
// SDK bug (twilio-go#139) that breaks when one name prefixes another (Reason,
// ReasonConferenceEnded).
func signedParams(form url.Values) string {
	names := make([]string, 0, len(form))
	for name := range form {
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, name := range names {
		values := slices.Clone(form[name])
		slices.Sort(values)
		for _, v := range values {
			b.WriteString(name)
			b.WriteString(v)
		}
	}
	return b.String()
}

// urlForms returns the URL variants a signature may have been computed on: as given, with
// the default port added (no port given), and without its port (a port given).
func urlForms(raw string) []string {
	forms := []string{raw}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return forms
	}
	host := u.Hostname()
	if strings.Contains(host, ":") { // IPv6 literal
		host = "[" + host + "]"
	}
	if u.Port() != "" {
		u.Host = host
		return append(forms, u.String())
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		u.Host = net.JoinHostPort(u.Hostname(), "443")
	case "http":
		u.Host = net.JoinHostPort(u.Hostname(), "80")
	default:
		return forms
	}
	return append(forms, u.String())
}
