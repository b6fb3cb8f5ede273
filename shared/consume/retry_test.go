package consume

import (
	"testing"
	"time"

	"github.com/buzon/buzon/shared/queue"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		receives int
		want     time.Duration
	}{
		{0, 5 * time.Second}, // no receive count: as the first
		{1, 5 * time.Second},
		{2, 10 * time.Second},
		{3, 20 * time.Second},
		{6, 160 * time.Second},
		{7, BackoffMax}, // 320 s, capped
		{MaxReceives, BackoffMax},
		{1000, BackoffMax},
	}
	for _, tt := range tests {
		if got := Backoff(tt.receives); got != tt.want {
			t.Errorf("Backoff(%d) = %v, want %v", tt.receives, got, tt.want)
		}
	}
}

// TestOutageSizing: the queues' settings carry an outage of Outage, even in the worst case
// (every wait the shorter of the backoff and the visibility timeout), and the settings this
// replaced did not.
func TestOutageSizing(t *testing.T) {
	t.Parallel()
	if got := Tolerance(Backoff, Visibility, MaxReceives); got < Outage {
		t.Errorf("Tolerance = %v with %d receives: an outage of %v dead-letters good messages", got, MaxReceives, Outage)
	}
	// With visibility changed as planned, the backoff alone spaces the receives.
	if got := Tolerance(Backoff, BackoffMax, MaxReceives); got < 2*Outage {
		t.Errorf("Tolerance with backoff = %v, want ≥ %v", got, 2*Outage)
	}
	// Before: no backoff (every retry after the 180 s visibility timeout), 5 receives.
	if got := Tolerance(func(int) time.Duration { return Visibility }, Visibility, 5); got >= Outage {
		t.Errorf("old settings tolerate %v; the test no longer shows what changed", got)
	}
	if Visibility > queue.MaxVisibility || BackoffMax > queue.MaxVisibility || MaxReceives < 1 || MaxReceives > 1000 {
		t.Errorf("Visibility %v, BackoffMax %v or MaxReceives %d outside SQS's limits (12 h, maxReceiveCount 1–1,000)",
			Visibility, BackoffMax, MaxReceives)
	}
}
