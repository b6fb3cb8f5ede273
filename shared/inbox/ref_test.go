package inbox

import (
	"testing"
	"time"
)

// FuzzParseRef feeds arbitrary strings to ParseRef, as a status webhook's echo of a message
// reference: it never panics, and what it accepts names a message whose Ref parses the same.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"", "c_k3fq2w.1763632800123.m_0187a1", "c.1.m.with.dots", "..", "c.-1.m", "c.x.m", "c.99999999999999999999.m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		conv, at, id, ok := ParseRef(ref)
		if !ok {
			return
		}
		m := &Message{ConversationID: conv, At: at, ID: id}
		conv2, at2, id2, ok2 := ParseRef(m.Ref())
		if !ok2 || conv2 != conv || !at2.Equal(at) || id2 != id {
			t.Fatalf("ParseRef(%q) = %q %v %q; its Ref %q parses to %q %v %q %v", ref, conv, at, id, m.Ref(), conv2, at2, id2, ok2)
		}
	})
}

func TestRefRoundTrip(t *testing.T) {
	t.Parallel()
	m := &Message{ConversationID: "c_k3fq2w", At: time.UnixMilli(1763632800123), ID: "m_0187a1"}
	conv, at, id, ok := ParseRef(m.Ref())
	if !ok || conv != m.ConversationID || !at.Equal(m.At) || id != m.ID {
		t.Errorf("ParseRef(%q) = %q %v %q %v", m.Ref(), conv, at, id, ok)
	}
	for _, bad := range []string{"", "c_1", "c_1.123", ".1.m", "c.1.", "c.x.m", "c.-5.m"} {
		if _, _, _, ok := ParseRef(bad); ok {
			t.Errorf("ParseRef(%q) accepted", bad)
		}
	}
}
