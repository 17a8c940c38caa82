package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/queries/querytest"
)

// timedGet GETs path and says how long the answer took.
func timedGet(base, path string) (status int, body []byte, took time.Duration, err error) {
	begin := time.Now()
	resp, err := faultClient.Get(base + path)
	if err != nil {
		return 0, nil, time.Since(begin), err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	return resp.StatusCode, body, time.Since(begin), err
}

// isJSONError says whether body is the one JSON error body {"code", "message"}.
func isJSONError(body []byte) bool {
	var e struct{ Code, Message string }
	return json.Unmarshal(body, &e) == nil && e.Code != "" && e.Message != ""
}

// pollStatus GETs path until it answers want, for at most limit.
func pollStatus(t *testing.T, base, path string, want int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last int
	for time.Now().Before(deadline) {
		status, _, _, err := timedGet(base, path)
		if err == nil && status == want {
			return
		}
		last = status
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never answered %d within %v (last %d)", path, want, limit, last)
}

// TestFaultDatabaseDown takes the database away under load and gives it back: while it is gone
// every request fails fast with a 5xx and /readyz says 503; once it is back the same process
// serves again without a restart.
func TestFaultDatabaseDown(t *testing.T) {
	querytest.ForEachEngine(t, func(t *testing.T, dsn string) {
		in := start(t, nil, "--auth", "none", "--database", dsn, "--blobs", "file:"+t.TempDir(), "--log-level", "error")
		study, series := dicomgen.UID(), dicomgen.UID()
		before := newSent(t, study, series)
		if res, err := faultStow(in.url, []sentInstance{before}); err != nil || res.status != http.StatusOK {
			t.Fatalf("STOW before the outage: %v %d %s", err, res.status, res.body)
		}
		if strings.HasPrefix(dsn, "sqlite:") {
			sqliteLocked(t, in, dsn, study, series)
		} else {
			postgresDown(t, in, dsn, study, series)
		}
		// Back: the same process serves reads and writes, and kept what it had.
		pollStatus(t, in.url, "/readyz", http.StatusOK, 15*time.Second)
		after := newSent(t, study, series)
		if res, err := faultStow(in.url, []sentInstance{after}); err != nil || res.status != http.StatusOK {
			t.Fatalf("STOW after the outage: %v %d %s", err, res.status, res.body)
		}
		for _, s := range []sentInstance{before, after} {
			if status, body, err := retrieveInstance(in.url, s); status != http.StatusOK || err != nil || string(body) != string(s.data) {
				t.Errorf("GET %s after the outage: %d %v", s.sop, status, err)
			}
		}
		if status, body, _, err := timedGet(in.url, "/dicomweb/studies/"+study+"/instances"); err != nil || status != http.StatusOK {
			t.Errorf("QIDO after the outage: %d %v %s", status, err, body)
		}
	})
}

// postgresDown refuses new connections to the test database and terminates its backends,
// repeatedly, for two seconds, under STOW and QIDO load.
func postgresDown(t *testing.T, in *instance, dsn, study, series string) {
	t.Helper()
	u, _ := url.Parse(dsn)
	name := strings.TrimPrefix(u.Path, "/")
	admin, err := sql.Open("pgx", os.Getenv(querytest.EnvPostgresURL))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	exec := func(q string, args ...any) {
		if _, err := admin.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`ALTER DATABASE "` + name + `" WITH ALLOW_CONNECTIONS false`)
	restored := false
	restore := func() {
		if !restored {
			restored = true
			exec(`ALTER DATABASE "` + name + `" WITH ALLOW_CONNECTIONS true`)
		}
	}
	defer restore()
	terminate := func() {
		exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, name)
	}
	terminate()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[string]int{}
	note := func(kind string, status int, took time.Duration, err error, body []byte) {
		mu.Lock()
		defer mu.Unlock()
		statuses[kind+" "+http.StatusText(status)]++
		switch {
		case err != nil:
			t.Errorf("%s during the outage: %v after %v", kind, err, took)
		case took > 5*time.Second:
			t.Errorf("%s during the outage took %v", kind, took)
		case status < 500:
			t.Errorf("%s during the outage = %d, want 5xx: %s", kind, status, body)
		case kind == "QIDO" && !isJSONError(body):
			t.Errorf("QIDO during the outage = %d without the JSON error body: %s", status, body)
		}
	}
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				begin := time.Now()
				res, err := faultStow(in.url, []sentInstance{newSent(t, study, series)})
				note("STOW", res.status, time.Since(begin), err, res.body)
				status, body, took, err := timedGet(in.url, "/dicomweb/studies?limit=10")
				note("QIDO", status, took, err, body)
			}
		}()
	}
	for ctx.Err() == nil {
		status, body, took, err := timedGet(in.url, "/readyz")
		if err != nil || status != http.StatusServiceUnavailable || took > 3*time.Second {
			t.Errorf("/readyz during the outage = %d %v after %v: %s", status, err, took, body)
		}
		terminate()
		time.Sleep(200 * time.Millisecond)
	}
	wg.Wait()
	t.Logf("during the outage: %v", statuses)
	restore()
}

// sqliteLocked holds SQLite's write lock from another connection. Readers go on (WAL), so /readyz
// and QIDO stay 200; a STOW waits for the lock up to the busy timeout (10 s) and then stores.
func sqliteLocked(t *testing.T, in *instance, dsn, study, series string) {
	t.Helper()
	hold := 3 * time.Second
	if *faultLong {
		hold = 12 * time.Second // past the busy timeout: the STOW fails
	}
	db, err := sql.Open("sqlite", strings.TrimPrefix(dsn, "sqlite:")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	released := time.Now().Add(hold)
	go func() {
		time.Sleep(hold)
		conn.ExecContext(context.Background(), "ROLLBACK")
	}()
	for _, path := range []string{"/readyz", "/dicomweb/studies?limit=10"} {
		if status, body, took, err := timedGet(in.url, path); err != nil || status != http.StatusOK || took > time.Second {
			t.Errorf("%s while SQLite is locked for writing = %d %v after %v: %s", path, status, err, took, body)
		}
	}
	begin := time.Now()
	res, err := faultStow(in.url, []sentInstance{newSent(t, study, series)})
	took := time.Since(begin)
	t.Logf("STOW under the write lock: %d after %v (lock held %v)", res.status, took, hold)
	switch {
	case err != nil:
		t.Errorf("STOW under the write lock: %v", err)
	case hold < 10*time.Second && (res.status != http.StatusOK || time.Now().Before(released)):
		t.Errorf("STOW under a %v lock = %d after %v: want 200 once the lock is released", hold, res.status, took)
	case hold >= 10*time.Second && (res.status != http.StatusInternalServerError || len(res.failed) == 0 || took > 11*time.Second):
		t.Errorf("STOW past the busy timeout = %d %v after %v: want 500 with reason 0x0110 within 11 s", res.status, res.failed, took)
	}
	for _, reason := range res.failed {
		if reason != 0x0110 {
			t.Errorf("failure reason 0x%04X, want 0x0110", reason)
		}
	}
}
