package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

// TestViewPagesAreExact pages through views over many partitions (eight queue shards and
// agents' partitions) and checks that every page is exactly the next conversations by
// activity: the view reads each partition a little and stops once the page is certain, so a
// partition it stopped reading too early would drop or misplace a conversation. The inbox is
// skewed on purpose: one agent holds most of the recent activity, so their partition must be
// read past its first share, and a label on a few conversations makes the filter read far.
func TestViewPagesAreExact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testenv.Store(t)
	org := testenv.ID("org")
	t0 := time.Now().Add(-48 * time.Hour).Truncate(time.Millisecond)
	r := rand.New(rand.NewPCG(1, 2))
	var convs []*inbox.Conversation
	for i := range 300 {
		c := inbox.NewConversation(org, "l1", inbox.ContactRef{WaID: fmt.Sprintf("54911%08d", i)}, t0)
		_ = c.Open("sales")
		switch {
		case i >= 200 && i%4 != 0: // the newest activity: mostly one agent's
			c.AssigneeID = "busy"
		case i%3 == 0:
			c.AssigneeID = "quiet"
		case i%3 == 1:
			c.AssigneeID = "other"
		}
		if i%37 == 0 {
			c.Labels = []string{"rare"}
		}
		if i%11 == 0 {
			c.LineID = "l2"
		}
		// Some conversations share a millisecond: the id orders them.
		c.LastActivityAt = t0.Add(time.Duration(i/2)*time.Minute + time.Duration(r.IntN(3))*time.Second)
		convs = append(convs, c)
	}
	if err := st.ImportConversations(ctx, convs); err != nil {
		t.Fatal(err)
	}

	unassigned := store.Source{Department: "sales"}
	assigned := store.Source{Department: "sales", Assigned: true}
	busy, quiet := store.Source{Assignee: "busy"}, store.Source{Assignee: "quiet"}
	tests := []struct {
		name    string
		sources []store.Source
		line    string
		label   string
		in      func(c *inbox.Conversation) bool
	}{
		{"default view: unassigned and mine", []store.Source{unassigned, busy}, "", "",
			func(c *inbox.Conversation) bool { return c.AssigneeID == "" || c.AssigneeID == "busy" }},
		{"a quiet agent's view", []store.Source{unassigned, quiet}, "", "",
			func(c *inbox.Conversation) bool { return c.AssigneeID == "" || c.AssigneeID == "quiet" }},
		{"whole department, overlapping sources", []store.Source{unassigned, assigned, busy}, "", "",
			func(c *inbox.Conversation) bool { return true }},
		{"one partition", []store.Source{busy}, "", "",
			func(c *inbox.Conversation) bool { return c.AssigneeID == "busy" }},
		{"rare label", []store.Source{unassigned, assigned}, "", "rare",
			func(c *inbox.Conversation) bool { return slices.Contains(c.Labels, "rare") }},
		{"one line", []store.Source{unassigned, busy}, "l2", "",
			func(c *inbox.Conversation) bool {
				return c.LineID == "l2" && (c.AssigneeID == "" || c.AssigneeID == "busy")
			}},
	}
	for _, tt := range tests {
		var want []string
		byActivity := slices.Clone(convs)
		slices.SortFunc(byActivity, func(a, b *inbox.Conversation) int {
			if c := b.LastActivityAt.Compare(a.LastActivityAt); c != 0 {
				return c
			}
			return strings.Compare(b.ID, a.ID)
		})
		for _, c := range byActivity {
			if tt.in(c) {
				want = append(want, c.ID)
			}
		}
		for _, limit := range []int{1, 7, 25, 100} {
			t.Run(fmt.Sprintf("%s/limit=%d", tt.name, limit), func(t *testing.T) {
				t.Parallel()
				var got []string
				cursor := ""
				for pages := 0; ; pages++ {
					if pages > len(want)+1 {
						t.Fatalf("more pages than conversations: the cursor does not move")
					}
					page, next, err := st.ListConversations(ctx, store.ListQuery{Org: org, Status: inbox.StatusOpen, Sources: tt.sources,
						LineID: tt.line, LabelID: tt.label, Limit: limit, Cursor: cursor})
					if err != nil {
						t.Fatal(err)
					}
					if len(page) > limit || (next != "" && len(page) < limit) {
						t.Fatalf("page %d: %d items with next %q (limit %d)", pages, len(page), next, limit)
					}
					for _, c := range page {
						got = append(got, c.ID)
					}
					if next == "" {
						break
					}
					cursor = next
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("conversations over every page (-want +got):\n%s", diff)
				}
			})
		}
	}
}
