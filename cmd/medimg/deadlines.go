package main

import (
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
)

// progressStep is how much a client must send or read for its deadline to move.
const progressStep = 64 << 10

// progressDeadlines gives every request read and write deadlines that move with progress: each
// time the client has sent (request body) or taken (response body) another 64 KiB, its deadline is
// pushed timeout further. A client that stalls, or drips a few bytes at a time, loses the request
// after timeout, which frees its goroutine, its temporary upload file and any database connection;
// a legitimate 4 GB STOW at 10 MB/s moves its deadline hundreds of times a second and is never cut.
// (http.Server's ReadTimeout and WriteTimeout cannot tell the two apart: they bound whole requests.)
func progressDeadlines(timeout time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := &progress{rc: http.NewResponseController(c.Writer), timeout: timeout}
		p.extend()
		c.Request.Body = progressReader{ReadCloser: c.Request.Body, p: p}
		c.Writer = &progressWriter{ResponseWriter: c.Writer, p: p}
		c.Next()
	}
}

// progress is a request's moving deadline. Bytes in either direction move both deadlines: a
// STOW writes nothing while its body arrives, and a download reads nothing while it is sent, and
// net/http ends a request whose connection's read deadline passes even when no body is read.
type progress struct {
	rc      *http.ResponseController
	timeout time.Duration
	since   atomic.Int64 // bytes moved since the deadlines last moved
}

func (p *progress) extend() {
	// Errors mean deadlines are not supported (HTTP/2 in tests): the server's own timeouts apply.
	at := time.Now().Add(p.timeout)
	p.rc.SetReadDeadline(at)
	p.rc.SetWriteDeadline(at)
}

// moved counts n bytes and moves the deadlines once enough have gone through.
func (p *progress) moved(n int) {
	if p.since.Add(int64(n)) >= progressStep {
		p.since.Store(0)
		p.extend()
	}
}

type progressReader struct {
	io.ReadCloser
	p *progress
}

func (r progressReader) Read(b []byte) (int, error) {
	n, err := r.ReadCloser.Read(b)
	r.p.moved(n)
	return n, err
}

type progressWriter struct {
	gin.ResponseWriter
	p *progress
}

func (w *progressWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.p.moved(n)
	return n, err
}

func (w *progressWriter) WriteString(s string) (int, error) {
	n, err := w.ResponseWriter.WriteString(s)
	w.p.moved(n)
	return n, err
}
