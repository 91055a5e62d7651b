package console

import "testing"

func TestTooManyRequestsCountsSecondsRight(t *testing.T) {
	for secs, want := range map[int]string{
		1:  "Too many requests: the owner API takes 600 a minute. Try again in 1 second.",
		42: "Too many requests: the owner API takes 600 a minute. Try again in 42 seconds.",
	} {
		if got := tooManyRequests(600, secs); got != want {
			t.Errorf("tooManyRequests(600, %d) = %q, want %q", secs, got, want)
		}
	}
	if got := tooManyRequests(1200, 60); got != "Too many requests: the owner API takes 1,200 a minute. Try again in 60 seconds." {
		t.Errorf("tooManyRequests(1200, 60) = %q", got)
	}
}
