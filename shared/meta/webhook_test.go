package meta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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

// Lines of the fixtures.
var (
	lineA = events.Line{Address: "106540352242922", Display: "15550783881", Account: "102290129340398"}
	lineB = events.Line{Address: "106540352242923", Display: "15550783882", Account: "102290129340398"}
	lineC = events.Line{Address: "307651463353033", Display: "34910000000", Account: "203391230451509"}
)

func unix(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

func msg(m events.Message) events.Inbound {
	return events.Inbound{Kind: events.KindMessage, Provider: events.ProviderMeta, ReceivedAt: received, Message: &m}
}

func st(s events.Status) events.Inbound {
	return events.Inbound{Kind: events.KindStatus, Provider: events.ProviderMeta, ReceivedAt: received, Status: &s}
}

func tmpl(s events.TemplateStatus) events.Inbound {
	return events.Inbound{Kind: events.KindTemplateStatus, Provider: events.ProviderMeta, ReceivedAt: received, Template: &s}
}

func other(o events.Other) events.Inbound {
	return events.Inbound{Kind: events.KindOther, Provider: events.ProviderMeta, ReceivedAt: received, Other: &o}
}

// cmpOpts compares embedded JSON by value and leaves the per-item Raw copies to
// TestParseRaw, which checks them against the delivery's bytes.
var cmpOpts = cmp.Options{
	cmp.Transformer("json", func(r json.RawMessage) any {
		var v any
		if err := json.Unmarshal(r, &v); err != nil {
			return "invalid JSON: " + string(r)
		}
		return v
	}),
	cmpopts.IgnoreFields(events.Message{}, "Raw"),
	cmpopts.IgnoreFields(events.Status{}, "Raw"),
	cmpopts.IgnoreFields(events.TemplateStatus{}, "Raw"),
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParse(t *testing.T) {
	t.Parallel()
	sheena := func(m events.Message) events.Message {
		m.Line, m.From, m.ProfileName = lineA, "16505551234", "Sheena Nelson"
		return m
	}
	tests := []struct {
		name string
		file string
		want []events.Inbound
	}{
		{
			name: "several entries, changes, numbers",
			file: "multi_entry.json",
			want: []events.Inbound{
				msg(events.Message{
					ID: "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=", Line: lineA,
					From: "16505551234", ProfileName: "Sheena Nelson", Timestamp: unix(1749416383),
					Type: "text", Text: "Does it come in another color?",
				}),
				msg(events.Message{
					ID: "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABIYFDNBQjQ4NjYwMDIyNEMxODBCMDQ5AA==", Line: lineA,
					From: "5215512345678", ProfileName: "Pablo Morales", Timestamp: unix(1749416390),
					Type: "text", Text: "Hola, quiero hacer un pedido",
				}),
				st(events.Status{
					MessageID: "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI3QkE2QzQ3RkMwMjk2MjRGRjAA", Line: lineB,
					RecipientID: "16505551234", Status: "delivered", Timestamp: unix(1749416400),
				}),
				msg(events.Message{
					ID: "wamid.HBgLMzQ2MDAxMTEyMjIVAgASGBQzQUY1QjI4RjQ3NkYzQ0U3RDE3OQA=", Line: lineC,
					From: "34600111222", ProfileName: "Lucía", Timestamp: unix(1749416500),
					Type: "text", Text: "¿Abrís el sábado?",
				}),
				st(events.Status{
					MessageID: "wamid.HBgLMzQ2MDAxMTEyMjIVAgARGBIzRDhBN0I1QjJDMDg3QTc4MUQA", Line: lineC,
					RecipientID: "34600111222", Status: "read", Timestamp: unix(1749416501),
				}),
			},
		},
		{
			name: "every message type",
			file: "all_types.json",
			want: []events.Inbound{
				msg(sheena(events.Message{ID: "wamid.text", Timestamp: unix(1750000001), Type: "text", Text: "Hi, is the store open today?"})),
				msg(sheena(events.Message{
					ID: "wamid.text-reply", Timestamp: unix(1750000002), Type: "text", Text: "Yes, that one",
					Context: &events.Context{MessageID: "wamid.business-message", From: "15550783881"},
				})),
				msg(sheena(events.Message{
					ID: "wamid.image", Timestamp: unix(1750000003), Type: "image", Text: "This crack",
					Media: &events.Media{
						ID: "1003383421387256", MimeType: "image/jpeg", SHA256: "DsfQxLpgHwjxRZKP6YhjDvyPq9bT7rjR3eQ0FmeYkqk=",
						URL: "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1003383421387256&ext=1750000003&hash=ATsa",
					},
					Context: &events.Context{Forwarded: true},
				})),
				msg(sheena(events.Message{
					ID: "wamid.audio", Timestamp: unix(1750000004), Type: "audio",
					Media: &events.Media{ID: "2139460739771361", MimeType: "audio/ogg; codecs=opus", SHA256: "Sn9Zq0aS2c6dL6a2LmZ6m3n1P7cX0u1nFZ9Vq6o4Tj0=", Voice: true},
				})),
				msg(sheena(events.Message{
					ID: "wamid.video", Timestamp: unix(1750000005), Type: "video", Text: "unboxing",
					Media:   &events.Media{ID: "1221049245924411", MimeType: "video/mp4", SHA256: "k1wZ9B4sV8pX7cQ3jT5hN2mL6rF0aD9eY4uI8oP1qWs="},
					Context: &events.Context{FrequentlyForwarded: true},
				})),
				msg(sheena(events.Message{
					ID: "wamid.document", Timestamp: unix(1750000006), Type: "document", Text: "my invoice",
					Media: &events.Media{ID: "1546201322906735", MimeType: "application/pdf", SHA256: "n3V0yF8cR2dT6kZ1pQ9wE4aS7hJ5mL0xB2gN8uI3oYc=", Filename: "invoice-2025-06.pdf"},
				})),
				msg(sheena(events.Message{
					ID: "wamid.sticker", Timestamp: unix(1750000007), Type: "sticker",
					Media: &events.Media{ID: "1228498431547853", MimeType: "image/webp", SHA256: "bT4mK9pR2xV7cN1qW6eZ3aS8dF0gH5jL2yU9iO4oP7k=", Animated: true},
				})),
				msg(sheena(events.Message{
					ID: "wamid.location", Timestamp: unix(1750000008), Type: "location",
					Location: &events.Location{Latitude: 37.483307, Longitude: -122.148981, Name: "Meta Headquarters", Address: "1 Hacker Way, Menlo Park, CA 94025", URL: "https://www.meta.com"},
				})),
				msg(sheena(events.Message{
					ID: "wamid.location-current", Timestamp: unix(1750000009), Type: "location",
					Location: &events.Location{Latitude: 40.4168, Longitude: -3.7038},
				})),
				msg(sheena(events.Message{
					ID: "wamid.contacts", Timestamp: unix(1750000010), Type: "contacts",
					Contacts: json.RawMessage(`[{"name":{"first_name":"Pablo","last_name":"Morales","formatted_name":"Pablo Morales"},
						"phones":[{"phone":"+52 55 1234 5678","wa_id":"5215512345678","type":"CELL"}],
						"emails":[{"email":"pablo@example.com","type":"WORK"}],
						"org":{"company":"Ejemplo SA","title":"Buyer"}}]`),
				})),
				msg(sheena(events.Message{
					ID: "wamid.button-reply", Timestamp: unix(1750000011), Type: "interactive", Text: "Change",
					Reply:   &events.Reply{Kind: "button_reply", ID: "change-date", Title: "Change"},
					Context: &events.Context{MessageID: "wamid.business-buttons", From: "15550783881"},
				})),
				msg(sheena(events.Message{
					ID: "wamid.list-reply", Timestamp: unix(1750000012), Type: "interactive", Text: "Express shipping",
					Reply:   &events.Reply{Kind: "list_reply", ID: "priority_express", Title: "Express shipping", Description: "Next day to most cities"},
					Context: &events.Context{MessageID: "wamid.business-list", From: "15550783881"},
				})),
				msg(sheena(events.Message{
					ID: "wamid.flow", Timestamp: unix(1750000013), Type: "interactive", Text: "Sent",
					Reply:   &events.Reply{Kind: "nfm_reply", ID: "flow", Title: "Sent", Payload: `{"flow_token":"AQAAAAACS5FpgQ_cAAAAAD0QI3s","rating":"5"}`},
					Context: &events.Context{MessageID: "wamid.business-flow", From: "15550783881"},
				})),
				msg(sheena(events.Message{
					ID: "wamid.button", Timestamp: unix(1750000014), Type: "button", Text: "Stop promotions",
					Reply:   &events.Reply{Kind: "button", Title: "Stop promotions", Payload: "STOP_PROMOTIONS"},
					Context: &events.Context{MessageID: "wamid.business-template", From: "15550783881"},
				})),
				msg(sheena(events.Message{
					ID: "wamid.reaction", Timestamp: unix(1750000015), Type: "reaction",
					Reaction: &events.Reaction{MessageID: "wamid.business-message", Emoji: "👍"},
				})),
				msg(sheena(events.Message{
					ID: "wamid.reaction-removed", Timestamp: unix(1750000016), Type: "reaction",
					Reaction: &events.Reaction{MessageID: "wamid.business-message"},
				})),
				msg(sheena(events.Message{
					ID: "wamid.order", Timestamp: unix(1750000017), Type: "order", Text: "Please deliver before noon",
					Order: json.RawMessage(`{"catalog_id":"1537615600332234","text":"Please deliver before noon",
						"product_items":[{"product_retailer_id":"SKU-RED-M","quantity":2,"item_price":19.99,"currency":"USD"}]}`),
				})),
				msg(sheena(events.Message{
					ID: "wamid.product-inquiry", Timestamp: unix(1750000018), Type: "text", Text: "Is this in stock?",
					Context: &events.Context{MessageID: "wamid.business-product", From: "15550783881"},
				})),
				msg(events.Message{
					ID: "wamid.referral", Line: lineA, From: "819012345678", ProfileName: "Kai Tanaka",
					Timestamp: unix(1750000019), Type: "text", Text: "I saw your ad",
					Referral: &events.Referral{
						SourceURL: "https://fb.me/3cr4Wqqkv", SourceID: "120226305854810726", SourceType: "ad",
						Headline: "Chat with us", Body: "Summer sale: 30% off",
						CtwaClid: "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0-eM-ZABDLrRBQhdK_Xaw",
					},
				}),
				msg(sheena(events.Message{
					ID: "wamid.system", Timestamp: unix(1750000020), Type: "system",
					System: &events.System{Type: "user_changed_number", Body: "User Sheena Nelson changed from 16505551234 to 16505550000", NewWaID: "16505550000"},
				})),
				msg(sheena(events.Message{
					ID: "wamid.unsupported", Timestamp: unix(1750000021), Type: "unsupported", Unsupported: true,
					Errors: []events.ProviderError{{Code: 131051, Title: "Message type unknown", Message: "Message type unknown", Details: "Message type is currently not supported."}},
				})),
				msg(sheena(events.Message{
					ID: "wamid.unknown", Timestamp: unix(1750000022), Type: "unknown", Unsupported: true,
					Errors: []events.ProviderError{{Code: 131051, Title: "Unsupported message type"}},
				})),
				msg(sheena(events.Message{ID: "wamid.edit", Timestamp: unix(1750000023), Type: "edit", Unsupported: true})),
				msg(sheena(events.Message{
					ID: "wamid.interactive-new", Timestamp: unix(1750000024), Type: "interactive", Unsupported: true,
					Reply: &events.Reply{Kind: "call_permission_reply"},
				})),
			},
		},
		{
			name: "statuses incl. played and failed with errors",
			file: "statuses.json",
			want: []events.Inbound{
				st(events.Status{MessageID: "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJDNjY1QzM0NzJGQjYwMzE3QkUA", Line: lineA, RecipientID: "16505551234", Status: "sent", Timestamp: unix(1750263773), Ref: "conv-7f3a"}),
				st(events.Status{MessageID: "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJDNjY1QzM0NzJGQjYwMzE3QkUA", Line: lineA, RecipientID: "16505551234", Status: "delivered", Timestamp: unix(1750263775)}),
				st(events.Status{MessageID: "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJDNjY1QzM0NzJGQjYwMzE3QkUA", Line: lineA, RecipientID: "16505551234", Status: "read", Timestamp: unix(1750263790)}),
				st(events.Status{MessageID: "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJBMUQ3NzE0QzRDNDU4NEY4NzIA", Line: lineA, RecipientID: "16505551234", Status: "played", Timestamp: unix(1750263801)}),
				st(events.Status{
					MessageID: "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJGMjc4QTA2QTQ2Q0FEMEVFNTgA", Line: lineA, RecipientID: "16505559999", Status: "failed", Timestamp: unix(1750263812),
					Errors: []events.ProviderError{{
						Code: 131047, Title: "Re-engagement message", Message: "Re-engagement message",
						Details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
					}},
				}),
				st(events.Status{
					MessageID: "wamid.HBgLMTY1MDU1NTAwMDAVAgARGBI1RTg2QjY2MjlFMDZCQzZBMTcA", Line: lineA, RecipientID: "16505550000", Status: "failed", Timestamp: unix(1750263820),
					Errors: []events.ProviderError{
						{Code: 131026, Title: "Message undeliverable", Message: "Message undeliverable", Details: "Message Undeliverable."},
						{Code: 130472, Title: "User's number is part of an experiment"},
					},
				}),
			},
		},
		{
			name: "template status with an id above 2^53",
			file: "template_status.json",
			want: []events.Inbound{
				tmpl(events.TemplateStatus{Account: "102290129340398", TemplateID: "9007199254740993", Name: "order_update", Language: "es_ES", Event: "APPROVED", Reason: "NONE", Timestamp: unix(1750264000)}),
				tmpl(events.TemplateStatus{Account: "102290129340398", TemplateID: "1689556908129832", Name: "summer_sale", Language: "en_US", Event: "REJECTED", Reason: "INCORRECT_CATEGORY", Timestamp: unix(1750264000)}),
			},
		},
		{
			name: "unknown fields and value errors are kept",
			file: "unknown_field.json",
			want: []events.Inbound{
				other(events.Other{Account: "102290129340398", Field: "phone_number_quality_update", Raw: json.RawMessage(
					`{"display_phone_number":"15550783881","event":"UPGRADE","current_limit":"TIER_10K","max_daily_conversations_per_business":10000}`)}),
				other(events.Other{Account: "102290129340398", Field: "account_update", Raw: json.RawMessage(
					`{"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"RESTRICTED_ADD_PHONE_NUMBER_ACTION","expiration":1750870000}]}`)}),
				other(events.Other{Account: "102290129340398", Field: "conversation_insights", Raw: json.RawMessage(
					`{"messaging_product":"whatsapp","sentiment":{"score":0.7},"brand_new_thing":[1,2,3]}`)}),
				msg(events.Message{
					ID: "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUJFMDJCNjc2QzI3OTQwQzdFMAA=", Line: lineA,
					From: "16505551234", ProfileName: "Sheena Nelson", Timestamp: unix(1750265010), Type: "text", Text: "hi",
				}),
				other(events.Other{Account: "102290129340398", Field: "messages", Raw: json.RawMessage(
					`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
					"errors":[{"code":131052,"title":"Media download error","message":"Media download error",
					"error_data":{"details":"Unable to download the media sent by the user."}}]}`)}),
			},
		},
		{
			name: "escaped non-ASCII",
			file: "non_ascii.json",
			want: []events.Inbound{
				msg(events.Message{
					ID: "wamid.HBgLMzQ2MDAxMTEyMjIVAgASGBQzQTc5RjU3QjQxNEQ2RTI0MEUxQgA=", Line: lineA,
					From: "34600111222", ProfileName: "Zoë García", Timestamp: unix(1750001000),
					Type: "text", Text: "Olá! ¿Cómo están? 😀 https://example.com/pedido/42",
				}),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(readFixture(t, tt.file), received)
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpOpts); diff != "" {
				t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseRaw checks that each item's Raw is its own JSON exactly as delivered: a verbatim
// slice of the body (escapes intact) naming the item's id.
func TestParseRaw(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			body := readFixture(t, filepath.Base(f))
			items, err := Parse(body, received)
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			for i, in := range items {
				var raw json.RawMessage
				var id string
				switch in.Kind {
				case events.KindMessage:
					raw, id = in.Message.Raw, in.Message.ID
				case events.KindStatus:
					raw, id = in.Status.Raw, in.Status.MessageID
				case events.KindTemplateStatus:
					raw = in.Template.Raw
				case events.KindOther:
					raw = in.Other.Raw
				}
				if len(raw) == 0 || !bytes.Contains(body, raw) {
					t.Errorf("item %d (%s): Raw is not a slice of the body: %s", i, in.Kind, raw)
					continue
				}
				if id == "" {
					continue
				}
				var obj struct {
					ID string `json:"id"`
				}
				if err := json.Unmarshal(raw, &obj); err != nil || obj.ID != id {
					t.Errorf("item %d: Raw id = %q (err %v), want %q", i, obj.ID, err, id)
				}
			}
		})
	}
}

// TestParseLiberal covers inputs that are odd but must be accepted.
func TestParseLiberal(t *testing.T) {
	t.Parallel()
	const head = `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"2"},`
	const tail = `}}]}]}`
	line := events.Line{Address: "2", Account: "1"}
	tests := []struct {
		name string
		body string
		want []events.Inbound
	}{
		{name: "no entries", body: `{"object":"whatsapp_business_account","entry":[]}`},
		{name: "entry without changes", body: `{"object":"whatsapp_business_account","entry":[{"id":"1"}]}`},
		{
			name: "numeric timestamp, no contacts",
			body: head + `"messages":[{"from":"3","id":"wamid.1","timestamp":1750000000,"type":"text","text":{"body":"x"}}]` + tail,
			want: []events.Inbound{msg(events.Message{ID: "wamid.1", Line: line, From: "3", Timestamp: unix(1750000000), Type: "text", Text: "x"})},
		},
		{
			name: "missing timestamp and type",
			body: head + `"messages":[{"from":"3","id":"wamid.1"}]` + tail,
			want: []events.Inbound{msg(events.Message{ID: "wamid.1", Line: line, From: "3", Unsupported: true})},
		},
		{
			name: "username user without from: business-scoped user id",
			body: head + `"contacts":[{"profile":{"name":"Ana"},"user_id":"ES.123"}],"messages":[{"from_user_id":"ES.123","id":"wamid.1","timestamp":"1750000000","type":"text","text":{"body":"x"}}]` + tail,
			want: []events.Inbound{msg(events.Message{ID: "wamid.1", Line: line, From: "ES.123", ProfileName: "Ana", Timestamp: unix(1750000000), Type: "text", Text: "x"})},
		},
		{
			name: "several contacts, none matching: no profile name",
			body: head + `"contacts":[{"profile":{"name":"A"},"wa_id":"8"},{"profile":{"name":"B"},"wa_id":"9"}],"messages":[{"from":"3","id":"wamid.1","type":"text"}]` + tail,
			want: []events.Inbound{msg(events.Message{ID: "wamid.1", Line: line, From: "3", Type: "text"})},
		},
		{
			name: "only contact used when wa_id differs from from",
			body: head + `"contacts":[{"profile":{"name":"A"},"wa_id":"8"}],"messages":[{"from":"3","id":"wamid.1","type":"text"}]` + tail,
			want: []events.Inbound{msg(events.Message{ID: "wamid.1", Line: line, From: "3", ProfileName: "A", Type: "text"})},
		},
		{
			name: "unknown type with a known key of another shape",
			body: head + `"messages":[{"from":"3","id":"wamid.1","type":"poll","text":42}]` + tail,
			want: []events.Inbound{msg(events.Message{ID: "wamid.1", Line: line, From: "3", Type: "poll", Unsupported: true})},
		},
		{
			name: "empty string timestamp",
			body: head + `"statuses":[{"id":"wamid.1","status":"sent","recipient_id":"3","timestamp":""}]` + tail,
			want: []events.Inbound{st(events.Status{MessageID: "wamid.1", Line: line, RecipientID: "3", Status: "sent"})},
		},
		{
			name: "status echoing our reference",
			body: head + `"statuses":[{"id":"wamid.1","status":"sent","recipient_id":"3","biz_opaque_callback_data":"c_k3fq2w.1763632800123.m_0187a1"}]` + tail,
			want: []events.Inbound{st(events.Status{MessageID: "wamid.1", Line: line, RecipientID: "3", Status: "sent", Ref: "c_k3fq2w.1763632800123.m_0187a1"})},
		},
		{
			name: "template id as a string, no entry time",
			body: `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"message_template_status_update","value":{"event":"PAUSED","message_template_id":"42"}}]}]}`,
			want: []events.Inbound{tmpl(events.TemplateStatus{Account: "1", TemplateID: "42", Event: "PAUSED"})},
		},
		{
			name: "entry without id: its messages still have their line",
			body: `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"2"},"messages":[{"from":"3","id":"wamid.1","type":"text"}]}}]}]}`,
			want: []events.Inbound{msg(events.Message{ID: "wamid.1", Line: events.Line{Address: "2"}, From: "3", Type: "text"})},
		},
		{
			name: "entry time not a number: a template status without its time",
			body: `{"object":"whatsapp_business_account","entry":[{"id":"1","time":"soon","changes":[{"field":"message_template_status_update","value":{"event":"PAUSED","message_template_id":42}}]}]}`,
			want: []events.Inbound{tmpl(events.TemplateStatus{Account: "1", TemplateID: "42", Event: "PAUSED"})},
		},
		{
			name: "contacts of another shape: no profile name",
			body: head + `"contacts":{"wa_id":"3"},"messages":[{"from":"3","id":"wamid.1","type":"text"}]` + tail,
			want: []events.Inbound{msg(events.Message{ID: "wamid.1", Line: line, From: "3", Type: "text"})},
		},
		{
			name: "unknown field without value",
			body: `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"security"}]}]}`,
			want: []events.Inbound{other(events.Other{Account: "1", Field: "security", Raw: json.RawMessage("null")})},
		},
		{
			name: "exactly MaxItems",
			body: manyStatuses(MaxItems),
			want: func() []events.Inbound {
				out := make([]events.Inbound, MaxItems)
				for i := range out {
					out[i] = st(events.Status{MessageID: fmt.Sprintf("wamid.%d", i), Line: line, RecipientID: "3", Status: "sent"})
				}
				return out
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse([]byte(tt.body), received)
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpOpts); diff != "" {
				t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func manyStatuses(n int) string {
	var b strings.Builder
	b.WriteString(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"2"},"statuses":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"wamid.%d","status":"sent","recipient_id":"3"}`, i)
	}
	b.WriteString(`]}}]}]}`)
	return b.String()
}

// TestParseInvalid covers bodies that are not a delivery at all: the only ones refused.
func TestParseInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		reason string // part of the error text: the reason given to a human
	}{
		{name: "empty body", body: ``, reason: "unexpected end"},
		{name: "not JSON", body: `object=whatsapp_business_account`, reason: "invalid character"},
		{name: "truncated", body: `{"object":"whatsapp_business_account","entry":[`, reason: "unexpected end"},
		{name: "array", body: `[]`, reason: "cannot unmarshal"},
		{name: "null", body: `null`, reason: `object is ""`},
		{name: "other object", body: `{"object":"page","entry":[]}`, reason: `object is "page"`},
		{name: "no entry", body: `{"object":"whatsapp_business_account"}`, reason: "entry missing"},
		{name: "entry not an array", body: `{"object":"whatsapp_business_account","entry":{"id":"1"}}`, reason: "cannot unmarshal"},
		{name: "too many items", body: manyStatuses(MaxItems + 1), reason: "more than 10000 items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse([]byte(tt.body), received)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse() = %d items, %v; want ErrInvalid", len(got), err)
			}
			if got != nil {
				t.Errorf("Parse() returned %d items with an error", len(got))
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("Parse() error %q does not give the reason %q", err, tt.reason)
			}
		})
	}
}

// TestParseMalformed covers deliveries with one part that cannot be read: that part becomes a
// Malformed item with its reason, path and raw JSON, and its valid siblings (a message before
// it in the same change, and a status in another entry) are still returned, in order.
func TestParseMalformed(t *testing.T) {
	t.Parallel()
	const (
		good    = `{"from":"3","id":"wamid.ok","type":"text","text":{"body":"x"}}`
		sibling = `{"id":"2","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"9"},"statuses":[{"id":"wamid.s","status":"read","recipient_id":"3"}]}}]}`
	)
	// delivery puts the bad part in the first entry after a good message, and a good status in
	// a second entry. bad is the first entry's content after its id, or "" when bad replaces the
	// whole entry.
	delivery := func(entry string) string {
		return `{"object":"whatsapp_business_account","entry":[` + entry + `,` + sibling + `]}`
	}
	withMessages := func(items string) string {
		return delivery(`{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"2"},"messages":[` + good + `,` + items + `]}}]}`)
	}
	withStatuses := func(items string) string {
		return delivery(`{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"2"},"messages":[` + good + `],"statuses":[` + items + `]}}]}`)
	}
	withChange := func(change string) string {
		return delivery(`{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"2"},"messages":[` + good + `]}},` + change + `]}`)
	}
	okMessage := msg(events.Message{ID: "wamid.ok", Line: events.Line{Address: "2", Account: "1"}, From: "3", Type: "text", Text: "x"})
	okStatus := st(events.Status{MessageID: "wamid.s", Line: events.Line{Address: "9", Account: "2"}, RecipientID: "3", Status: "read"})
	const m1, s0, c1 = "entry[0].changes[0].value.messages[1]", "entry[0].changes[0].value.statuses[0]", "entry[0].changes[1]"
	tests := []struct {
		name   string
		body   string
		path   string
		raw    string // the malformed part's JSON
		reason string // part of its reason
		noGood bool   // the bad part takes the first entry's message with it (a whole entry)
	}{
		{name: "message id missing", body: withMessages(`{"from":"3","type":"text"}`), path: m1, raw: `{"from":"3","type":"text"}`, reason: "id missing"},
		{name: "message from missing", body: withMessages(`{"id":"wamid.1","type":"text"}`), path: m1, raw: `{"id":"wamid.1","type":"text"}`, reason: "from missing"},
		{name: "message not an object", body: withMessages(`"hi"`), path: m1, raw: `"hi"`, reason: "cannot unmarshal"},
		{name: "bad message timestamp", body: withMessages(`{"from":"3","id":"wamid.1","timestamp":"yesterday"}`), path: m1, raw: `{"from":"3","id":"wamid.1","timestamp":"yesterday"}`, reason: "not unix seconds"},
		{name: "negative timestamp", body: withMessages(`{"from":"3","id":"wamid.1","timestamp":"-1"}`), path: m1, raw: `{"from":"3","id":"wamid.1","timestamp":"-1"}`, reason: "out of range"},
		{name: "timestamp past year 9999", body: withMessages(`{"from":"3","id":"wamid.1","timestamp":"253402300800"}`), path: m1, raw: `{"from":"3","id":"wamid.1","timestamp":"253402300800"}`, reason: "out of range"},
		{name: "NaN timestamp", body: withMessages(`{"from":"3","id":"wamid.1","timestamp":"NaN"}`), path: m1, raw: `{"from":"3","id":"wamid.1","timestamp":"NaN"}`, reason: "not unix seconds"},
		{name: "text body a number", body: withMessages(`{"from":"3","id":"wamid.1","type":"text","text":{"body":5}}`), path: m1, raw: `{"from":"3","id":"wamid.1","type":"text","text":{"body":5}}`, reason: "text"},
		{name: "latitude a string", body: withMessages(`{"from":"3","id":"wamid.1","type":"location","location":{"latitude":"x"}}`), path: m1, raw: `{"from":"3","id":"wamid.1","type":"location","location":{"latitude":"x"}}`, reason: "location"},
		{name: "status id missing", body: withStatuses(`{"status":"sent","recipient_id":"3"}`), path: s0, raw: `{"status":"sent","recipient_id":"3"}`, reason: "id missing"},
		{name: "status missing", body: withStatuses(`{"id":"wamid.1","recipient_id":"3"}`), path: s0, raw: `{"id":"wamid.1","recipient_id":"3"}`, reason: "status missing"},
		{name: "recipient missing", body: withStatuses(`{"id":"wamid.1","status":"sent"}`), path: s0, raw: `{"id":"wamid.1","status":"sent"}`, reason: "recipient_id missing"},
		{name: "error code a string", body: withStatuses(`{"id":"wamid.1","status":"failed","recipient_id":"3","errors":[{"code":"131047"}]}`), path: s0, raw: `{"id":"wamid.1","status":"failed","recipient_id":"3","errors":[{"code":"131047"}]}`, reason: "cannot unmarshal"},
		{name: "change without metadata: no business number", body: withChange(`{"field":"messages","value":{"messages":[` + good + `]}}`), path: c1, raw: `{"field":"messages","value":{"messages":[` + good + `]}}`, reason: "no business number"},
		{name: "messages value null", body: withChange(`{"field":"messages","value":null}`), path: c1, raw: `{"field":"messages","value":null}`, reason: "no business number"},
		{name: "messages not an array", body: withChange(`{"field":"messages","value":{"metadata":{"phone_number_id":"2"},"messages":{}}}`), path: c1, raw: `{"field":"messages","value":{"metadata":{"phone_number_id":"2"},"messages":{}}}`, reason: "value: json"},
		{name: "field missing", body: withChange(`{"value":{}}`), path: c1, raw: `{"value":{}}`, reason: "field missing"},
		{name: "change not an object", body: withChange(`7`), path: c1, raw: `7`, reason: "cannot unmarshal"},
		{name: "template id missing", body: withChange(`{"field":"message_template_status_update","value":{"event":"APPROVED"}}`), path: c1, raw: `{"field":"message_template_status_update","value":{"event":"APPROVED"}}`, reason: "message_template_id missing"},
		{name: "template id fractional", body: withChange(`{"field":"message_template_status_update","value":{"message_template_id":1.5}}`), path: c1, raw: `{"field":"message_template_status_update","value":{"message_template_id":1.5}}`, reason: "not a decimal integer"},
		{name: "template id negative", body: withChange(`{"field":"message_template_status_update","value":{"message_template_id":-7}}`), path: c1, raw: `{"field":"message_template_status_update","value":{"message_template_id":-7}}`, reason: "not a decimal integer"},
		{name: "template id an object", body: withChange(`{"field":"message_template_status_update","value":{"message_template_id":{}}}`), path: c1, raw: `{"field":"message_template_status_update","value":{"message_template_id":{}}}`, reason: "not a decimal integer"},
		{name: "entry id a number", body: delivery(`{"id":1,"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"2"},"messages":[` + good + `]}}]}`), path: "entry[0]", raw: `{"id":1,"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"2"},"messages":[` + good + `]}}]}`, reason: "entry.id", noGood: true},
		{name: "changes not an array", body: delivery(`{"id":"1","changes":"soon"}`), path: "entry[0]", raw: `{"id":"1","changes":"soon"}`, reason: "cannot unmarshal", noGood: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse([]byte(tt.body), received)
			if err != nil {
				t.Fatalf("Parse() error = %v; want the delivery accepted", err)
			}
			var bad []*events.Malformed
			var rest []events.Inbound
			for _, in := range got {
				if in.Kind == events.KindMalformed {
					bad = append(bad, in.Malformed)
					continue
				}
				rest = append(rest, in)
			}
			if len(bad) != 1 {
				t.Fatalf("Parse() gave %d malformed items, want 1: %+v", len(bad), got)
			}
			if bad[0].Path != tt.path {
				t.Errorf("path = %q, want %q", bad[0].Path, tt.path)
			}
			if !strings.Contains(bad[0].Reason, tt.reason) || !strings.HasPrefix(bad[0].Reason, ErrInvalid.Error()) {
				t.Errorf("reason %q does not give %q", bad[0].Reason, tt.reason)
			}
			if string(bad[0].Raw) != tt.raw {
				t.Errorf("raw = %s, want %s", bad[0].Raw, tt.raw)
			}
			want := []events.Inbound{okMessage, okStatus}
			if tt.noGood {
				want = want[1:]
			}
			if diff := cmp.Diff(want, rest, cmpOpts); diff != "" {
				t.Errorf("valid siblings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseMalformedLarge keeps a huge unreadable part as a JSON string of its beginning, so
// its record still fits one SQS message.
func TestParseMalformedLarge(t *testing.T) {
	t.Parallel()
	huge := `{"from":"3","type":"text","text":{"body":"` + strings.Repeat("a", 300<<10) + `"}}`
	body := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"2"},"messages":[` + huge + `]}}]}]}`
	got, err := Parse([]byte(body), received)
	if err != nil || len(got) != 1 || got[0].Kind != events.KindMalformed {
		t.Fatalf("Parse() = %+v, %v; want one malformed item", got, err)
	}
	out, err := json.Marshal(got[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(out) > 200<<10 {
		t.Errorf("malformed item is %d bytes on the queue, want under 200 KB", len(out))
	}
	var kept string
	if err := json.Unmarshal(got[0].Malformed.Raw, &kept); err != nil || !strings.HasPrefix(kept, `{"from":"3"`) {
		t.Errorf("raw kept = %.40q (err %v), want the beginning of the item as a string", kept, err)
	}
}
