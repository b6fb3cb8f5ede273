package boot

import (
	"context"
	"testing"

	"github.com/aws/smithy-go"
)

// TestRetryerRidesOutThrottling: under sustained throttling every call still gets its retries
// (the SDK's default retry quota would refuse them after about a hundred), and the number and
// spacing of attempts stay bounded.
func TestRetryerRidesOutThrottling(t *testing.T) {
	t.Parallel()
	r := Retryer()
	if got := r.MaxAttempts(); got != retryMaxAttempts {
		t.Errorf("MaxAttempts = %d, want %d", got, retryMaxAttempts)
	}
	throttled := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	if !r.IsErrorRetryable(throttled) {
		t.Fatal("a throttling error is not retryable")
	}
	for i := range 1000 {
		if _, err := r.GetRetryToken(context.Background(), throttled); err != nil {
			t.Fatalf("retry %d refused: %v", i, err)
		}
	}
	for attempt := 1; attempt < retryMaxAttempts; attempt++ {
		d, err := r.RetryDelay(attempt, throttled)
		if err != nil || d > retryMaxBackoff {
			t.Errorf("RetryDelay(%d) = %v, %v; want at most %v", attempt, d, err, retryMaxBackoff)
		}
	}
}
