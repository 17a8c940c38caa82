package main

import (
	"fmt"
	"io"
	"time"
)

// everyUntilStopped calls line every interval until the returned function is called, which calls it
// once more (the final progress line of a long command) and waits for the ticker to end.
func everyUntilStopped(interval time.Duration, line func()) (stop func()) {
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				line()
				return
			case <-tick.C:
				line()
			}
		}
	}()
	return func() { close(quit); <-finished }
}

// eta says how long moving left more bytes takes at rate bytes a second.
func eta(left int64, rate float64) string {
	switch {
	case left <= 0:
		return "0s"
	case rate > 0:
		return time.Duration(float64(left) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return "unknown"
}

// failure is a file a long command (import, blobs copy) could not handle, and why.
type failure struct{ name, reason string }

// reportFailures lists the first failures of a summary; all of them were logged as they happened.
func reportFailures(w io.Writer, failed []failure) {
	const shown = 20
	for i, f := range failed {
		if i == shown {
			fmt.Fprintf(w, "  … and %d more (each is logged above)\n", len(failed)-shown)
			break
		}
		fmt.Fprintf(w, "  failed %s: %s\n", f.name, f.reason)
	}
}
