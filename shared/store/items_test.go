package store

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/hours"
	"github.com/buzon/buzon/shared/inbox"
)

var update = flag.Bool("update", false, "rewrite testdata/items.golden")

// TestStoredItems pins the stored form of every entity: each item, built from a value with
// every field set, marshalled as DynamoDB would receive it, one line per attribute (nested
// maps by their path), against testdata/items.golden. Attribute names are the table's format
// (items written years ago are read with them, keys and indexes are built on them): renaming
// a Go field must not change this file. Run with -update only for a change of the format that
// is meant, and say so in docs/keys.md.
func TestStoredItems(t *testing.T) {
	t.Parallel()
	var lines []string
	for name, it := range storedItems() {
		item, err := attributevalue.MarshalMap(it)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		lines = append(lines, attrLines(name, &types.AttributeValueMemberM{Value: item})...)
	}
	sort.Strings(lines)
	got := strings.Join(lines, "\n") + "\n"
	path := filepath.Join("testdata", "items.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestStoredItems -update once to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("stored items changed (-want +got):\n%s", diff)
	}
}

// attrLines renders an attribute value as "path TYPE value" lines, maps by their keys.
func attrLines(path string, v types.AttributeValue) []string {
	line := func(typ string, val any) []string {
		b, _ := json.Marshal(val)
		return []string{path + " " + typ + " " + string(b)}
	}
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return line("S", v.Value)
	case *types.AttributeValueMemberN:
		return line("N", v.Value)
	case *types.AttributeValueMemberB:
		return line("B", base64.StdEncoding.EncodeToString(v.Value))
	case *types.AttributeValueMemberBOOL:
		return line("BOOL", v.Value)
	case *types.AttributeValueMemberNULL:
		return line("NULL", v.Value)
	case *types.AttributeValueMemberSS:
		return line("SS", v.Value)
	case *types.AttributeValueMemberNS:
		return line("NS", v.Value)
	case *types.AttributeValueMemberL:
		var out []string
		for i, e := range v.Value {
			out = append(out, attrLines(fmt.Sprintf("%s[%d]", path, i), e)...)
		}
		return append(out, line("L", len(v.Value))...)
	case *types.AttributeValueMemberM:
		var out []string
		for k, e := range v.Value {
			out = append(out, attrLines(path+"."+k, e)...)
		}
		return out
	}
	return line("?", fmt.Sprintf("%T", v))
}

