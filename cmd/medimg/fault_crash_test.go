package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/migrations"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
	"github.com/medimg/medimg/storage"
)

// proc is the medimg binary running as a child process.
type proc struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
}

// startProc runs the binary on dsn and blobDir and waits until it listens.
func startProc(t *testing.T, bin, dsn, blobDir string) *proc {
	t.Helper()
	p := &proc{stderr: &syncBuffer{}}
	p.cmd = exec.Command(bin, "--listen", "127.0.0.1:0", "--auth", "none", "--database", dsn, "--blobs", "file:"+blobDir, "--log-level", "warn")
	p.cmd.Stderr = p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	go io.Copy(io.Discard, out)
	if !strings.HasPrefix(line, "medimg listening on ") {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		t.Fatalf("medimg did not start: %q %v\n%s", line, err, p.stderr)
	}
	p.url = strings.TrimSpace(strings.TrimPrefix(line, "medimg listening on "))
	return p
}

// kill sends SIGKILL and reaps the process.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// crashLedger records what the clients sent and what the server acknowledged.
type crashLedger struct {
	mu    sync.Mutex
	sent  map[string]sentInstance // every instance sent, acknowledged or not
	acked map[string]bool
	// failed counts instances answered in FailedSOPSequence (a kill mid-request may cause these).
	failed   map[int]int
	statuses map[int]int
}

func (l *crashLedger) record(insts []sentInstance, res stowResult) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, in := range insts {
		l.sent[in.sop] = in
	}
	l.statuses[res.status]++
	if res.status == http.StatusOK || res.status == http.StatusAccepted {
		for _, sop := range res.acknowledged {
			l.acked[sop] = true
		}
	}
	for _, reason := range res.failed {
		l.failed[reason]++
	}
}

func (l *crashLedger) sentOnly(insts []sentInstance) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, in := range insts {
		l.sent[in.sop] = in
	}
}

// TestFaultCrash kills the server with SIGKILL at random moments under concurrent STOW load,
// restarts it on the same database and blob directory each time, and then checks that every
// acknowledged instance is there byte for byte, that every indexed instance can be read, that the
// aggregates match, and that after the orphan sweep every blob belongs to an indexed instance.
func TestFaultCrash(t *testing.T) {
	if testing.Short() && !*faultLong {
		t.Skip("the crash suite runs the binary; skipped with -short")
	}
	bin := medimgBinary(t)
	kills := 20
	if *faultLong {
		kills = 200
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("MEDIMG_FAULT_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (MEDIMG_FAULT_SEED=%d reproduces the kill schedule)", seed, seed)
	querytest.ForEachEngine(t, func(t *testing.T, dsn string) {
		rng := rand.New(rand.NewPCG(seed, 1))
		blobDir := t.TempDir()
		ledger := &crashLedger{sent: map[string]sentInstance{}, acked: map[string]bool{}, failed: map[int]int{}, statuses: map[int]int{}}
		// A few studies of a few series each, shared by every client, so that concurrent stores
		// update the same aggregates.
		type seriesRef struct{ study, series string }
		var pool []seriesRef
		for range 4 {
			study := dicomgen.UID()
			for range 3 {
				pool = append(pool, seriesRef{study, dicomgen.UID()})
			}
		}
		const clients = 4
		for k := range kills {
			p := startProc(t, bin, dsn, blobDir)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for c := range clients {
				crng := rand.New(rand.NewPCG(seed, uint64(k*clients+c+2)))
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						insts := make([]sentInstance, 1+crng.IntN(5))
						for i := range insts {
							s := pool[crng.IntN(len(pool))]
							insts[i] = newSent(t, s.study, s.series)
						}
						res, err := faultStow(p.url, insts)
						if err != nil {
							ledger.sentOnly(insts)
							return // the server is gone
						}
						ledger.record(insts, res)
					}
				}()
			}
			// The random moment of the kill.
			time.Sleep(time.Duration(30+rng.IntN(220)) * time.Millisecond)
			p.kill()
			close(stop)
			wg.Wait()
		}
		t.Logf("%d kills; %d instances sent, %d acknowledged; STOW statuses %v; failure reasons %v",
			kills, len(ledger.sent), len(ledger.acked), ledger.statuses, ledger.failed)
		if len(ledger.acked) == 0 {
			t.Fatal("no instance was acknowledged: the load never reached the server")
		}
		for status := range ledger.statuses {
			if status != http.StatusOK {
				t.Errorf("STOW answered %d %d times under crash load (no part was bad): want only 200", status, ledger.statuses[status])
			}
		}

		p := startProc(t, bin, dsn, blobDir)
		indexed := checkCrashConsistency(t, p.url, ledger)
		p.kill()
		checkOrphans(t, dsn, blobDir, ledger, indexed)
	})
}

