package inbox

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewLabel(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name, label, desc, color string
		wantColor                string
		wantErr                  bool
	}{
		{name: "default color", label: "Urgente", wantColor: DefaultLabelColor},
		{name: "color upper-cased", label: "VIP", color: "#ff8800", wantColor: "#FF8800"},
		{name: "no name", label: "  ", wantErr: true},
		{name: "only symbols", label: "!!!", wantErr: true},
		{name: "name too long", label: strings.Repeat("a", 51), wantErr: true},
		{name: "description too long", label: "x", desc: strings.Repeat("d", 201), wantErr: true},
		{name: "bad color", label: "x", color: "red", wantErr: true},
		{name: "short color", label: "x", color: "#fff", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := NewLabel("org", tc.label, tc.desc, tc.color, "ana", now)
			if tc.wantErr {
				if !errors.Is(err, ErrBadLabel) {
					t.Fatalf("err = %v, want ErrBadLabel", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.Color != tc.wantColor || l.ID != LabelID(tc.label) || !strings.HasPrefix(l.ID, "lb_") {
				t.Errorf("label = %+v", l)
			}
		})
	}
	if LabelID("Urgente") != LabelID(" urgente ") || LabelID("Atención") != LabelID("atencion") || LabelID("a") == LabelID("b") {
		t.Error("label ids do not follow the folded name")
	}
}

func TestRelabel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                 string
		has, add, remove     []string
		want, added, removed []string
		err                  error
	}{
		{name: "add", add: []string{"a", "b"}, want: []string{"a", "b"}, added: []string{"a", "b"}},
		{name: "add again is no change", has: []string{"a"}, add: []string{"a"}, want: []string{"a"}},
		{name: "remove", has: []string{"a", "b"}, remove: []string{"a", "x"}, want: []string{"b"}, removed: []string{"a"}},
		{name: "both", has: []string{"a"}, add: []string{"b", "b"}, remove: []string{"a"}, want: []string{"b"}, added: []string{"b"}, removed: []string{"a"}},
		{name: "too many", has: []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}, add: []string{"11"},
			want: []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}, err: ErrTooManyLabels},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &Conversation{Labels: tc.has}
			added, removed, err := c.Relabel(tc.add, tc.remove)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if diff := cmp.Diff(tc.want, c.Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([][]string{tc.added, tc.removed}, [][]string{added, removed}); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
}
