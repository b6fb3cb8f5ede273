package twilio

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// The published vectors of Twilio's SDK tests (docs/protocol.md#twilio), auth token "12345".
const (
	vectorToken = "12345"
	vectorURL   = "https://mycompany.com/myapp.php?foo=1&bar=2"
	vectorBody  = `{"property": "value", "boolean": true}`
	vectorHash  = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
)

func vectorParams() url.Values {
	return url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+14158675309"},
		"Digits":  {"1234"},
		"From":    {"+14158675309"},
		"To":      {"+18005551212"},
	}
}

func withReason() url.Values {
	v := vectorParams()
	v.Set("ReasonConferenceEnded", "test")
	v.Set("Reason", "Participant")
	return v
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	httpURL := strings.Replace(vectorURL, "https", "http", 1)
	fixtureText, err := url.ParseQuery(string(readFixture(t, "inbound_text.txt")))
	if err != nil {
		t.Fatal(err)
	}
	fixtureStatus, err := url.ParseQuery(string(readFixture(t, "status_undelivered.txt")))
	if err != nil {
		t.Fatal(err)
	}
	const hookURL = "https://hooks.buzon.example/twilio/whatsapp?tenant=acme"
	tests := []struct {
		name  string
		url   string
		form  url.Values
		sig   string
		token string
		want  error
	}{
		// Published vectors.
		{name: "vector", url: vectorURL, form: vectorParams(), sig: "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{name: "vector, signed with :443", url: vectorURL, form: vectorParams(), sig: "kvajT1Ptam85bY51eRf/AJRuM3w="},
		{name: "vector, URL given with :443", url: strings.Replace(vectorURL, ".com", ".com:443", 1), form: vectorParams(), sig: "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{name: "vector, URL given with other port, signed without", url: strings.Replace(vectorURL, ".com", ".com:1234", 1), form: vectorParams(), sig: "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{name: "vector, http signed with :80", url: httpURL, form: vectorParams(), sig: "0ZXoZLH/DfblKGATFgpif+LLRf4="},
		{name: "vector, http with :1234", url: strings.Replace(httpURL, ".com", ".com:1234", 1), form: vectorParams(), sig: "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="},
		{name: "prefix names sorted by name", url: vectorURL, form: withReason(), sig: "vOEb5UThFn24KEfnOFLQY2AE5FY="},
		{name: "prefix names, http", url: httpURL, form: withReason(), sig: "n2xBNyzSW7rfYStDtOFiFMv7qNo="},
		{name: "prefix names, name+value sorting refused", url: vectorURL, form: withReason(), sig: "95+Bu0JVPi0r/SsESZCVf0dWAjw=", want: ErrBadSignature},
		{name: "repeated names, values sorted", url: vectorURL, form: url.Values{"Sid": {"CA123"}, "SidAccount": {"AC123"}, "Digits": {"5678", "1234"}}, sig: "IK+Dwps556ElfBT0I3Rgjkr1wJU="},
		{name: "form body", url: vectorURL, form: url.Values{"property": {"value"}, "boolean": {"true"}}, sig: "NBdBDr/T/lgjI+tlgpXjKZQZs/k="},
		{name: "URL with bodySHA256", url: vectorURL + "&bodySHA256=" + vectorHash, sig: "a9nBmqA0ju/hNViExpshrM61xv4="},
		{name: "URL with only bodySHA256", url: "https://mycompany.com/myapp.php?bodySHA256=" + vectorHash, sig: "y77kIzt2vzLz71DgmJGsen2scGs="},
		// Our fixtures (UTF-8 values, query string kept), signed independently with Python.
		{name: "fixture text, non-ASCII body", url: hookURL, form: fixtureText, sig: "y9zBZDs8C2M1G+opOS/0J06YBiw=", token: "fixture-auth-token"},
		{name: "fixture status, URL given with :443", url: "https://hooks.buzon.example:443/twilio/whatsapp?tenant=acme", form: fixtureStatus, sig: "iVTwCeWoXuVXE+mzhf3BSpEvr2g=", token: "fixture-auth-token"},
		// Failures.
		{name: "query dropped", url: "https://hooks.buzon.example/twilio/whatsapp", form: fixtureText, sig: "y9zBZDs8C2M1G+opOS/0J06YBiw=", token: "fixture-auth-token", want: ErrBadSignature},
		{name: "wrong token", url: vectorURL, form: vectorParams(), sig: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", token: "54321", want: ErrBadSignature},
		{name: "extra parameter", url: vectorURL, form: withReason(), sig: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", want: ErrBadSignature},
		{name: "other host", url: "https://evil.example/myapp.php?foo=1&bar=2", form: vectorParams(), sig: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", want: ErrBadSignature},
		{name: "garbage signature", url: vectorURL, form: vectorParams(), sig: "WRONG SIGNATURE", want: ErrBadSignature},
		{name: "missing signature", url: vectorURL, form: vectorParams(), sig: "", want: ErrMissingSignature},
		{name: "no auth token", url: vectorURL, form: vectorParams(), sig: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", token: "-", want: ErrNoAuthToken},
		{name: "unparsable URL", url: "https://[::1/x", form: vectorParams(), sig: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", want: ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			token := tt.token
			switch token {
			case "":
				token = vectorToken
			case "-":
				token = ""
			}
			err := VerifySignature(tt.url, tt.form, tt.sig, token)
			if tt.want == nil && err != nil {
				t.Fatalf("VerifySignature() = %v, want nil", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("VerifySignature() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyBodySignature(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
		body string
		sig  string
		want error
	}{
		{name: "vector", url: vectorURL + "&bodySHA256=" + vectorHash, body: vectorBody, sig: "a9nBmqA0ju/hNViExpshrM61xv4="},
		{name: "vector, only bodySHA256", url: "https://mycompany.com/myapp.php?bodySHA256=" + vectorHash, body: vectorBody, sig: "y77kIzt2vzLz71DgmJGsen2scGs="},
		{name: "body changed", url: vectorURL + "&bodySHA256=" + vectorHash, body: vectorBody + " ", sig: "a9nBmqA0ju/hNViExpshrM61xv4=", want: ErrBadSignature},
		{name: "no bodySHA256", url: vectorURL, body: vectorBody, sig: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", want: ErrBadSignature},
		{name: "URL signature wrong", url: vectorURL + "&bodySHA256=" + vectorHash, body: vectorBody, sig: "y77kIzt2vzLz71DgmJGsen2scGs=", want: ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := VerifyBodySignature(tt.url, []byte(tt.body), tt.sig, vectorToken)
			if tt.want == nil && err != nil {
				t.Fatalf("VerifyBodySignature() = %v, want nil", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("VerifyBodySignature() = %v, want %v", err, tt.want)
			}
		})
	}
}