// storedItems is one item of each kind the store writes, every field set.
func storedItems() map[string]any {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	later := at.Add(time.Minute)

	assigned := &inbox.Conversation{
		ID: "c_1", OrgID: "o_1", LineID: "l_1", Contact: inbox.ContactRef{WaID: "5491155550001", Name: "Lucía", ProfileName: "Lu", Named: true},
		Status: inbox.StatusOpen, DepartmentID: "d_1", AssigneeID: "u_1", Cycle: 2, Labels: []string{"lb_a", "lb_b"},
		Collaborators: []string{"u_2", "u_3"}, CreatedAt: at, LastActivityAt: later, LastInboundAt: later, WindowExpiresAt: later.Add(24 * time.Hour),
		WindowOpenedAt: at, UnreadCount: 3, InboundCount: 7,
		Preview:  inbox.Preview{Text: "hola", Direction: inbox.Inbound, Type: "text", At: later},
		ClosedAt: at, CloseReason: "resolved", RouteRule: "least_loaded", LastAppliedID: "wamid.1", Version: 5,
	}
	// An outbound message being sent: in the pending-send index, with its attempt.
	pending := inbox.NewOutboundMessage("m_2", "c_1", "u_1", at)
	pending.Type, pending.Text, pending.Status, pending.Attempt = "text", "hola", inbox.DeliverySending, 2
	waiting := *assigned
	waiting.ID, waiting.AssigneeID, waiting.Labels, waiting.Collaborators = "c_2", "", nil, nil
	waitingItem := toConversationItem(&waiting)

	msg := &inbox.Message{
		ID: "m_1", ConversationID: "c_1", ProviderID: "wamid.1", Direction: inbox.Outbound, Type: "image",
		Text: "tu factura", Status: inbox.DeliveryDelivered,
		StatusAt: map[inbox.DeliveryStatus]time.Time{inbox.DeliverySent: at, inbox.DeliveryDelivered: later},
		Error:    &inbox.ProviderError{Code: 131047, Title: "Re-engagement", Message: "window closed", Details: "more"},
		At:       at, CreatedAt: later, AgentID: "u_1", Automatic: true, ReplyTo: "wamid.0",
		Reactions: map[string]string{"5491155550001": "👍"},
		Media: &inbox.Media{ID: "med_1", URL: "https://cdn.example.com/f.png", MimeType: "image/png", SHA256: "abc=",
			Filename: "f.png", Voice: true, Animated: true, Status: inbox.MediaReady, Reason: "r", Key: "in/o_1/c_1/m_1/0", Size: 42},
		MoreMedia: []inbox.Media{{URL: "https://api.twilio.com/m/ME1", MimeType: "image/png", Status: inbox.MediaFailed, Reason: "gone"}},
		Location:  &inbox.Location{Latitude: 19.43, Longitude: -99.13, Name: "Zócalo", Address: "Centro", URL: "https://maps.example.com"},
		Reply:     &inbox.Reply{Kind: "button_reply", ID: "yes", Title: "Sí", Description: "confirm", Payload: "YES"},
		Template:  &inbox.TemplateRef{Name: "factura", Language: "es_AR", Variables: map[string]string{"1": "Lucía"}},
		Detail:    []byte(`{"id":"wamid.1"}`),
	}
	// Nested values with most fields empty: how empty fields are stored is part of the format.
	sparse := &inbox.Message{ID: "m_2", ConversationID: "c_1", Direction: inbox.Inbound, Type: "location", At: at,
		Status: inbox.DeliveryReceived, Media: &inbox.Media{URL: "https://cdn.example.com/a.ogg"},
		Location: &inbox.Location{Latitude: 1.5, Longitude: 2.5}, Reply: &inbox.Reply{Kind: "button"},
		Error: &inbox.ProviderError{Title: "not queued"}, Template: &inbox.TemplateRef{Name: "hola"}}
	ev := &inbox.Event{ID: "e_1", ConversationID: "c_1", Type: inbox.EventAssigned, ActorID: "u_2", At: at,
		Details: map[string]string{"to": "u_1", "rule": "least_loaded"}}

	line := &inbox.Line{Hours: &hours.Spec{TimeZone: "America/Argentina/Buenos_Aires", Weekly: map[string][]string{"mon": {"09:00-18:00"}},
		Holidays: []string{"2026-12-25"}}, AutoReplies: []inbox.AutoReply{{Trigger: "outside_hours", Text: "Volvemos a las 9"}}}
	hrs, ar, err := encodeLineSettings(line)
	if err != nil {
		panic(err)
	}

	return map[string]any{
		"conversation":         toConversationItem(assigned),
		"conversation_waiting": waitingItem,
		"message":              toMessageItem(msg),
		"message_pending":      toMessageItem(pending),
		"message_sparse":       toMessageItem(sparse),
		"event":                eventItem(ev),
		"pointer":              pointerItem{PK: convPK("c_1"), SK: pointerSK("wamid.1"), Type: "pointer", Thread: threadSK(at, "m_1")},
		"parked": parkedItem{PK: convPK("c_1"), SK: parkedSK("wamid.1", "read"), Type: "parked",
			Status: []byte(`{"message_id":"wamid.1"}`), TTL: at.Add(parkTTL).Unix()},
		"provider_event": providerEventItem{PK: providerEventPK("meta", "waba_1"), SK: providerEventSK("dedup-1"), Type: "provider_event",
			Kind: "other", Received: ms(at), Event: []byte(`{"kind":"other"}`)},
		"read": readItem{PK: convPK("c_1"), SK: readSK("u_1"), Type: "read", Conv: "c_1", Seen: 7, At: ms(at)},
		"label": labelItem{PK: orgPK("o_1"), SK: labelSK("lb_a"), Type: "label", ID: "lb_a", Org: "o_1", Name: "Urgente",
			Desc: "now", Color: "#ff0000", By: "u_1", Created: ms(at)},
		"org": orgItem{PK: orgPK("o_1"), SK: skOrg, Type: "org", ID: "o_1", Name: "Acme", Created: ms(at)},
		"user": userItem{PK: orgPK("o_1"), SK: userSK("u_1"), GSI3PK: emailKey("Ana@Example.com"), GSI3SK: skEmailUser, Type: "user",
			ID: "u_1", Org: "o_1", Email: "ana@example.com", Name: "Ana", Role: "agent", Depts: []string{"d_1", "d_2"},
			Available: true, MaxOpen: 5, Disabled: true, Deleted: true},
		"department": deptItem{PK: orgPK("o_1"), SK: deptSK("d_1"), Type: "dept", ID: "d_1", Org: "o_1", Name: "Ventas"},
		"line": lineItem{PK: orgPK("o_1"), SK: lineSK("l_1"), Type: "line", ID: "l_1", Org: "o_1", Provider: "meta",
			Address: "1234567890", Display: "15550001111", Account: "waba_1", Dept: "d_1", Authorized: []string{"u_1"},
			State: "active", Created: ms(at), Hours: hrs, AutoReplies: ar, CollabReply: true},
		"collaboration":   collabItem{PK: collabPK("o_1", "u_2"), SK: collabSK("c_1"), Type: "collab", Conv: "c_1"},
		"closing_reasons": reasonsItem{PK: orgPK("o_1"), SK: reasonsSK("d_1"), Type: "reasons", Dept: "d_1", Reasons: []string{"Venta", "Sin respuesta"}},
		"line_address":    addrItem{PK: lineAddrPK("meta", "1234567890"), SK: skAddr, Type: "addr", Org: "o_1", Line: "l_1"},
		"contact": contactItem{PK: contactPK("o_1", "5491155550001"), SK: skContact, Type: "contact", Org: "o_1",
			WaID: "5491155550001", Name: "Lucía Pérez", PName: "Lu", Named: true, Email: "lucia@example.com", Owner: "u_1",
			Fields: map[string]string{"seller": "u_1"}, Lines: []string{"l_1"}, Created: ms(at), Version: 3},
		"contact_search": searchItem{PK: contactPK("o_1", "5491155550001"), SK: searchSK(nameTerm("lucia")),
			GSI3PK: searchPK("o_1", nameTerm("lucia"), "5491155550001"), GSI3SK: searchIndexSK(nameTerm("lucia"), "5491155550001"),
			Type: "csearch", WaID: "5491155550001", Words: indexedWords("Lucía Pérez")},
		"audit": toAuditItem(&inbox.AuditRecord{ID: "a_1", OrgID: "o_1", At: at, ActorID: "u_1", Entity: "line", EntityID: "l_1", Action: "update",
			Before: []byte(`{"state":"active"}`), After: []byte(`{"state":"paused"}`), RequestID: "req-1"}),
		"workload":   workloadItem{PK: workloadPK("o_1", "u_1"), SK: skWorkload, Type: "load", Open: 3, Avail: true, Max: 5, LastAuto: ms(at)},
		"last_agent": lastAgentItem{PK: contactPK("o_1", "5491155550001"), SK: skLastAgent, Type: "lastagent", Agent: "u_1"},
		"rules": rulesItem{PK: orgPK("o_1"), SK: rulesSK("line", "l_1"), Type: "rules",
			Rules: []ruleItem{{Type: "contact_field", Field: "seller"}, {Type: "least_loaded"}}, Away: "reroute"},
		"auto_close": autoCloseItem{PK: autoClosePK, SK: autoCloseSK("o_1", "l_1"), Type: "autoclose", Org: "o_1", Line: "l_1", Idle: 3600},
		"auto_reply_mark": autoReplyItem{PK: convPK("c_1"), SK: autoReplySK(at, "outside_hours"), Type: "autoreply",
			Trigger: "outside_hours", By: "wamid.1", Msg: "m_2", At: ms(later), Outcome: "sent", TTL: at.Add(autoReplyMarkTTL).Unix()},
		"window_checkpoint": checkpointItem{PK: jobPK(windowJob), SK: skJob, Type: "job", Warn: ms(at), Closed: ms(later), Idle: ms(at), Sends: ms(at)},
		"template": templateItem{PK: templatePK("o_1"), SK: templateSK("waba_1", "factura", "es_AR"), Type: "template",
			Org: "o_1", WABA: "waba_1", ID: "tpl_1", Name: "factura", Language: "es_AR", Category: "UTILITY", Status: "APPROVED",
			Reason: "NONE", Format: "POSITIONAL", Comp: `[{"type":"BODY","text":"Hola {{1}}"}]`, StatusAt: ms(at), Synced: ms(later)},
		"quick_reply": quickReplyItem{PK: quickReplyPK("o_1"), SK: quickReplySK("qr_1"), Type: "quick_reply", ID: "qr_1", Org: "o_1",
			Title: "Saludo", Text: "Hola {{customer_name}}", By: "u_1", Created: ms(at), Updated: ms(later), Version: 2},
		"waba_registry": wabaItem{PK: wabaRegistryPK, SK: wabaRegistrySK("waba_1", "o_1"), Type: "waba", WABA: "waba_1", Org: "o_1"},
		"template_sync": templateSyncItem{PK: templatePK("o_1"), SK: skTemplateSync, Type: "template_sync", Until: ms(later),
			TTL: later.Add(time.Hour).Unix()},
		"connection": connectionItem{PK: wsUserPK("o_1", "u_1"), SK: "conn-1", Type: "ws", Conn: "conn-1", Org: "o_1", User: "u_1",
			Name: "Ana", Admin: true, Depts: []string{"d_1"}, Watching: "c_1", At: ms(at), TTL: at.Add(ConnectionTTL).Unix()},
		"connection_department": connectionItem{PK: wsDeptPK("o_1", "d_1"), SK: "conn-1", Type: "ws", Conn: "conn-1", Org: "o_1",
			User: "u_1", At: ms(at), TTL: at.Add(ConnectionTTL).Unix()},
		"idempotency": idempotencyItem{PK: idempotencyPK("o_1", "u_1", "key-1"), SK: skIdempotency, Type: "idempotency",
			Conv: "c_1", Message: "m_1", At: ms(at), Fingerprint: "fp", TTL: at.Add(IdempotencyTTL).Unix()},
	}
}

