package twilio

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/buzon/buzon/events"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var received = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

const (
	account   = "ACae5f7a0c3b3d4b7e9a1f2c3d4e5f6a7b"
	mediaBase = "https://api.twilio.com/2010-04-01/Accounts/" + account + "/Messages/"
)

var business = events.Line{Address: "+14155238886", Display: "14155238886", Account: account}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func msg(m events.Message) events.Inbound {
	m.Line, m.From = business, "5215512345678"
	return events.Inbound{Kind: events.KindMessage, Provider: events.ProviderTwilio, ReceivedAt: received, Message: &m}
}

func st(s events.Status) events.Inbound {
	s.Line, s.RecipientID = business, "5215512345678"
	return events.Inbound{Kind: events.KindStatus, Provider: events.ProviderTwilio, ReceivedAt: received, Status: &s}
}

// Raw is checked by TestParseRaw.
var cmpOpts = cmp.Options{
	cmpopts.IgnoreFields(events.Message{}, "Raw"),
	cmpopts.IgnoreFields(events.Status{}, "Raw"),
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want events.Inbound
	}{
		{
			file: "inbound_text.txt",
			want: msg(events.Message{ID: "SMd0c2f6a1b2c3d4e5f60718293a4b5c6d", ProfileName: "Pablo Morales", Type: "text", Text: "Hola, ¿tienen envío a Querétaro? 🚚 50% off?"}),
		},
		{
			file: "inbound_media.txt",
			want: msg(events.Message{
				ID: "MM7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d", ProfileName: "Pablo Morales", Type: "image", Text: "fotos del pedido",
				Media:     &events.Media{URL: mediaBase + "MM7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d/Media/ME0f1e2d3c4b5a69788796a5b4c3d2e1f0", MimeType: "image/jpeg"},
				MoreMedia: []events.Media{{URL: mediaBase + "MM7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d/Media/ME1f1e2d3c4b5a69788796a5b4c3d2e1f1", MimeType: "image/png"}},
			}),
		},
		{
			file: "inbound_voice.txt",
			want: msg(events.Message{
				ID: "MM0a1b2c3d4e5f60718293a4b5c6d7e8f9", ProfileName: "Pablo Morales", Type: "audio",
				Media: &events.Media{URL: mediaBase + "MM0a1b2c3d4e5f60718293a4b5c6d7e8f9/Media/ME2a1b2c3d4e5f60718293a4b5c6d7e8f9", MimeType: "audio/ogg"},
			}),
		},
		{
			file: "inbound_location.txt",
			want: msg(events.Message{
				ID: "SM1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f", ProfileName: "Pablo Morales", Type: "location",
				Location: &events.Location{Latitude: 19.4326077, Longitude: -99.133208, Name: "Zócalo", Address: "Plaza de la Constitución, Centro, CDMX"},
			}),
		},
		{
			file: "inbound_button.txt",
			want: msg(events.Message{
				ID: "SM2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a", ProfileName: "Pablo Morales", Type: "button", Text: "Confirmar",
				Reply:   &events.Reply{Kind: "button", Title: "Confirmar", Payload: "CONFIRM_ORDER_42"},
				Context: &events.Context{MessageID: "SM9f8e7d6c5b4a39281706f5e4d3c2b1a0", From: "14155238886"},
			}),
		},
		{
			file: "inbound_interactive.txt",
			want: msg(events.Message{
				ID: "SM3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b", ProfileName: "Pablo Morales", Type: "interactive", Text: "Sí, por favor",
				Reply:   &events.Reply{Kind: "button_reply", Title: "Sí, por favor", Payload: "yes"},
				Context: &events.Context{MessageID: "SM8e7d6c5b4a39281706f5e4d3c2b1a0f9", From: "14155238886"},
			}),
		},
		{
			file: "inbound_referral.txt",
			want: msg(events.Message{
				ID: "SM4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c", ProfileName: "Pablo Morales", Type: "text", Text: "Vi su anuncio",
				Context: &events.Context{Forwarded: true},
				Referral: &events.Referral{
					SourceURL: "https://fb.me/3cr4Wqqkv", SourceID: "120226305854810726", SourceType: "ad",
					Headline: "Escríbenos", Body: "Rebajas de verano", CtwaClid: "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0",
				},
			}),
		},
		{
			file: "inbound_unknown.txt",
			want: msg(events.Message{ID: "SM5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d", ProfileName: "Pablo Morales", Type: "poll", Unsupported: true}),
		},
		{
			file: "status_sent.txt",
			want: st(events.Status{MessageID: "SM6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e", Status: "sent"}),
		},
		{
			file: "status_delivered.txt",
			want: st(events.Status{MessageID: "SM6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e", Status: "delivered"}),
		},
		{
			file: "status_read.txt",
			want: st(events.Status{MessageID: "SM6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e", Status: "read"}),
		},
		{
			file: "status_undelivered.txt",
			want: st(events.Status{
				MessageID: "SM7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f", Status: "failed",
				Errors: []events.ProviderError{{Code: 63016, Message: "Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template."}},
			}),
		},
		{
			file: "status_failed.txt",
			want: st(events.Status{
				MessageID: "SM8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a", Status: "failed",
				Errors: []events.ProviderError{{Code: 63003, Message: "Channel could not find To address"}},
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			form, err := url.ParseQuery(string(readFixture(t, tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			got := Parse(form, received)
			if diff := cmp.Diff(tt.want, got, cmpOpts); diff != "" {
				t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseRaw checks that Raw keeps the whole form, repeated media included.
func TestParseRaw(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			form, err := url.ParseQuery(string(readFixture(t, filepath.Base(f))))
			if err != nil {
				t.Fatal(err)
			}
			in := Parse(form, received)
			var raw json.RawMessage
			if in.Message != nil {
				raw = in.Message.Raw
			} else {
				raw = in.Status.Raw
			}
			var got url.Values
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("Raw is not a JSON form: %v", err)
			}
			if diff := cmp.Diff(form, got); diff != "" {
				t.Errorf("Raw mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseEdgeCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		form string
		want events.Inbound
	}{
		{
			name: "no MessageType, media: type from content type, From used without WaId",
			form: "MessageSid=MM1&From=whatsapp:%2B5215512345678&To=whatsapp:%2B14155238886&NumMedia=1&MediaUrl0=https://x/1&MediaContentType0=application/pdf&Body=",
			want: msg(events.Message{ID: "MM1", Type: "document", Media: &events.Media{URL: "https://x/1", MimeType: "application/pdf"}}),
		},
		{
			name: "no MessageType, location",
			form: "MessageSid=SM1&From=whatsapp:%2B5215512345678&To=whatsapp:%2B14155238886&SmsStatus=received&Latitude=1.5&Longitude=2.5",
			want: msg(events.Message{ID: "SM1", Type: "location", Location: &events.Location{Latitude: 1.5, Longitude: 2.5}}),
		},
		{
			name: "unescaped plus decoded as a space, bad coordinates ignored",
			form: "MessageSid=SM1&From=whatsapp:+5215512345678&To=whatsapp:+14155238886&Body=hi&Latitude=NaN&Longitude=2",
			want: msg(events.Message{ID: "SM1", Type: "text", Text: "hi"}),
		},
		{
			name: "address without channel prefix or plus",
			form: "MessageSid=SM1&From=5215512345678&To=14155238886&Body=hi&AccountSid=" + account,
			want: msg(events.Message{ID: "SM1", Type: "text", Text: "hi"}),
		},
		{
			name: "MessageStatus received is an inbound message",
			form: "MessageSid=SM1&From=whatsapp:%2B5215512345678&To=whatsapp:%2B14155238886&MessageStatus=received&AccountSid=" + account,
			want: msg(events.Message{ID: "SM1", Type: "text"}),
		},
		{
			name: "status with a non-numeric error code keeps it",
			form: "MessageSid=SM1&From=whatsapp:%2B14155238886&To=whatsapp:%2B5215512345678&MessageStatus=failed&ErrorCode=abc&AccountSid=" + account,
			want: st(events.Status{MessageID: "SM1", Status: "failed", Errors: []events.ProviderError{{Details: "ErrorCode abc"}}}),
		},
		{
			name: "status other values pass through",
			form: "MessageSid=SM1&From=whatsapp:%2B14155238886&To=whatsapp:%2B5215512345678&MessageStatus=Queued&ErrorCode=0&AccountSid=" + account,
			want: st(events.Status{MessageID: "SM1", Status: "queued"}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			form, err := url.ParseQuery(tt.form)
			if err != nil {
				t.Fatal(err)
			}
			got := Parse(form, received)
			want := tt.want
			if !strings.Contains(tt.form, "AccountSid") {
				want.Message.Line.Account = ""
			}
			if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
				t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseMalformed covers signed forms that are not a message or status Buzón can apply:
// each becomes one malformed item with the reason and the whole form, never a refusal.
func TestParseMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		form   string
		reason string
	}{
		{name: "empty", form: "", reason: "MessageSid missing"},
		{name: "no MessageSid", form: "From=whatsapp:%2B1&To=whatsapp:%2B2&Body=hi", reason: "MessageSid missing"},
		{name: "no From", form: "MessageSid=SM1&To=whatsapp:%2B2&Body=hi", reason: "From missing"},
		{name: "From without a number", form: "MessageSid=SM1&From=whatsapp:%2B&To=whatsapp:%2B2&Body=hi", reason: "From missing"},
		{name: "message without To: no business number", form: "MessageSid=SM1&From=whatsapp:%2B1&Body=hi", reason: "no business number: To missing"},
		{name: "status without From: no business number", form: "MessageSid=SM1&To=whatsapp:%2B1&MessageStatus=sent", reason: "no business number: From missing"},
		{name: "status without To", form: "MessageSid=SM1&From=whatsapp:%2B1&MessageStatus=sent", reason: "To missing"},
		{name: "neither kind", form: "MessageSid=SM1&From=whatsapp:%2B1&To=whatsapp:%2B2&AccountSid=AC1", reason: "neither"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			form, err := url.ParseQuery(tt.form)
			if err != nil {
				t.Fatal(err)
			}
			got := Parse(form, received)
			if got.Kind != events.KindMalformed || got.Malformed == nil || got.Message != nil || got.Status != nil {
				t.Fatalf("Parse() = %+v, want only a malformed item", got)
			}
			if !strings.HasPrefix(got.Malformed.Reason, ErrInvalid.Error()) || !strings.Contains(got.Malformed.Reason, tt.reason) {
				t.Errorf("reason %q does not give %q", got.Malformed.Reason, tt.reason)
			}
			var kept url.Values
			if err := json.Unmarshal(got.Malformed.Raw, &kept); err != nil {
				t.Fatalf("raw %s: %v", got.Malformed.Raw, err)
			}
			if diff := cmp.Diff(form, kept, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("raw is not the form (-want +got):\n%s", diff)
			}
			if got.Provider != events.ProviderTwilio || !got.ReceivedAt.Equal(received) {
				t.Errorf("provider %q, received %v", got.Provider, got.ReceivedAt)
			}
		})
	}
}
