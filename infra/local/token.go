package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/buzon/buzon/shared/idtoken"
	"github.com/buzon/buzon/shared/inbox"
)

// ErrUnauthorized reports a bearer token the local JWT authorizer rejects.
var ErrUnauthorized = errors.New("local: unauthorized")

// Local tokens stand in for Cognito ID tokens: the same claims the API reads, signed with
// HS256 and a local key instead of Cognito's RS256 keys.
const (
	tokenIssuer   = "buzon-local"
	tokenAudience = "buzon-local-console"
	tokenLifetime = 12 * time.Hour
)

// tokens signs and checks local JWTs the way API Gateway's JWT authorizer checks Cognito's:
// signature, exp (required), nbf and iat, issuer and audience.
type tokens struct {
	key []byte
	now func() time.Time
}

func newTokens(key []byte, now func() time.Time) *tokens { return &tokens{key: key, now: now} }

// jwksPath is where the gateway publishes the signing key, as Cognito publishes a pool's at
// {issuer}/.well-known/jwks.json: the WebSocket authorizer (shared/idtoken) reads it there.
const jwksPath = "/local/jwks.json"

// JWKS is the key set of the local issuer: one symmetric ("oct") key for HS256.
func (t *tokens) JWKS() map[string]any {
	return map[string]any{"keys": []map[string]string{{"kty": "oct", "alg": "HS256", "use": "sig", "kid": "local",
		"k": base64.RawURLEncoding.EncodeToString(t.key)}}}
}

// Issue returns a token for u carrying the claims a Cognito ID token of the user pool has.
func (t *tokens) Issue(u *inbox.User) (string, error) {
	now := t.now()
	return t.sign(map[string]any{
		"sub":            u.ID,
		"email":          u.Email,
		"email_verified": true,
		"custom:org_id":  u.OrgID,
		"name":           u.Name,
		"iss":            tokenIssuer,
		"aud":            tokenAudience,
		"token_use":      "id",
		"auth_time":      now.Unix(),
		"iat":            now.Unix(),
		"exp":            now.Add(tokenLifetime).Unix(),
	})
}

func (t *tokens) sign(claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(payload)
	return signing + "." + enc.EncodeToString(t.mac(signing)), nil
}

func (t *tokens) mac(signing string) []byte {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte(signing))
	return m.Sum(nil)
}

// authorization is what API Gateway's JWT authorizer passes on in
// requestContext.authorizer.jwt.
type authorization struct {
	Claims map[string]string
	Scopes []string
}

// Check verifies the Authorization header's value ("Bearer <jwt>" or the bare token, as API
// Gateway accepts both) and returns the token's claims as API Gateway presents them: every
// claim as a string, scopes from the scope claim. Failures wrap ErrUnauthorized.
func (t *tokens) Check(header string) (authorization, error) {
	raw := strings.TrimSpace(header)
	if len(raw) > 7 && strings.EqualFold(raw[:7], "bearer ") {
		raw = strings.TrimSpace(raw[7:])
	}
	if raw == "" {
		return authorization{}, fmt.Errorf("%w: no token", ErrUnauthorized)
	}
	tok, err := idtoken.Parse(raw)
	if err != nil {
		return authorization{}, fmt.Errorf("%w: %v", ErrUnauthorized, err)
	}
	if tok.Alg != "HS256" {
		return authorization{}, fmt.Errorf("%w: alg %q", ErrUnauthorized, tok.Alg)
	}
	if !hmac.Equal(tok.Sig, t.mac(string(tok.Signed))) {
		return authorization{}, fmt.Errorf("%w: bad signature", ErrUnauthorized)
	}
	claims := tok.Claims
	if err := t.checkClaims(claims); err != nil {
		return authorization{}, err
	}
	a := authorization{Claims: make(map[string]string, len(claims))}
	for k, v := range claims {
		a.Claims[k] = claimString(v)
	}
	for _, name := range []string{"scope", "scp"} {
		if s, ok := claims[name].(string); ok {
			a.Scopes = strings.Fields(s)
			break
		}
	}
	return a, nil
}

func (t *tokens) checkClaims(c map[string]any) error {
	now := t.now().Unix()
	exp, ok := idtoken.NumericDate(c["exp"])
	if !ok {
		return fmt.Errorf("%w: no exp", ErrUnauthorized)
	}
	if now >= exp {
		return fmt.Errorf("%w: expired", ErrUnauthorized)
	}
	for _, name := range []string{"nbf", "iat"} {
		if v, present := c[name]; present {
			if at, ok := idtoken.NumericDate(v); !ok || at > now {
				return fmt.Errorf("%w: %s in the future", ErrUnauthorized, name)
			}
		}
	}
	if c["iss"] != tokenIssuer {
		return fmt.Errorf("%w: issuer %v", ErrUnauthorized, c["iss"])
	}
	// Like API Gateway: aud must name the client, or, for access tokens, client_id.
	if !slices.Contains(idtoken.Audiences(c["aud"]), tokenAudience) && c["client_id"] != tokenAudience {
		return fmt.Errorf("%w: audience %v", ErrUnauthorized, c["aud"])
	}
	return nil
}

// claimString renders a claim the way API Gateway puts it in the claims map: strings as they
// are, numbers and booleans as their JSON text, arrays as "[a b]".
func claimString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case []any:
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = claimString(e)
		}
		return "[" + strings.Join(s, " ") + "]"
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}