// TestItemsRoundTrip writes domain values with every field set (by reflection, so a field
// added later is covered) through their items and reads them back: a field the store forgets
// to convert shows up here.
func TestItemsRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		trip func(t *testing.T) (want, got any)
	}{
		{"conversation", func(t *testing.T) (any, any) {
			c := filled[inbox.Conversation]()
			return c, roundTrip(t, toConversationItem(c)).conversation()
		}},
		{"message", func(t *testing.T) (any, any) {
			m := filled[inbox.Message]()
			return m, roundTrip(t, toMessageItem(m)).message()
		}},
		{"event", func(t *testing.T) (any, any) {
			e := filled[inbox.Event]()
			return e, roundTrip(t, eventItem(e)).entry().Event
		}},
		{"user", func(t *testing.T) (any, any) {
			u := filled[inbox.User]()
			return u, roundTrip(t, toUserItem(u)).user()
		}},
		{"line", func(t *testing.T) (any, any) {
			l := filled[inbox.Line]()
			it, err := toLineItem(l)
			if err != nil {
				t.Fatal(err)
			}
			return l, roundTrip(t, it).line()
		}},
		{"contact", func(t *testing.T) (any, any) {
			c := filled[inbox.Contact]()
			return c, roundTrip(t, toContactItem(c)).contact()
		}},
		{"audit", func(t *testing.T) (any, any) {
			r := filled[inbox.AuditRecord]()
			return r, roundTrip(t, toAuditItem(r)).record()
		}},
		{"label", func(t *testing.T) (any, any) {
			l := filled[inbox.Label]()
			return l, roundTrip(t, toLabelItem(l)).label()
		}},
		{"quick reply", func(t *testing.T) (any, any) {
			q := filled[inbox.QuickReply]()
			return q, roundTrip(t, toQuickReplyItem(q)).quickReply()
		}},
		{"template", func(t *testing.T) (any, any) {
			tp := filled[inbox.Template]()
			it, err := toTemplateItem(tp)
			if err != nil {
				t.Fatal(err)
			}
			return tp, roundTrip(t, it).template()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want, got := tt.trip(t)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("read back differs (-written +read):\n%s", diff)
			}
		})
	}
}

// roundTrip marshals an item as the store writes it and unmarshals it as the store reads it.
func roundTrip[T any](t *testing.T, it T) *T {
	t.Helper()
	raw, err := attributevalue.MarshalMap(it)
	if err != nil {
		t.Fatal(err)
	}
	var back T
	if err := attributevalue.UnmarshalMap(raw, &back); err != nil {
		t.Fatal(err)
	}
	return &back
}

// filled returns a T with every exported field set, each to its own value.
func filled[T any]() *T {
	v := new(T)
	n := 0
	fill(reflect.ValueOf(v).Elem(), &n)
	return v
}

func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.UnixMilli(1_795_000_000_000 + int64(*n)*1000).UTC()))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), n)
			}
		}
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", *n))
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(*n))
	case reflect.Float64:
		v.SetFloat(float64(*n) + 0.5)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes(fmt.Appendf(nil, `{"n":%d}`, *n)) // valid JSON, for fields that hold JSON
			return
		}
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), n)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, n)
		fill(e, n)
		m.SetMapIndex(k, e)
		v.Set(m)
	}
}
