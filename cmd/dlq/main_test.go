package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/buzon/buzon/shared/deploy"
)

// TestQueuesAreTheDeclarations: the command knows every declared queue (it once listed
// inbound and outbound only, and missed the media queue's dead letters), and refuses others.
func TestQueuesAreTheDeclarations(t *testing.T) {
	err := run(context.Background(), []string{"redrive"}, io.Discard)
	for _, q := range deploy.Buzon.Queues {
		if err == nil || !strings.Contains(err.Error(), q.Name) {
			t.Errorf("redrive without a queue: %v, want it to name %s", err, q.Name)
		}
	}
	if err := run(context.Background(), []string{"list", "nope"}, io.Discard); err == nil || !strings.Contains(err.Error(), `unknown queue "nope"`) {
		t.Errorf("list nope: %v, want unknown queue", err)
	}
}
