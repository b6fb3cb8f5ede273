package inbox

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/hours"
)

// TestWindowOpenedAt: a window opens with the message that finds it closed and keeps its
// opening while the customer writes within it; an older message delivered late changes
// nothing.
func TestWindowOpenedAt(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	c := NewConversation("o", "l", ContactRef{WaID: "5491100000001"}, at)
	steps := []struct {
		name       string
		id         string
		at         time.Time
		wantOpened time.Time
	}{
		{"first message opens it", "a", at, at},
		{"within the window", "b", at.Add(23 * time.Hour), at},
		{"within the extended window", "c", at.Add(46 * time.Hour), at},
		{"late delivery of an older one", "d", at.Add(time.Hour), at},
		{"after it closed: a new one", "e", at.Add(71 * time.Hour), at.Add(71 * time.Hour)},
	}
	for _, s := range steps {
		c.ApplyInbound(CustomerMessage{ProviderID: s.id, At: s.at}, "sales")
		if !c.WindowOpenedAt.Equal(s.wantOpened) {
			t.Errorf("%s: window opened %s, want %s", s.name, c.WindowOpenedAt, s.wantOpened)
		}
	}
}

func TestTriggered(t *testing.T) {
	t.Parallel()
	spec := &hours.Spec{TimeZone: "America/Argentina/Buenos_Aires", Weekly: map[string][]string{"fri": {"09:00-18:00"}}}
	all := []AutoReply{{TriggerFirstContact, "hola"}, {TriggerOutsideHours, "cerrado"}, {TriggerAlways, "recibido"}}
	open := time.Date(2026, 11, 20, 13, 0, 0, 0, time.UTC)   // Friday 10:00 in Buenos Aires
	closed := time.Date(2026, 11, 20, 22, 0, 0, 0, time.UTC) // Friday 19:00
	tests := []struct {
		name    string
		line    Line
		at      time.Time
		first   bool
		wantFor []Trigger
	}{
		{"first contact outside hours: all, in order", Line{Hours: spec, AutoReplies: all}, closed, true, []Trigger{TriggerFirstContact, TriggerOutsideHours, TriggerAlways}},
		{"known customer in hours", Line{Hours: spec, AutoReplies: all}, open, false, []Trigger{TriggerAlways}},
		{"no hours: never outside", Line{AutoReplies: all}, closed, false, []Trigger{TriggerAlways}},
		{"no auto-replies", Line{Hours: spec}, closed, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []Trigger
			for _, r := range tc.line.Triggered(tc.at, tc.first) {
				got = append(got, r.Trigger)
			}
			if diff := cmp.Diff(tc.wantFor, got); diff != "" {
				t.Errorf("triggered (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateAutoReplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rs   []AutoReply
		ok   bool
	}{
		{"none", nil, true},
		{"all three", []AutoReply{{TriggerAlways, "a"}, {TriggerFirstContact, "b"}, {TriggerOutsideHours, "c"}}, true},
		{"unknown trigger", []AutoReply{{"sometimes", "a"}}, false},
		{"twice the same", []AutoReply{{TriggerAlways, "a"}, {TriggerAlways, "b"}}, false},
		{"blank text", []AutoReply{{TriggerAlways, "  "}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateAutoReplies(tc.rs)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrBadAutoReply)) {
				t.Errorf("ValidateAutoReplies = %v, want ok %v", err, tc.ok)
			}
		})
	}
}
