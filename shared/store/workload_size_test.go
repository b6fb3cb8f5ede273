package store

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/buzon/buzon/shared/inbox"
)

// TestWaitingConversationItemUnder1KB: a waiting conversation carries the waiting index keys
// (GSI5) instead of an assignee and its GSI2 keys, and stays under 1 KB at its largest too.
func TestWaitingConversationItemUnder1KB(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	id := func(prefix string) string { return prefix + strings.Repeat("x", 28) }
	c := inbox.NewConversation("o_"+strings.Repeat("x", 18), id("l_"), inbox.ContactRef{WaID: "5491155550001", Name: strings.Repeat("😀", 25)}, at)
	c.Status, c.DepartmentID, c.Cycle = inbox.StatusOpen, id("d_"), 9999
	for i := range inbox.MaxConversationLabels {
		c.Labels = append(c.Labels, inbox.LabelID(fmt.Sprint("label ", i)))
	}
	c.LastActivityAt, c.LastInboundAt, c.WindowExpiresAt = at, at, at.Add(24*time.Hour)
	c.UnreadCount, c.InboundCount, c.Version = 9999999, 9999999, 9999999
	c.ApplyOutbound(inbox.Preview{Text: strings.Repeat("€", 200), Direction: inbox.Outbound, Type: "interactive", At: at})
	c.RouteRule = "assignee_away" // the longest route a waiting conversation holds
	c.LastAppliedID = "wamid.HBgNNTQ5MTE1NTU1MDAwMRUCABIYIDNBMEE4QjQ0RjQ1QjU0RjU1QjU0RjU1AA=="
	it := toConversationItem(c)
	if it.GSI5PK == "" {
		t.Fatal("a waiting conversation has no waiting index keys")
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		t.Fatal(err)
	}
	if n := itemSize(item); n >= 1024 {
		t.Errorf("largest waiting conversation item is %d bytes, want under 1024", n)
	} else {
		t.Logf("largest waiting conversation item: %d bytes", n)
	}
}
