package ingest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/ingest"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

func (f *fixture) search(t *testing.T, q string) []string {
	t.Helper()
	query, _ := inbox.ParseContactQuery(q)
	found, err := f.st.SearchContacts(context.Background(), f.org, query, 10)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range found {
		out = append(out, c.WaID+" "+c.Name+" "+strings.Join(c.LineIDs, ","))
	}
	return out
}

// TestContactFollowsProfileAndLines: the first message creates the contact and its search
// items; the same customer on another line adds that line; a new WhatsApp profile name
// replaces the old name's words in the search.
func TestContactFollowsProfileAndLines(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	wa := "5491100000601"
	ev := f.msg("wamid.c1", wa, t0, "hola")
	ev.Message.ProfileName = "Lucía Pérez"
	f.apply(t, ev)
	if diff := cmp.Diff([]string{wa + " Lucía Pérez lm"}, f.search(t, "luc")); diff != "" {
		t.Errorf("after the first message (-want +got):\n%s", diff)
	}
	f.apply(t, &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderTwilio, ReceivedAt: t0.Add(time.Minute),
		Message: &events.Message{ID: "SMc2", Line: events.Line{Address: f.twil.Address}, From: wa, ProfileName: "Lucía Pérez", Type: "text", Text: "hola"}})
	if diff := cmp.Diff([]string{wa + " Lucía Pérez lm,lt"}, f.search(t, "54911000006")); diff != "" {
		t.Errorf("after a message on the second line (-want +got):\n%s", diff)
	}
	ev = f.msg("wamid.c3", wa, t0.Add(2*time.Minute), "cambié mi nombre")
	ev.Message.ProfileName = "Lu Fernández"
	f.apply(t, ev)
	if got := f.search(t, "perez"); len(got) != 0 {
		t.Errorf("the old name still finds the contact: %v", got)
	}
	if diff := cmp.Diff([]string{wa + " Lu Fernández lm,lt"}, f.search(t, "fernan")); diff != "" {
		t.Errorf("after the rename (-want +got):\n%s", diff)
	}
	if c := f.conv(t, f.meta, wa); c.Contact.Name != "Lu Fernández" || c.InboundCount != 2 {
		t.Errorf("conversation shows %q with %d inbound, want Lu Fernández with 2", c.Contact.Name, c.InboundCount)
	}
}

// TestSteadyStateMessagesLeaveContactAlone: once a conversation exists, a customer's messages
// write nothing to the contact or the search index: the write budget per message holds.
func TestSteadyStateMessagesLeaveContactAlone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	counter := store.NewWriteCounter()
	f.st = store.New(testenv.DynamoDB(t), testenv.Table(t, "test"), counter)
	f.p = ingest.New(f.st, func() time.Time { return f.clock }, nil)
	wa := "5491100000602"
	f.apply(t, f.msg("wamid.s0", wa, t0, "hola"))
	counter.Reset()
	for i, id := range []string{"wamid.s1", "wamid.s2", "wamid.s3", "wamid.s4"} {
		f.apply(t, f.msg(id, wa, t0.Add(time.Duration(i+1)*time.Second), "¿hay stock?"))
	}
	for _, k := range counter.Top(100) {
		if k.Index == "GSI3" || strings.HasPrefix(k.Key, "CONTACT#") {
			t.Errorf("a message of a known customer wrote %s %s (%d times)", k.Index, k.Key, k.N)
		}
	}
	if units, _ := counter.Units(); units/4 > 4 {
		t.Errorf("%.1f write units per message, want at most 4", units/4)
	}
}
