package testenv

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Calls counts the requests a DynamoDB client sent, by operation (GetItem, Query, …): the
// round trips a piece of code costs, for benchmarks that report them per message. It is safe
// for concurrent use.
type Calls struct {
	mu sync.Mutex
	by map[string]int
}

// Total is the number of requests sent.
func (c *Calls) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.by {
		n += v
	}
	return n
}

// Reset forgets every count.
func (c *Calls) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.by = map[string]int{}
}

// PerUnit lists the counts divided by n, by operation ("GetItem 1.00, PutItem 2.00"), for a
// benchmark's log.
func (c *Calls) PerUnit(n int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ops := make([]string, 0, len(c.by))
	for op := range c.by {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	parts := make([]string, len(ops))
	for i, op := range ops {
		parts[i] = fmt.Sprintf("%s %.2f", op, float64(c.by[op])/float64(n))
	}
	return strings.Join(parts, ", ")
}

// callCounter is the client's HTTP client: it counts each request by the operation its
// X-Amz-Target header names, and may add a delay to each (a round trip to AWS).
type callCounter struct {
	calls *Calls
	delay time.Duration
	next  dynamodb.HTTPClient
}

func (c callCounter) Do(r *http.Request) (*http.Response, error) {
	_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	c.calls.mu.Lock()
	c.calls.by[op]++
	c.calls.mu.Unlock()
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	return c.next.Do(r)
}

// CountedDynamoDB returns a client of DynamoDB Local whose requests are counted, each delayed
// by delay first (0: none; a few milliseconds play a round trip to the table in AWS).
func CountedDynamoDB(t testing.TB, delay time.Duration) (*dynamodb.Client, *Calls) {
	calls := &Calls{by: map[string]int{}}
	opts := DynamoDB(t).Options()
	opts.HTTPClient = callCounter{calls: calls, delay: delay, next: opts.HTTPClient}
	return dynamodb.New(opts), calls
}
