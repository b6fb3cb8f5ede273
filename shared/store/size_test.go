package store

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/buzon/buzon/shared/inbox"
)

// itemSize is an item's size as DynamoDB bills it: attribute names plus values (strings by
// their UTF-8 bytes, numbers at most 21 bytes, sets by their elements).
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return min(21, len(v.Value)/2+1)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += len(k) + valueSize(e) + 1
		}
		return n
	}
	return 0
}

// TestConversationItemUnder1KB keeps an open conversation at its largest under 1 KB, so each
// write of it, and each index copy, costs one write unit: ids as Buzón makes them (30
// characters, 20 for the organization), a 25-character profile name (WhatsApp's limit) of 4-byte characters, the
// longest preview of 3-byte characters, the most labels, a Cloud API message id, every
// counter at 7 digits. A done conversation also holds a closing reason, but it is written by
// agents' actions, not per inbound message (an inbound message reopens it and clears it).
func TestConversationItemUnder1KB(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	id := func(prefix string) string { return prefix + strings.Repeat("x", 28) }
	c := inbox.NewConversation("o_"+strings.Repeat("x", 18), id("l_"), inbox.ContactRef{WaID: "5491155550001", Name: strings.Repeat("😀", 25)}, at)
	c.Status, c.DepartmentID, c.AssigneeID, c.Cycle = inbox.StatusOpen, id("d_"), id("u_"), 9999
	for i := range inbox.MaxConversationLabels {
		c.Labels = append(c.Labels, inbox.LabelID(fmt.Sprint("label ", i)))
	}
	c.LastActivityAt, c.LastInboundAt, c.WindowExpiresAt, c.WindowOpenedAt = at, at, at.Add(24*time.Hour), at
	c.UnreadCount, c.InboundCount, c.Version = 9999999, 9999999, 9999999
	c.ApplyOutbound(inbox.Preview{Text: strings.Repeat("€", 200), Direction: inbox.Outbound, Type: "interactive", At: at})
	c.RouteRule = "assigned by " + id("u_")
	c.LastAppliedID = "wamid.HBgNNTQ5MTE1NTU1MDAwMRUCABIYIDNBMEE4QjQ0RjQ1QjU0RjU1QjU0RjU1AA=="
	item, err := attributevalue.MarshalMap(toConversationItem(c))
	if err != nil {
		t.Fatal(err)
	}
	if n := itemSize(item); n >= 1024 {
		var parts []string
		for k, v := range item {
			parts = append(parts, fmt.Sprintf("%s=%d", k, len(k)+valueSize(v)))
		}
		t.Errorf("largest conversation item is %d bytes, want under 1024: %s", n, strings.Join(parts, " "))
	} else {
		t.Logf("largest conversation item: %d bytes", n)
	}

	// Collaborators (A7) ride on the item too. With the most of them, the largest item takes
	// 2 write units per write while they collaborate; an ordinary conversation (2 labels, a
	// short name and preview) with the most collaborators stays at one.
	for i := range inbox.MaxCollaborators {
		c.Collaborators = append(c.Collaborators, id(fmt.Sprint("u", i)))
	}
	largest := sizeOf(t, c)
	c.Labels, c.Contact.Name = c.Labels[:2], "Lucía Fernández"
	c.ApplyOutbound(inbox.Preview{Text: "Hola, ¿en qué te puedo ayudar?", Direction: inbox.Outbound, Type: "text", At: at})
	ordinary := sizeOf(t, c)
	if largest >= 2048 || ordinary >= 1024 {
		t.Errorf("with %d collaborators: largest %d bytes (want under 2048), ordinary %d (want under 1024)", inbox.MaxCollaborators, largest, ordinary)
	}
	t.Logf("with %d collaborators: largest %d bytes, ordinary %d", inbox.MaxCollaborators, largest, ordinary)
}

func sizeOf(t *testing.T, c *inbox.Conversation) int {
	t.Helper()
	item, err := attributevalue.MarshalMap(toConversationItem(c))
	if err != nil {
		t.Fatal(err)
	}
	return itemSize(item)
}

// TestSearchItemsSpreadOverShards checks the hot-key budget of contact search: 1,000 messages
// of one line that all come from new contacts with long names (3 name items + the number
// each) put at most ~300 writes on any shard of the organization's search partition.
func TestSearchItemsSpreadOverShards(t *testing.T) {
	t.Parallel()
	per := map[string]int{}
	given := []string{"María", "José", "Lucía", "Juan", "Ana", "Pedro", "Sofía", "Diego"}
	family := []string{"Pérez", "González", "Rodríguez", "Fernández", "López", "Martínez", "Gómez", "Díaz"}
	for i := range 1000 {
		wa := fmt.Sprintf("549115%07d", i*7919%10000000)
		name := fmt.Sprintf("%s %s %s", given[i%8], given[(i/8)%8], family[(i/64)%8])
		for _, term := range searchTerms(&inbox.Contact{Name: name, WaID: wa}) {
			per[searchPK("org", term, wa)]++
		}
	}
	hottest := 0
	for _, n := range per {
		hottest = max(hottest, n)
	}
	if len(per) != searchShards || hottest > 300 {
		t.Errorf("%d shards written, hottest took %d writes per 1,000 new contacts; want %d shards, at most 300", len(per), hottest, searchShards)
	}
	t.Logf("hottest search shard: %d writes per 1,000 new contacts", hottest)
}
