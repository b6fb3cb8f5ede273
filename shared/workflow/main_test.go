package workflow

import (
	"io"
	"log/slog"
	"os"
	"testing"
)

// TestMain keeps the workflows' logs out of test output.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(m.Run())
}