// checkCrashConsistency checks the index and the blobs through HTTP.
func checkCrashConsistency(t *testing.T, base string, ledger *crashLedger) (indexed int) {
	t.Helper()
	losses := 0
	for sop := range ledger.acked {
		in := ledger.sent[sop]
		status, body, err := retrieveInstance(base, in)
		if status != http.StatusOK || err != nil || !bytes.Equal(body, in.data) {
			losses++
			if losses <= 10 {
				t.Errorf("acknowledged %s: GET = %d (%v), %d bytes, equal %v", sop, status, err, len(body), bytes.Equal(body, in.data))
			}
		}
	}
	t.Logf("acknowledged instances checked: %d; losses: %d", len(ledger.acked), losses)

	params := url.Values{"includefield": {"0020000D", "0020000E"}}
	listed := qidoAll(t, base, "/dicomweb/instances", params)
	halfVisible, unacked := 0, 0
	perStudy, perSeries := map[string]int{}, map[string]int{}
	seen := map[string]bool{}
	for _, obj := range listed {
		sop := attrString(obj, "00080018")
		if seen[sop] {
			t.Errorf("%s listed twice", sop)
		}
		seen[sop] = true
		in, ok := ledger.sent[sop]
		if !ok {
			t.Errorf("indexed instance %s was never sent", sop)
			continue
		}
		if got := attrString(obj, "0020000D") + "/" + attrString(obj, "0020000E"); got != in.study+"/"+in.series {
			t.Errorf("%s indexed in %s, sent in %s/%s", sop, got, in.study, in.series)
		}
		perStudy[in.study]++
		perSeries[in.series]++
		if !ledger.acked[sop] {
			unacked++
		}
		status, body, err := retrieveInstance(base, in)
		if status != http.StatusOK || err != nil || !bytes.Equal(body, in.data) {
			halfVisible++
			t.Errorf("indexed %s: GET = %d (%v), %d bytes, equal %v", sop, status, err, len(body), bytes.Equal(body, in.data))
		}
	}
	t.Logf("indexed instances: %d (%d stored but never acknowledged: the kill cut the response); half-visible: %d", len(listed), unacked, halfVisible)
	for sop := range ledger.acked {
		if !seen[sop] {
			t.Errorf("acknowledged %s missing from the QIDO walk", sop)
		}
	}

	studies := qidoAll(t, base, "/dicomweb/studies", url.Values{"includefield": {"00201206", "00201208"}})
	if len(studies) != len(perStudy) {
		t.Errorf("%d studies listed, %d have instances", len(studies), len(perStudy))
	}
	seriesOfStudy := map[string]map[string]bool{}
	for _, obj := range listed {
		st, se := attrString(obj, "0020000D"), attrString(obj, "0020000E")
		if seriesOfStudy[st] == nil {
			seriesOfStudy[st] = map[string]bool{}
		}
		seriesOfStudy[st][se] = true
	}
	for _, obj := range studies {
		st := attrString(obj, "0020000D")
		if got, want := attrString(obj, "00201208"), strconv.Itoa(perStudy[st]); got != want {
			t.Errorf("study %s: NumberOfStudyRelatedInstances %s, found %s", st, got, want)
		}
		if got, want := attrString(obj, "00201206"), strconv.Itoa(len(seriesOfStudy[st])); got != want {
			t.Errorf("study %s: NumberOfStudyRelatedSeries %s, found %s", st, got, want)
		}
	}
	series := qidoAll(t, base, "/dicomweb/series", url.Values{"includefield": {"00201209"}})
	if len(series) != len(perSeries) {
		t.Errorf("%d series listed, %d have instances", len(series), len(perSeries))
	}
	for _, obj := range series {
		se := attrString(obj, "0020000E")
		if got, want := attrString(obj, "00201209"), strconv.Itoa(perSeries[se]); got != want {
			t.Errorf("series %s: NumberOfSeriesRelatedInstances %s, found %s", se, got, want)
		}
	}
	return len(listed)
}

// checkOrphans runs with every server stopped: each blob without a row must be one whose store
// was never acknowledged, and the orphan sweep (run here with no minimum age: nothing is in
// flight) must leave only blobs that rows name. The server's own sweep only takes blobs over an
// hour old, so a test cannot see it act.
func checkOrphans(t *testing.T, dsn, blobDir string, ledger *crashLedger, indexed int) {
	t.Helper()
	ctx := context.Background()
	store, err := queries.Open(ctx, dsn, migrations.For)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	fsStore, err := storage.NewFS(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	orphans := 0
	err = fsStore.List(ctx, "studies/", func(info storage.Info) error {
		inUse, err := store.BlobKeyInUse(ctx, info.Key)
		if err != nil || inUse {
			return err
		}
		orphans++
		sop, _, _ := strings.Cut(filepath.Base(info.Key), "_")
		if ledger.acked[sop] {
			t.Errorf("orphan blob %s belongs to acknowledged instance %s", info.Key, sop)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	temps, _ := os.ReadDir(filepath.Join(blobDir, ".uploads"))
	t.Logf("before the sweep: %d orphan blobs (all of unacknowledged stores), %d temp upload files", orphans, len(temps))

	svc, err := dicomweb.New(dicomweb.Config{}, store, fsStore, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := svc.SweepOrphans(ctx, 0)
	if err != nil || deleted != orphans {
		t.Errorf("SweepOrphans = %d, %v; want %d deleted", deleted, err, orphans)
	}
	if _, err := fsStore.SweepUploads(0); err != nil {
		t.Error(err)
	}
	files := 0
	filepath.WalkDir(blobDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(blobDir, path)
		key := filepath.ToSlash(rel)
		if strings.HasPrefix(key, ".uploads/") {
			t.Errorf("temp file %s left after SweepUploads(0)", key)
			return nil
		}
		files++
		if inUse, err := store.BlobKeyInUse(ctx, key); err != nil || !inUse {
			t.Errorf("blob %s has no row after the sweep (%v)", key, err)
		}
		return nil
	})
	t.Logf("after the sweep: %d blob files, each named by a row", files)
	if files != indexed {
		t.Errorf("%d blob files after the sweep, %d instances indexed", files, indexed)
	}
}
