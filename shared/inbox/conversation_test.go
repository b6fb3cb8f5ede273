package inbox

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestInboundCountNeverDecreases: a reply or closing resets the unanswered count; the inbound
// count read markers are compared with only grows, and a redelivery does not count twice.
func TestInboundCountNeverDecreases(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	c := NewConversation("o", "l", ContactRef{WaID: "5491100000001"}, at)
	c.ApplyInbound(CustomerMessage{ProviderID: "a", At: at}, "sales")
	c.ApplyInbound(CustomerMessage{ProviderID: "a", At: at}, "sales")
	c.ApplyInbound(CustomerMessage{ProviderID: "b", At: at.Add(time.Second)}, "sales")
	if c.UnreadCount != 2 || c.InboundCount != 2 {
		t.Fatalf("after two messages: unanswered %d inbound %d, want 2 and 2", c.UnreadCount, c.InboundCount)
	}
	c.ApplyOutbound(Preview{Text: "hola", Direction: Outbound, At: at.Add(2 * time.Second)})
	_ = c.Close("resuelto", at.Add(3*time.Second))
	c.ApplyInbound(CustomerMessage{ProviderID: "c", At: at.Add(4 * time.Second)}, "sales")
	if c.UnreadCount != 1 || c.InboundCount != 3 {
		t.Errorf("after a reply, closing and a message: unanswered %d inbound %d, want 1 and 3", c.UnreadCount, c.InboundCount)
	}
}

func TestPreviewAndNameAreClipped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		wantText   string
	}{
		{name: "short", text: "hola", wantText: "hola"},
		{name: "80 ASCII runes kept", text: strings.Repeat("a", 80), wantText: strings.Repeat("a", 80)},
		{name: "81 ASCII runes cut", text: strings.Repeat("a", 81), wantText: strings.Repeat("a", 79) + "…"},
		{name: "emoji cut by bytes", text: strings.Repeat("😀", 40), wantText: strings.Repeat("😀", 24) + "…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := Preview{Text: tc.text}.trimmed()
			if p.Text != tc.wantText || len(p.Text) > previewBytes || !utf8.ValidString(p.Text) {
				t.Errorf("preview = %q (%d bytes), want %q", p.Text, len(p.Text), tc.wantText)
			}
		})
	}
	if got := ClipName(strings.Repeat("ñ", 40)); got != strings.Repeat("ñ", 32) {
		t.Errorf("ClipName = %q, want 32 ñ (64 bytes)", got)
	}
	if got := ClipName("Lucía Pérez"); got != "Lucía Pérez" {
		t.Errorf("ClipName cut a short name: %q", got)
	}
}
