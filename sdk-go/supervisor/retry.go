package supervisor

import (
	"context"
	"math"
	"math/rand"
	"time"

	"google.golang.org/grpc/codes"
)

// RetryPolicy: attempts in all (the first included; 1 = no retry) and the capped, fully jittered
// exponential backoff between them.
type RetryPolicy struct {
	MaxAttempts  int
	InitialDelay time.Duration
	MaxDelay     time.Duration
	Multiplier   float64
}

// DefaultRetry is the TypeScript and Python SDKs' policy: 5 attempts, 100 ms doubling to 5 s.
var DefaultRetry = RetryPolicy{
	MaxAttempts: 5, InitialDelay: 100 * time.Millisecond, MaxDelay: 5 * time.Second, Multiplier: 2,
}

// Delay before retry number attempt (1-based): uniform in [0, min(max, initial × multiplier^(attempt-1))].
func (p RetryPolicy) Delay(attempt int) time.Duration {
	base := math.Min(float64(p.MaxDelay), float64(p.InitialDelay)*math.Pow(p.Multiplier, math.Min(float64(attempt-1), 60)))
	return time.Duration(rand.Float64() * base)
}

// RESOURCE_EXHAUSTED reasons that retrying in a moment does not clear: the caller must act.
var notTransient = map[string]bool{
	"SLOT_QUEUE_FULL": true, "WATCH_TOO_SLOW": true, "OUTPUT_TOO_SLOW": true, "TOO_MANY_STREAMS": true,
}

// IsRetryable: only transport-level trouble is retried, and only on calls that are safe to repeat.
func IsRetryable(err *Error) bool {
	switch err.Code {
	case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded:
		return !notTransient[err.Reason]
	}
	return false
}

// withRetry runs an idempotent call, each attempt with its own deadline, until it succeeds, fails
// for good, runs out of attempts or ctx ends. Errors are *Error.
func withRetry(
	ctx context.Context, policy RetryPolicy, deadline time.Duration, call func(context.Context) error,
) error {
	for attempt := 1; ; attempt++ {
		attemptCtx, cancel := context.WithTimeout(ctx, deadline)
		err := call(attemptCtx)
		cancel()
		if err == nil {
			return nil
		}
		failure := AsError(err)
		if attempt >= policy.MaxAttempts || !IsRetryable(failure) || ctx.Err() != nil {
			return failure
		}
		pause := policy.Delay(attempt)
		if failure.RetryDelay > pause {
			pause = failure.RetryDelay
		}
		select {
		case <-ctx.Done():
			return failure
		case <-time.After(pause):
		}
	}
}

// timeAfter is time.After, named so the watch's wait reads as what it is.
var timeAfter = time.After
