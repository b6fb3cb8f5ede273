// Package idtoken verifies the user pool's tokens the way API Gateway's JWT authorizer does,
// for the WebSocket API's Lambda authorizer (browsers cannot send an Authorization header on
// a WebSocket, so the token comes in the query): signature against the issuer's JSON Web Key
// Set, exp (required), nbf and iat, iss, the app client (aud of an ID token, client_id of an
// access token) and token_use. Cognito signs with RS256; the local stand-in signs HS256 with
// a symmetric ("oct") key it publishes the same way. The algorithm must fit the key's type,
// so an RSA public key is never used as an HMAC secret.
package idtoken

import (
	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrInvalid reports a token that is refused; the wrapped text says why (never the token).
var ErrInvalid = errors.New("idtoken: invalid token")

// Claims are what Buzón reads from a verified token.
type Claims struct {
	Subject string
	OrgID   string // custom:org_id
	Email   string
}

// Verifier checks tokens of one issuer and app client. Safe for concurrent use.
type Verifier struct {
	issuer, clientID, jwksURL string
	client                    *http.Client
	now                       func() time.Time

	mu      sync.Mutex
	keys    []jwk
	fetched time.Time
}

// New returns a verifier of tokens issued by issuer for clientID, whose keys are at jwksURL.
func New(issuer, clientID, jwksURL string, client *http.Client, now func() time.Time) *Verifier {
	return &Verifier{issuer: issuer, clientID: clientID, jwksURL: jwksURL, client: client, now: now}
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	K   string `json:"k"`
}

// Token is a JWT's parts, decoded and not verified.
type Token struct {
	Alg, Kid string
	Signed   []byte         // header.payload: what the signature covers
	Sig      []byte         // the signature
	Claims   map[string]any // numbers as json.Number
}

// Parse decodes raw, a compact JWS; a malformed one wraps ErrInvalid. It verifies nothing.
func Parse(raw string) (Token, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return Token{}, fmt.Errorf("%w: not a JWT", ErrInvalid)
	}
	enc := base64.RawURLEncoding
	var head struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if b, err := enc.DecodeString(parts[0]); err != nil || json.Unmarshal(b, &head) != nil {
		return Token{}, fmt.Errorf("%w: bad header", ErrInvalid)
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		return Token{}, fmt.Errorf("%w: bad signature encoding", ErrInvalid)
	}
	payload, err := enc.DecodeString(parts[1])
	if err != nil {
		return Token{}, fmt.Errorf("%w: bad payload", ErrInvalid)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var c map[string]any
	if err := dec.Decode(&c); err != nil {
		return Token{}, fmt.Errorf("%w: bad payload", ErrInvalid)
	}
	return Token{Alg: head.Alg, Kid: head.Kid, Signed: []byte(parts[0] + "." + parts[1]), Sig: sig, Claims: c}, nil
}

// Verify checks raw and returns its claims; a refusal wraps ErrInvalid.
func (v *Verifier) Verify(ctx context.Context, raw string) (Claims, error) {
	t, err := Parse(raw)
	if err != nil {
		return Claims{}, err
	}
	k, err := v.key(ctx, t.Kid, t.Alg)
	if err != nil {
		return Claims{}, err
	}
	if err := check(k, t.Alg, t.Signed, t.Sig); err != nil {
		return Claims{}, err
	}
	return v.claims(t.Claims)
}

func (v *Verifier) claims(c map[string]any) (Claims, error) {
	now := v.now().Unix()
	exp, ok := NumericDate(c["exp"])
	if !ok {
		return Claims{}, fmt.Errorf("%w: no exp", ErrInvalid)
	}
	if now >= exp {
		return Claims{}, fmt.Errorf("%w: expired", ErrInvalid)
	}
	for _, name := range []string{"nbf", "iat"} {
		if raw, present := c[name]; present {
			if at, ok := NumericDate(raw); !ok || at > now+60 { // a minute of clock skew
				return Claims{}, fmt.Errorf("%w: %s in the future", ErrInvalid, name)
			}
		}
	}
	if c["iss"] != v.issuer {
		return Claims{}, fmt.Errorf("%w: other issuer", ErrInvalid)
	}
	switch c["token_use"] {
	case "id":
		if !slices.Contains(Audiences(c["aud"]), v.clientID) {
			return Claims{}, fmt.Errorf("%w: other audience", ErrInvalid)
		}
	case "access":
		if c["client_id"] != v.clientID {
			return Claims{}, fmt.Errorf("%w: other client", ErrInvalid)
		}
	default:
		return Claims{}, fmt.Errorf("%w: token_use is not id or access", ErrInvalid)
	}
	sub, _ := c["sub"].(string)
	org, _ := c["custom:org_id"].(string)
	email, _ := c["email"].(string)
	if sub == "" {
		return Claims{}, fmt.Errorf("%w: no sub", ErrInvalid)
	}
	return Claims{Subject: sub, OrgID: org, Email: email}, nil
}

// key finds the key for kid (any key of the algorithm's type when the token names none),
// refetching the set at most once a minute when kid is unknown (keys rotate).
func (v *Verifier) key(ctx context.Context, kid, alg string) (jwk, error) {
	want := map[string]string{"RS256": "RSA", "HS256": "oct"}[alg]
	if want == "" {
		return jwk{}, fmt.Errorf("%w: alg %q", ErrInvalid, alg)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for attempt := 0; attempt < 2; attempt++ {
		for _, k := range v.keys {
			if k.Kty == want && (kid == "" || k.Kid == kid) {
				return k, nil
			}
		}
		if attempt == 1 || (!v.fetched.IsZero() && v.now().Sub(v.fetched) < time.Minute) {
			break
		}
		keys, err := v.fetch(ctx)
		if err != nil {
			return jwk{}, err
		}
		v.keys, v.fetched = keys, v.now()
	}
	return jwk{}, fmt.Errorf("%w: no key %q", ErrInvalid, kid)
}

func (v *Verifier) fetch(ctx context.Context) ([]jwk, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.jwksURL, nil)
	if err != nil {
		return nil, fmt.Errorf("idtoken: keys: %w", err)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("idtoken: keys: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("idtoken: keys: %s", resp.Status)
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("idtoken: keys: %w", err)
	}
	return set.Keys, nil
}

func check(k jwk, alg string, signed, sig []byte) error {
	enc := base64.RawURLEncoding
	switch alg {
	case "HS256":
		secret, err := enc.DecodeString(k.K)
		if err != nil {
			return fmt.Errorf("%w: bad key", ErrInvalid)
		}
		m := hmac.New(sha256.New, secret)
		m.Write(signed)
		if !hmac.Equal(sig, m.Sum(nil)) {
			return fmt.Errorf("%w: bad signature", ErrInvalid)
		}
		return nil
	case "RS256":
		n, err1 := enc.DecodeString(k.N)
		e, err2 := enc.DecodeString(k.E)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("%w: bad key", ErrInvalid)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		h := sha256.Sum256(signed)
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) != nil {
			return fmt.Errorf("%w: bad signature", ErrInvalid)
		}
		return nil
	}
	return fmt.Errorf("%w: alg %q", ErrInvalid, alg)
}

// NumericDate reads a JWT NumericDate claim (seconds since the epoch, as json.Number).
func NumericDate(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	f, err := n.Float64()
	return int64(f), err == nil
}

// Audiences reads the aud claim: one string or a list of them.
func Audiences(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
