package store

import (
	"testing"
	"time"
)

// TestEntityOf: a read that finds nothing names what it looked for, which the API's "not
// found" repeats.
func TestEntityOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, pk, sk, want string
	}{
		{"user", orgPK("o"), userSK("u"), "user"},
		{"department", orgPK("o"), deptSK("d"), "department"},
		{"line", orgPK("o"), lineSK("l"), "line"},
		{"organization", orgPK("o"), skOrg, "organization"},
		{"conversation", convPK("c"), skConversation, "conversation"},
		{"message", convPK("c"), threadSK(time.Unix(1, 0), "m"), "message"},
		{"pointer", convPK("c"), pointerSK("wamid"), "message"},
		{"contact", contactPK("o", "1"), skContact, "contact"},
		{"quick reply", quickReplyPK("o"), "qr_1", "quick reply"},
		{"template", templatePK("o"), templateSK("w", "n", "es"), "template"},
		{"line address", lineAddrPK("meta", "1"), skAddr, "line"},
		{"unnamed", jobPK("window"), skJob, "item"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := entityOf(tt.pk, tt.sk); got != tt.want {
				t.Errorf("entityOf(%q, %q) = %q, want %q", tt.pk, tt.sk, got, tt.want)
			}
		})
	}
}
