package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/queries/querytest"
)

// A request still in flight when the shutdown timeout passes is cut, and its handler has returned
// before the store is closed: the store never sees a query after Close.
func TestShutdownTimeoutClosesServersBeforeTheStore(t *testing.T) {
	srv := start(t, nil, "--database", querytest.DSN(t, "sqlite"), "--blobs", "file:"+t.TempDir(),
		"--auth", "none", "--shutdown-timeout", "200ms")
	contentType, body := stowBody(t, generated(t, dicomgen.Spec{}))
	half := len(body) / 2
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, srv.url+"/dicomweb/studies", pr)
	req.Header.Set("Content-Type", contentType)
	resp := make(chan error, 1)
	go func() {
		r, err := http.DefaultClient.Do(req)
		if err == nil {
			r.Body.Close()
		}
		resp <- err
	}()
	if _, err := pw.Write(body[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the handler is reading the body

	var runErr error
	srv.once.Do(func() {
		srv.cancel()
		select {
		case runErr = <-srv.done:
		case <-time.After(10 * time.Second):
			t.Fatal("run did not return after the shutdown timeout")
		}
	})
	if !errors.Is(runErr, context.DeadlineExceeded) {
		t.Errorf("run returned %v, want the shutdown timeout", runErr)
	}
	// The client sends the rest late: a handler still running would now store it, after the store
	// was closed.
	pw.Write(body[half:])
	pw.Close()
	<-resp
	time.Sleep(300 * time.Millisecond)
	// "sql: database is closed", or "statement is closed" for the prepared queries.
	if logs := srv.stderr.String(); strings.Contains(logs, " is closed") {
		t.Errorf("a handler used the store after it was closed:\n%s", logs)
	}
}
