package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// inFlight counts the requests being handled, so that shutdown can wait for the last handler to
// return before the store it uses is closed: http.Server.Close closes the connections but does
// not wait for their handlers.
type inFlight struct{ wg sync.WaitGroup }

func (f *inFlight) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.wg.Add(1)
		defer f.wg.Done()
		h.ServeHTTP(w, r)
	})
}

// wait waits for the handlers to return, at most for d; it reports whether they all did.
func (f *inFlight) wait(d time.Duration) bool {
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// closeGrace is how long handlers get to notice their closed connection (their reads and writes
// fail, their request context ends) once the shutdown timeout has passed.
const closeGrace = 5 * time.Second

// shutdown stops the servers: in-flight requests get until ctx ends to finish; after that the
// servers are closed (connections cut) and their handlers get closeGrace to return, so that no
// handler still runs when the caller closes the store.
func shutdown(ctx context.Context, log *slog.Logger, servers []*http.Server, handlers *inFlight) error {
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	log.Warn("shutdown timeout passed; cutting the requests still in flight", "err", errors.Join(errs...))
	for _, srv := range servers {
		srv.Close()
	}
	if !handlers.wait(closeGrace) {
		log.Error("shutdown: handlers still running after their connections were closed", "grace", closeGrace)
	}
	return fmt.Errorf("shutdown: %w", errors.Join(errs...))
}
