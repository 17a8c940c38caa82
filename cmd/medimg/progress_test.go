package main

import (
	"fmt"
	"strings"
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

// TestReportFailuresShowsTwentyThenCounts: a summary lists the first 20 failures with their
// reasons and counts the rest, which were logged as they happened.
func TestReportFailuresShowsTwentyThenCounts(t *testing.T) {
	var failed []failure
	for i := range 23 {
		failed = append(failed, failure{fmt.Sprintf("f%02d.dcm", i), "truncated"})
	}
	var b strings.Builder
	reportFailures(&b, failed)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 21 || lines[0] != "  failed f00.dcm: truncated" || lines[19] != "  failed f19.dcm: truncated" ||
		lines[20] != "  … and 3 more (each is logged above)" {
		t.Errorf("report of 23 failures:\n%s", b.String())
	}
	b.Reset()
	reportFailures(&b, failed[:2])
	if b.String() != "  failed f00.dcm: truncated\n  failed f01.dcm: truncated\n" {
		t.Errorf("report of 2 failures: %q", b.String())
	}
}
