package meta

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
)

// Digests of testdata/non_ascii.json, computed independently (Python hmac) over the file's
// bytes, which carry Meta's \uXXXX and \/ escapes.
const (
	fixtureSecret   = "fixture-app-secret"
	fixtureDigest   = "ce85019ce71cf5f7584c405e58fafb1c0124a0305e20701200d4f6d66829b189"
	otherSecret     = "other-app-secret"
	otherAppDigest  = "888f6fb0549809ac05e5297f66a0af6f460815f32a63dba81be259d42c3ad585"
	nonASCIIFixture = "testdata/non_ascii.json"
)

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile(nonASCIIFixture)
	if err != nil {
		t.Fatal(err)
	}
	// Re-serialising the parsed payload unescapes it: same data, different bytes.
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	reserialised, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	tampered := []byte(strings.Replace(string(body), `Ol\u00e1`, `Ol\u00e0`, 1))

	good := signaturePrefix + fixtureDigest
	tests := []struct {
		name    string
		body    []byte
		header  string
		secrets [][]byte
		want    error
	}{
		{name: "valid", body: body, header: good, secrets: [][]byte{[]byte(fixtureSecret)}},
		{name: "valid, upper-case hex", body: body, header: signaturePrefix + strings.ToUpper(fixtureDigest), secrets: [][]byte{[]byte(fixtureSecret)}},
		{name: "valid, surrounding space", body: body, header: " " + good + " ", secrets: [][]byte{[]byte(fixtureSecret)}},
		{name: "second of several apps", body: body, header: signaturePrefix + otherAppDigest, secrets: [][]byte{[]byte(fixtureSecret), nil, []byte(otherSecret)}},
		{name: "missing header", body: body, header: "", secrets: [][]byte{[]byte(fixtureSecret)}, want: ErrMissingSignature},
		{name: "blank header", body: body, header: "  ", secrets: [][]byte{[]byte(fixtureSecret)}, want: ErrMissingSignature},
		{name: "sha1 header refused", body: body, header: "sha1=" + fixtureDigest[:40], secrets: [][]byte{[]byte(fixtureSecret)}, want: ErrBadSignature},
		{name: "no prefix", body: body, header: fixtureDigest, secrets: [][]byte{[]byte(fixtureSecret)}, want: ErrBadSignature},
		{name: "bad hex", body: body, header: signaturePrefix + "zz" + fixtureDigest[2:], secrets: [][]byte{[]byte(fixtureSecret)}, want: ErrBadSignature},
		{name: "truncated digest", body: body, header: good[:len(good)-2], secrets: [][]byte{[]byte(fixtureSecret)}, want: ErrBadSignature},
		{name: "wrong secret", body: body, header: good, secrets: [][]byte{[]byte(otherSecret)}, want: ErrBadSignature},
		{name: "re-serialised body", body: reserialised, header: good, secrets: [][]byte{[]byte(fixtureSecret)}, want: ErrBadSignature},
		{name: "tampered body", body: tampered, header: good, secrets: [][]byte{[]byte(fixtureSecret)}, want: ErrBadSignature},
		{name: "no secrets", body: body, header: good, want: ErrNoSecret},
		{name: "only empty secrets", body: body, header: good, secrets: [][]byte{nil, {}}, want: ErrNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := VerifySignature(tt.body, tt.header, tt.secrets...)
			if tt.want == nil && err != nil {
				t.Fatalf("VerifySignature() = %v, want nil", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("VerifySignature() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		query  string
		token  string
		want   string
		wantOK bool
	}{
		{name: "ok", query: "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=s3cret", token: "s3cret", want: "1158201444", wantOK: true},
		{name: "challenge echoed verbatim", query: "hub.mode=subscribe&hub.challenge=%20abc%2Bdef%3C%3E&hub.verify_token=s3cret", token: "s3cret", want: " abc+def<>", wantOK: true},
		{name: "wrong token", query: "hub.mode=subscribe&hub.challenge=1&hub.verify_token=guess", token: "s3cret"},
		{name: "token prefix", query: "hub.mode=subscribe&hub.challenge=1&hub.verify_token=s3cre", token: "s3cret"},
		{name: "wrong mode", query: "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=s3cret", token: "s3cret"},
		{name: "no mode", query: "hub.challenge=1&hub.verify_token=s3cret", token: "s3cret"},
		{name: "no challenge", query: "hub.mode=subscribe&hub.verify_token=s3cret", token: "s3cret"},
		{name: "no token sent", query: "hub.mode=subscribe&hub.challenge=1", token: "s3cret"},
		{name: "empty configured token", query: "hub.mode=subscribe&hub.challenge=1&hub.verify_token=", token: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := Handshake(q, tt.token)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Handshake() = %q, %v, want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
