package idtoken

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var enc = base64.RawURLEncoding

func sign(t testing.TB, head map[string]any, claims map[string]any, rsaKey *rsa.PrivateKey, hsKey []byte) string {
	t.Helper()
	h, _ := json.Marshal(head)
	c, _ := json.Marshal(claims)
	signing := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	var sig []byte
	switch head["alg"] {
	case "RS256":
		d := sha256.Sum256([]byte(signing))
		var err error
		if sig, err = rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, d[:]); err != nil {
			t.Fatal(err)
		}
	case "HS256":
		m := hmac.New(sha256.New, hsKey)
		m.Write([]byte(signing))
		sig = m.Sum(nil)
	}
	return signing + "." + enc.EncodeToString(sig)
}

// keyServer publishes a JSON Web Key Set, as Cognito does at {issuer}/.well-known/jwks.json,
// and counts its fetches.
func keyServer(t *testing.T, keys ...map[string]string) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestVerify(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaJWK := map[string]string{"kty": "RSA", "kid": "k1", "alg": "RS256", "n": enc.EncodeToString(key.N.Bytes()),
		"e": enc.EncodeToString(big.NewInt(int64(key.E)).Bytes())}
	srv, fetches := keyServer(t, rsaJWK)
	now := time.Unix(1_800_000_000, 0)
	v := New("https://issuer", "client", srv.URL, srv.Client(), func() time.Time { return now })
	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{"sub": "u1", "custom:org_id": "o1", "email": "a@b.c", "iss": "https://issuer", "aud": "client",
			"token_use": "id", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	rs := map[string]any{"alg": "RS256", "kid": "k1"}
	good := sign(t, rs, claims(nil), key, nil)
	got, err := v.Verify(context.Background(), good)
	if err != nil {
		t.Fatalf("Verify(good) = %v", err)
	}
	if diff := cmp.Diff(Claims{Subject: "u1", OrgID: "o1", Email: "a@b.c"}, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	access := sign(t, rs, claims(func(c map[string]any) { delete(c, "aud"); c["token_use"] = "access"; c["client_id"] = "client" }), key, nil)
	if _, err := v.Verify(context.Background(), access); err != nil {
		t.Errorf("an access token of the client: %v", err)
	}

	pub, _ := json.Marshal(rsaJWK)
	for name, tok := range map[string]string{
		"expired":           sign(t, rs, claims(func(c map[string]any) { c["exp"] = now.Unix() }), key, nil),
		"no exp":            sign(t, rs, claims(func(c map[string]any) { delete(c, "exp") }), key, nil),
		"issued later":      sign(t, rs, claims(func(c map[string]any) { c["iat"] = now.Add(time.Hour).Unix() }), key, nil),
		"other issuer":      sign(t, rs, claims(func(c map[string]any) { c["iss"] = "https://evil" }), key, nil),
		"other client":      sign(t, rs, claims(func(c map[string]any) { c["aud"] = "other" }), key, nil),
		"refresh token use": sign(t, rs, claims(func(c map[string]any) { c["token_use"] = "refresh" }), key, nil),
		"no token_use":      sign(t, rs, claims(func(c map[string]any) { delete(c, "token_use") }), key, nil),
		"other key":         sign(t, rs, claims(nil), other, nil),
		"unknown kid":       sign(t, map[string]any{"alg": "RS256", "kid": "k9"}, claims(nil), key, nil),
		"alg none":          enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString([]byte(`{"sub":"u1"}`)) + ".",
		// The classic confusion: HS256 with the RSA public key as the secret.
		"HS256 with the public key": sign(t, map[string]any{"alg": "HS256", "kid": "k1"}, claims(nil), nil, pub),
		"not a JWT":                 "abc",
		"empty":                     "",
	} {
		if _, err := v.Verify(context.Background(), tok); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Verify = %v, want ErrInvalid", name, err)
		}
	}
	if n := fetches.Load(); n > 2 {
		t.Errorf("fetched the keys %d times: an unknown kid refetches at most once a minute", n)
	}
}

func TestVerifyLocalSymmetricKey(t *testing.T) {
	t.Parallel()
	secret := []byte("local-key")
	srv, _ := keyServer(t, map[string]string{"kty": "oct", "kid": "local", "alg": "HS256", "k": enc.EncodeToString(secret)})
	now := time.Unix(1_800_000_000, 0)
	v := New("buzon-local", "console", srv.URL, srv.Client(), func() time.Time { return now })
	c := map[string]any{"sub": "u1", "custom:org_id": "o1", "iss": "buzon-local", "aud": "console", "token_use": "id", "exp": now.Add(time.Hour).Unix()}
	if _, err := v.Verify(context.Background(), sign(t, map[string]any{"alg": "HS256"}, c, nil, secret)); err != nil {
		t.Errorf("local token: %v", err)
	}
	if _, err := v.Verify(context.Background(), sign(t, map[string]any{"alg": "HS256"}, c, nil, []byte("guess"))); !errors.Is(err, ErrInvalid) {
		t.Errorf("forged local token: %v, want ErrInvalid", err)
	}
}

// FuzzVerify: no token, however malformed, crashes the verifier or passes without the key.
func FuzzVerify(f *testing.F) {
	secret := []byte("k")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "oct", "k": enc.EncodeToString(secret)}}})
	}))
	defer srv.Close()
	now := time.Unix(1_800_000_000, 0)
	v := New("i", "c", srv.URL, srv.Client(), func() time.Time { return now })
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.x")
	f.Add("a.b.c")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		if c, err := v.Verify(context.Background(), tok); err == nil {
			// Only a token signed with the key passes; the fuzzer cannot make one by chance.
			t.Fatalf("accepted %q: %+v", tok, c)
		}
	})
}
