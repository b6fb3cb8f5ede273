package main

import (
	"context"
	"sync"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

// unreadOf lists user's view and returns each conversation's unread_count.
func (w *world) unreadOf(t *testing.T, user, query string) map[string]float64 {
	t.Helper()
	status, out := w.call(t, user, "GET", "/v1/conversations"+query, "")
	if status != 200 {
		t.Fatalf("%s lists: %d %v", user, status, out)
	}
	got := map[string]float64{}
	for _, it := range out["items"].([]any) {
		m := it.(map[string]any)
		got[m["id"].(string)] = m["unread_count"].(float64)
	}
	return got
}

// TestUnreadPerAgent: reading a conversation clears it for the reader only (V4).
func TestUnreadPerAgent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	conv := w.customer(t, "5491100000901", "wamid.u1", "hola", t0)
	w.customer(t, "5491100000901", "wamid.u2", "¿están?", t0.Add(time.Second))
	quiet := w.customer(t, "5491100000902", "wamid.u3", "hola", t0.Add(time.Minute))
	if status, out := w.call(t, "admin", "POST", "/v1/conversations/"+quiet+"/read", ""); status != 200 || out["unread_count"].(float64) != 0 {
		t.Fatalf("admin reads: %d %v", status, out)
	}
	before, _ := w.st.Conversation(ctx, w.org, conv)
	if status, out := w.call(t, "ana", "POST", "/v1/conversations/"+conv+"/read", ""); status != 200 || out["unread_count"].(float64) != 0 {
		t.Fatalf("ana reads: %d %v", status, out)
	}
	if status, _ := w.call(t, "carl", "POST", "/v1/conversations/"+conv+"/read", ""); status != 404 {
		t.Errorf("another department marks read: %d, want 404", status)
	}
	after, _ := w.st.Conversation(ctx, w.org, conv)
	if after.Version != before.Version {
		t.Errorf("reading wrote the conversation (version %d → %d)", before.Version, after.Version)
	}

	if diff := cmp.Diff(map[string]float64{conv: 0, quiet: 1}, w.unreadOf(t, "ana", "")); diff != "" {
		t.Errorf("ana after reading (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]float64{conv: 2, quiet: 1}, w.unreadOf(t, "bea", "")); diff != "" {
		t.Errorf("bea, who read nothing (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]float64{quiet: 1}, w.unreadOf(t, "ana", "?unread=true")); diff != "" {
		t.Errorf("ana's unread view (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]float64{conv: 2, quiet: 1}, w.unreadOf(t, "bea", "?unread=true")); diff != "" {
		t.Errorf("bea's unread view (-want +got):\n%s", diff)
	}

	// A new customer message is unread for both again; reading twice is harmless.
	w.customer(t, "5491100000901", "wamid.u4", "hola?", t0.Add(2*time.Minute))
	_, one := w.call(t, "ana", "GET", "/v1/conversations/"+conv, "")
	if one["unread_count"].(float64) != 1 || one["unanswered_count"].(float64) != 3 {
		t.Errorf("ana's conversation after a new message: unread %v unanswered %v, want 1 and 3", one["unread_count"], one["unanswered_count"])
	}
	if diff := cmp.Diff(map[string]float64{conv: 3, quiet: 1}, w.unreadOf(t, "bea", "")); diff != "" {
		t.Errorf("bea after a new message (-want +got):\n%s", diff)
	}
	for i := 0; i < 2; i++ {
		if status, _ := w.call(t, "bea", "POST", "/v1/conversations/"+conv+"/read", ""); status != 200 {
			t.Fatalf("bea reads: %d", status)
		}
	}
	if diff := cmp.Diff(map[string]float64{conv: 0, quiet: 1}, w.unreadOf(t, "bea", "")); diff != "" {
		t.Errorf("bea after reading (-want +got):\n%s", diff)
	}
	// An action answers with the actor's own unread count.
	if status, out := w.call(t, "ana", "POST", "/v1/conversations/"+conv+"/claim", ""); status != 200 || out["unread_count"].(float64) != 1 {
		t.Errorf("ana claims: %d %v, want her unread count 1", status, out)
	}
}

// TestListReadsMarkersInOneCall: a page's unread counts cost one BatchGetItem, not a read per
// conversation.
func TestListReadsMarkersInOneCall(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for i, wa := range []string{"5491100000911", "5491100000912", "5491100000913", "5491100000914", "5491100000915", "5491100000916"} {
		w.customer(t, wa, "wamid.m"+wa, "hola", t0.Add(time.Duration(i)*time.Second))
	}
	var mu sync.Mutex
	calls := map[string]int{}
	db := dynamodb.New(testenv.DynamoDB(t).Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("count", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				mu.Lock()
				calls[awsmiddleware.GetOperationName(ctx)]++
				mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
		})
	})
	w.api.st = store.New(db, w.st.Table(), nil)
	if got := w.unreadOf(t, "bea", ""); len(got) != 6 {
		t.Fatalf("bea sees %d conversations, want 6", len(got))
	}
	// GetItem: the caller and the line; Query: the view's partitions.
	if calls["BatchGetItem"] != 1 || calls["GetItem"] > 2 {
		t.Errorf("calls = %v, want one BatchGetItem and at most 2 GetItem", calls)
	}
}
