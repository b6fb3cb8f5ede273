package consume

import "time"

// How the consumed queues and the runner retry, written once: the deployment's declaration
// (shared/deploy) gives its queues Visibility and MaxReceives, from which infra/stack.go and
// the local stack configure them, and the runner backs off with Backoff.
//
// A transient failure (the table or SQS unavailable, throttled, a provider answering 5xx)
// comes back after Backoff(receives): 5 s, 10 s, 20 s, ... doubling up to BackoffMax. The
// queue moves a message to its dead-letter queue once it was received MaxReceives times, so
// MaxReceives is sized for an outage: Tolerance gives how long one can last, in the worst
// case, before a message that fails through all of it is dead-lettered. The worst case is an
// invocation that cannot change visibility (it timed out, or SQS refused the call): the
// message then comes back after the queue's Visibility rather than its backoff. With these
// numbers that is 74 minutes, over the hour the design asks for (Outage); when visibility can
// be changed, 2 hours. Until then a conversation waits, in order, and nothing is lost.
//
// The price: a record whose failure is wrongly classified transient (it never succeeds) holds
// its conversation for those 2 hours before it reaches the dead-letter queue, instead of 15
// minutes. Handlers therefore return Poison for every failure they know to be permanent.
const (
	// Visibility is the consumed queues' visibility timeout: six times the consumers' timeout
	// (30 s), as Lambda advises for SQS event sources, so a batch still being retried by
	// Lambda is not delivered a second time.
	Visibility = 180 * time.Second
	// MaxReceives is the queues' maxReceiveCount (redrive to the dead-letter queue).
	MaxReceives = 30
	// BackoffFirst is the delay after a record's first failed receive; each further failure
	// doubles it, up to BackoffMax.
	BackoffFirst = 5 * time.Second
	// BackoffMax caps the backoff: once an outage ends, a waiting conversation resumes within
	// this long.
	BackoffMax = 5 * time.Minute
	// Outage is the longest outage of the table or the queues that must dead-letter nothing.
	Outage = time.Hour
)

// Backoff is how long a record that failed on its nth receive waits before it comes back.
func Backoff(receives int) time.Duration {
	d := BackoffFirst
	for i := 1; i < receives && d < BackoffMax; i++ {
		d *= 2
	}
	return min(d, BackoffMax)
}

// Tolerance is how long an outage may last, at worst, before a message that fails on every
// receive through it is dead-lettered: its last receive comes after maxReceives−1 waits, each
// at least the smaller of its backoff and the queue's visibility timeout.
func Tolerance(backoff func(receives int) time.Duration, visibility time.Duration, maxReceives int) time.Duration {
	var t time.Duration
	for n := 1; n < maxReceives; n++ {
		t += min(backoff(n), visibility)
	}
	return t
}
