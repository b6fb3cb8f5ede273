package main

import (
	"context"

	"encoding/json"
	"github.com/buzon/buzon/shared/testenv"
	"testing"
	"time"
)

// TestStepPlan checks what a sweep step offers: rate × duration distinct messages, perPost a
// POST, each conversation's provider timestamps rising across steps, and the share of POSTs
// sent again carrying no new message.
func TestStepPlan(t *testing.T) {
	o := options{conversations: 50, perPost: 3, dupShare: 0.2}
	seq := make([]int, o.conversations)
	t0 := time.Unix(1_700_000_000, 0)
	seen := map[string]bool{}
	last := map[string]int64{}
	for step, rate := range []int{40, 80} {
		p := stepPlan(step, rate, 5*time.Second, o, seq, t0)
		msgs, dups := 0, 0
		for i, body := range p.posts {
			ids := p.postMsgs[i]
			if ids == nil {
				dups++
				continue
			}
			if len(ids) > o.perPost {
				t.Fatalf("step %d: a POST carries %d messages, want at most %d", step, len(ids), o.perPost)
			}
			var d struct {
				Entry []struct {
					Changes []struct {
						Value struct {
							Messages []struct {
								From, ID, Timestamp string
							}
						}
					}
				}
			}
			if err := json.Unmarshal(body, &d); err != nil {
				t.Fatalf("step %d: POST %d is not JSON: %v", step, i, err)
			}
			for _, m := range d.Entry[0].Changes[0].Value.Messages {
				if seen[m.ID] {
					t.Fatalf("message %s offered twice", m.ID)
				}
				seen[m.ID] = true
				msgs++
				var ts int64
				if err := json.Unmarshal([]byte(m.Timestamp), &ts); err != nil {
					t.Fatal(err)
				}
				if ts <= last[m.From] && last[m.From] != 0 {
					t.Errorf("conversation %s: timestamp %d after %d", m.From, ts, last[m.From])
				}
				last[m.From] = ts
			}
		}
		if want := rate * 5; msgs != want {
			t.Errorf("step %d: %d messages, want %d", step, msgs, want)
		}
		if dups != p.dups || dups == 0 {
			t.Errorf("step %d: %d POSTs sent again, plan says %d (want some)", step, dups, p.dups)
		}
	}
}

func TestPostIndex(t *testing.T) {
	for url, want := range map[string]int{"http://x/webhooks/meta?i=0": 0, "http://x/webhooks/meta?i=417": 417} {
		if got, ok := postIndex(url); !ok || got != want {
			t.Errorf("postIndex(%q) = %d, %v; want %d", url, got, ok, want)
		}
	}
	for _, url := range []string{"", "http://x/webhooks/meta", "http://x/webhooks/meta?i=x"} {
		if _, ok := postIndex(url); ok {
			t.Errorf("postIndex(%q) ok, want not", url)
		}
	}
}

// TestCeilings runs both ceiling measurements briefly against the emulators: each moves
// messages (a measurement that silently does nothing would make every ratio meaningless).
func TestCeilings(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the emulators")
	}
	s := &stack{db: testenv.DynamoDB(t), sqs: testenv.SQS(t)}
	c, err := measureCeilings(context.Background(), s, 4, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if c.SQSMsgs <= 0 || c.DynamoDBMsgs <= 0 || c.Lower != min(c.SQSMsgs, c.DynamoDBMsgs) {
		t.Errorf("ceilings = %+v, want both positive and the lower one named", c)
	}
}
