package main

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestProgress(t *testing.T) {
	for _, c := range []struct {
		left int64
		rate float64
		want string
	}{{0, 10, "0s"}, {-5, 0, "0s"}, {100, 0, "unknown"}, {300, 10, "30s"}} {
		if got := eta(c.left, c.rate); got != c.want {
			t.Errorf("eta(%d, %g) = %s, want %s", c.left, c.rate, got, c.want)
		}
	}
	var lines atomic.Int32
	stop := everyUntilStopped(5*time.Millisecond, func() { lines.Add(1) })
	time.Sleep(30 * time.Millisecond)
	stop()
	after := lines.Load()
	if after < 2 {
		t.Errorf("%d progress lines in 30 ms at one per 5 ms (and one at the stop)", after)
	}
	time.Sleep(20 * time.Millisecond)
	if lines.Load() != after {
		t.Errorf("progress lines after stop")
	}
}
