package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

func searchWas(t *testing.T, st *store.Store, org, q string) []string {
	t.Helper()
	query, ok := inbox.ParseContactQuery(q)
	if !ok {
		t.Fatalf("query %q does not parse", q)
	}
	found, err := st.SearchContacts(context.Background(), org, query, 25)
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	var was []string
	for _, c := range found {
		was = append(was, c.WaID)
	}
	return was
}

func TestSearchContacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testenv.Store(t)
	org, other := testenv.ID("org"), testenv.ID("org")
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for _, c := range []*inbox.Contact{
		{OrgID: org, WaID: "5491155550001", Name: "Lucía Pérez"},
		{OrgID: org, WaID: "5491155550002", Name: "Luciano Gómez"},
		{OrgID: org, WaID: "5215512340000", Name: "Pedro Peña"},
		{OrgID: org, WaID: "5491155550003"}, // no profile name: found by number only
		{OrgID: other, WaID: "5491155550009", Name: "Lucía Otra"},
	} {
		c.CreatedAt = at
		if err := st.SaveContact(ctx, c, "l1"); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		q    string
		want []string
	}{
		{"luc", []string{"5491155550001", "5491155550002"}},
		{"LUCÍA", []string{"5491155550001", "5491155550002"}}, // a prefix of Luciano too
		{"lucía p", []string{"5491155550001"}},
		{"per", []string{"5491155550001"}},
		{"pe", []string{"5215512340000", "5491155550001"}},
		{"pena", []string{"5215512340000"}},
		{"lu gom", []string{"5491155550002"}},
		{"luciano perez", nil},
		{"cia", nil},
		{"54911", []string{"5491155550001", "5491155550002", "5491155550003"}},
		{"+52 155", []string{"5215512340000"}},
		{"1155", nil},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, searchWas(t, st, org, tc.q)); diff != "" {
			t.Errorf("search %q (-want +got):\n%s", tc.q, diff)
		}
	}
}

func TestSaveContactRenamesAndAddsLines(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testenv.Store(t)
	org := testenv.ID("org")
	c := &inbox.Contact{OrgID: org, WaID: "5491155550101", Name: "Lucía Pérez"}
	if err := st.SaveContact(ctx, c, "l1"); err != nil {
		t.Fatal(err)
	}
	// The same customer writes to a second line, then changes their WhatsApp profile name.
	if err := st.SaveContact(ctx, &inbox.Contact{OrgID: org, WaID: c.WaID, Name: "Lucía Pérez"}, "l2"); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveContact(ctx, &inbox.Contact{OrgID: org, WaID: c.WaID, Name: "Lu Fernández"}, "l2"); err != nil {
		t.Fatal(err)
	}
	got, err := st.Contact(ctx, org, c.WaID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Lu Fernández" || !cmp.Equal(got.LineIDs, []string{"l1", "l2"}) {
		t.Errorf("contact = %q on %v, want Lu Fernández on [l1 l2]", got.Name, got.LineIDs)
	}
	for q, want := range map[string][]string{"fern": {c.WaID}, "lu": {c.WaID}, "lucia": nil, "perez": nil, "5491155550101": {c.WaID}} {
		if diff := cmp.Diff(want, searchWas(t, st, org, q)); diff != "" {
			t.Errorf("after rename, search %q (-want +got):\n%s", q, diff)
		}
	}
	// CreateContact leaves an existing contact as it is.
	if err := st.CreateContact(ctx, &inbox.Contact{OrgID: org, WaID: c.WaID, Name: "Otro"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Contact(ctx, org, c.WaID); got.Name != "Lu Fernández" {
		t.Errorf("CreateContact renamed an existing contact to %q", got.Name)
	}
}

// TestSaveContactWritesOnlyWhatChanged: a second call with nothing new writes nothing, and a
// new contact costs its item plus one search item per name word and one for the number.
func TestSaveContactWritesOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	counter := store.NewWriteCounter()
	st := store.New(testenv.DynamoDB(t), testenv.Table(t, "test"), counter)
	org := testenv.ID("org")
	c := &inbox.Contact{OrgID: org, WaID: "5491155550201", Name: "Ana María Gómez"}
	if err := st.SaveContact(ctx, c, "l1"); err != nil {
		t.Fatal(err)
	}
	search := 0
	for _, k := range counter.Top(100) {
		if k.Index == "GSI3" {
			search += k.N
		}
	}
	if search != 4 {
		t.Errorf("new contact wrote %d search index entries, want 4 (3 words + number)", search)
	}
	counter.Reset()
	if err := st.SaveContact(ctx, c, "l1"); err != nil {
		t.Fatal(err)
	}
	if units, calls := counter.Units(); calls != 0 {
		t.Errorf("saving an unchanged contact wrote %d times (%.1f units), want none", calls, units)
	}
}

func TestReadMarkers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testenv.Store(t)
	user := testenv.ID("u")
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	ids := []string{testenv.ID("c_"), testenv.ID("c_"), testenv.ID("c_")}
	steps := []struct {
		conv string
		seen int
	}{{ids[0], 3}, {ids[0], 2}, {ids[1], 1}, {ids[1], 5}}
	for _, s := range steps {
		if err := st.MarkRead(ctx, s.conv, user, s.seen, at); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.ReadMarkers(ctx, user, append(ids, ids[0]))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{ids[0]: 3, ids[1]: 5}, got); diff != "" {
		t.Errorf("markers (-want +got):\n%s", diff)
	}
	if got, err := st.ReadMarkers(ctx, "someone-else", ids); err != nil || len(got) != 0 {
		t.Errorf("another user's markers = %v, %v; want none", got, err)
	}
}

func TestLabelsAndLabelFilter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testenv.Store(t)
	org := testenv.ID("org")
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	vip, err := inbox.NewLabel(org, "VIP", "buenos clientes", "#FFD700", "ana", at)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateLabel(ctx, vip); err != nil {
		t.Fatal(err)
	}
	again, _ := inbox.NewLabel(org, "vip", "", "", "bea", at)
	if err := st.CreateLabel(ctx, again); !errors.Is(err, store.ErrExists) {
		t.Errorf("second label named vip: %v, want ErrExists", err)
	}
	labels, err := st.Labels(ctx, org)
	if err != nil || len(labels) != 1 || labels[0].Name != "VIP" || labels[0].Color != "#FFD700" {
		t.Fatalf("labels = %v, %v", labels, err)
	}
	var convs []*inbox.Conversation
	for i, wa := range []string{"5491100000001", "5491100000002", "5491100000003"} {
		c := inbox.NewConversation(org, "l1", inbox.ContactRef{WaID: wa}, at)
		_ = c.Open("sales")
		c.LastActivityAt = at.Add(time.Duration(i) * time.Minute)
		if i != 1 {
			c.Labels = []string{vip.ID}
		}
		convs = append(convs, c)
	}
	if err := st.ImportConversations(ctx, convs); err != nil {
		t.Fatal(err)
	}
	page, _, err := st.ListConversations(ctx, store.ListQuery{Org: org, Status: inbox.StatusOpen, Sources: []store.Source{{Department: "sales"}}, LabelID: vip.ID, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range page {
		got = append(got, c.ID)
	}
	if diff := cmp.Diff([]string{convs[2].ID, convs[0].ID}, got); diff != "" {
		t.Errorf("label filter (-want +got):\n%s", diff)
	}
}
