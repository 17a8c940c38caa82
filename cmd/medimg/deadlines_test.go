package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/queries/querytest"
)

// TestSlowAndStuckClients: with --io-timeout 300ms, a client that stalls, drips, or stops reading
// loses its request (the handler returns, the temporary upload is removed), while one that sends a
// large body steadily, however long it takes, is served.
func TestSlowAndStuckClients(t *testing.T) {
	blobDir := t.TempDir()
	srv := start(t, nil, "--database", querytest.DSN(t, "sqlite"), "--blobs", "file:"+blobDir, "--auth", "none", "--io-timeout", "300ms")
	host := strings.TrimPrefix(srv.url, "http://")
	data := generated(t, dicomgen.Spec{Rows: 512, Columns: 512})
	ct, body := stowBody(t, data)

	// send writes a STOW request's head and then body, paced by pace; it returns what the server
	// answered (or "" when it closed the connection) and how long that took.
	send := func(t *testing.T, body []byte, pace func(w io.Writer, b []byte) error) (string, time.Duration) {
		t.Helper()
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /dicomweb/studies HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", host, ct, len(body))
		began := time.Now()
		done := make(chan string, 1)
		go func() {
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				done <- ""
				return
			}
			resp.Body.Close()
			done <- resp.Status
		}()
		go pace(conn, body) // errors once the server hangs up
		select {
		case status := <-done:
			return status, time.Since(began)
		case <-time.After(10 * time.Second):
			t.Fatal("the server held a stalled request for 10 s")
			return "", 0
		}
	}
	uploadsLeft := func() int {
		entries, _ := os.ReadDir(filepath.Join(blobDir, ".uploads"))
		return len(entries)
	}

	t.Run("a_stalled_body_is_cut", func(t *testing.T) {
		status, took := send(t, body, func(w io.Writer, b []byte) error {
			_, err := w.Write(b[:len(b)/2])
			time.Sleep(3 * time.Second) // then nothing
			return err
		})
		if strings.HasPrefix(status, "200") || took > 3*time.Second {
			t.Errorf("stalled STOW: %q after %s, want it cut after about 300ms", status, took)
		}
	})
	t.Run("a_drip_is_cut", func(t *testing.T) {
		status, took := send(t, body, func(w io.Writer, b []byte) error {
			for i := range b {
				if _, err := w.Write(b[i : i+1]); err != nil {
					return err
				}
				time.Sleep(20 * time.Millisecond)
			}
			return nil
		})
		if strings.HasPrefix(status, "200") || took > 3*time.Second {
			t.Errorf("dripping STOW: %q after %s, want it cut", status, took)
		}
	})
	t.Run("a_steady_slow_body_is_served", func(t *testing.T) {
		status, took := send(t, body, func(w io.Writer, b []byte) error {
			for len(b) > 0 { // 64 KiB every 100 ms: slower than the timeout in total, never stalled
				n := min(len(b), 64<<10)
				if _, err := w.Write(b[:n]); err != nil {
					return err
				}
				b = b[n:]
				time.Sleep(100 * time.Millisecond)
			}
			return nil
		})
		if !strings.HasPrefix(status, "200") || took < 300*time.Millisecond {
			t.Errorf("steady STOW: %q after %s, want 200 after more than the timeout", status, took)
		}
	})
	for range 50 { // the handlers of the cut requests have returned and removed their uploads
		if uploadsLeft() == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := uploadsLeft(); n != 0 {
		t.Errorf("%d temporary uploads left by cut requests", n)
	}

	t.Run("a_reader_that_stops_reading_is_cut", func(t *testing.T) {
		big := generated(t, dicomgen.Spec{Rows: 512, Columns: 512, NumberOfFrames: 64}) // 32 MiB
		ct, b := stowBody(t, big)
		if resp := srv.post(t, "/dicomweb/studies", ct, bytes.NewReader(b)); resp.StatusCode != 200 {
			t.Fatalf("STOW: %d", resp.StatusCode)
		}
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.(*net.TCPConn).SetReadBuffer(4 << 10)
		marker := "stuck-reader-" + fmt.Sprint(time.Now().UnixNano())
		fmt.Fprintf(conn, "GET /dicomweb/instances?limit=1 HTTP/1.1\r\nHost: %s\r\n\r\n", host)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		list := string(raw)
		i := strings.Index(list, `"00081190"`)
		if i < 0 {
			t.Fatalf("no RetrieveURL in %s", list)
		}
		url := list[i:]
		url = url[strings.Index(url, "http"):]
		url = strings.TrimPrefix(url[:strings.Index(url, `"`)], srv.url)
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: application/dicom; transfer-syntax=*\r\nX-Request-ID: %s\r\n\r\n", url, host, marker)
		// Read nothing: the server fills the socket buffers and must give up after the timeout.
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(srv.stderr.String(), "request_id="+marker) {
			if time.Now().After(deadline) {
				t.Fatalf("the handler of a client that stopped reading is still running after 5 s")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
