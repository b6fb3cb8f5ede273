package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
)

// What customers send is returned as sent, not flattened into text.
func TestCustomerContentIsNotFlattened(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	wa := "5491100000201"
	send := func(id, typ, raw string, reply *events.Reply) {
		t.Helper()
		at := t0.Add(time.Duration(len(id)) * time.Second)
		_, err := w.proc.Apply(context.Background(), &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderMeta, ReceivedAt: at,
			Message: &events.Message{ID: id, Line: events.Line{Address: w.line.Address}, From: wa, Timestamp: at, Type: typ,
				Reply: reply, Raw: json.RawMessage(raw)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	send("wamid.c", "contacts", `{"from":"`+wa+`","id":"wamid.c","type":"contacts","contacts":[{"name":{"formatted_name":"Lucía Pérez","first_name":"Lucía"},"phones":[{"phone":"+54 9 11 5555-0001","wa_id":"5491155550001","type":"CELL"}],"emails":[{"email":"lucia@example.com","type":"WORK"}]}]}`, nil)
	send("wamid.oo", "order", `{"from":"`+wa+`","id":"wamid.oo","type":"order","order":{"catalog_id":"cat1","text":"para el martes","product_items":[{"product_retailer_id":"sku-1","quantity":2,"item_price":1500.5,"currency":"ARS"}]}}`, nil)
	send("wamid.rrr", "reaction", `{"from":"`+wa+`","id":"wamid.rrr","type":"reaction","reaction":{"message_id":"wamid.out1","emoji":"👍"}}`, nil)
	send("wamid.bbbb", "interactive", `{"from":"`+wa+`","id":"wamid.bbbb","type":"interactive"}`, &events.Reply{Kind: "button_reply", ID: "confirm-42", Title: "Confirmar"})

	conv := inbox.ConversationID(w.org, w.line.ID, wa)
	code, out := w.call(t, "ana", "GET", "/v1/conversations/"+conv+"/messages", "")
	if code != 200 {
		t.Fatalf("GET messages: %d %v", code, out)
	}
	got := map[string]any{}
	for _, it := range out["items"].([]any) {
		e := it.(map[string]any)
		for _, k := range []string{"contacts", "order", "reaction", "reply"} {
			if v, ok := e[k]; ok {
				got[k] = v
			}
		}
	}
	var want map[string]any
	json.Unmarshal([]byte(`{
		"contacts": [{"name":{"formatted_name":"Lucía Pérez","first_name":"Lucía"},"phones":[{"phone":"+54 9 11 5555-0001","wa_id":"5491155550001","type":"CELL"}],"emails":[{"email":"lucia@example.com","type":"WORK"}]}],
		"order": {"catalog_id":"cat1","text":"para el martes","items":[{"product_retailer_id":"sku-1","quantity":2,"item_price":1500.5,"currency":"ARS"}]},
		"reaction": {"message_id":"wamid.out1","emoji":"👍"},
		"reply": {"kind":"button_reply","id":"confirm-42","title":"Confirmar"}
	}`), &want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("content (-want +got):\n%s", diff)
	}
}
