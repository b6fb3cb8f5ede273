package main

import (
	"io"
	"log/slog"
	"os"
	"testing"
)

// TestMain keeps the handlers' logs out of test and benchmark output.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(m.Run())
}
