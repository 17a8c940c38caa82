package dicomweb_test

// Fault injection on the store path: a blob store that fails chosen calls (storage/faulty) and a
// database trigger that refuses chosen rows. Whatever fails, a part is either stored (row and
// blob) or not at all (neither row, nor final blob, nor temp file), the status says which, and the
// server keeps serving.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/migrations"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
	"github.com/medimg/medimg/storage"
	"github.com/medimg/medimg/storage/faulty"
)

// faultServer is a server whose blob store and database can be made to fail.
type faultServer struct {
	*server
	faults *faulty.Store
	svc    *dicomweb.Service
	// db is a second connection to the server's database, for injecting index failures.
	db     *sql.DB
	engine string
}

func newFaultServer(t *testing.T, engine string) *faultServer {
	t.Helper()
	dsn := querytest.DSN(t, engine)
	store, err := queries.Open(context.Background(), dsn, migrations.For)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	dir := t.TempDir()
	fs, err := storage.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	faults := faulty.New(fs)
	svc, err := dicomweb.New(dicomweb.Config{}, store, faults, discardLog(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	svc.Routes(r.Group("/dicomweb"))
	ts := httptest.NewServer(r)
	t.Cleanup(ts.Close)
	driver, driverDSN := "pgx", dsn
	if engine == queries.SQLite {
		driver, driverDSN = "sqlite", strings.TrimPrefix(dsn, "sqlite:")+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, driverDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &faultServer{server: &server{Server: ts, store: store, blobs: faults, dir: dir},
		faults: faults, svc: svc, db: db, engine: engine}
}

// refusedPrefix starts the SOP Instance UIDs whose rows the index refuses once failIndex has run.
const refusedPrefix = "2.25.4242"

// refusedUID returns a valid UID the index trigger refuses.
func refusedUID() string { return refusedPrefix + strings.TrimPrefix(dicomgen.UID(), "2.25.") }

// failIndex makes the database refuse (as a failing disk or a lost connection would, with an
// error) every insert of an instance whose SOP Instance UID starts with refusedPrefix.
func (s *faultServer) failIndex(t *testing.T) {
	t.Helper()
	stmts := []string{`CREATE TRIGGER fault_insert BEFORE INSERT ON instances
		WHEN NEW.sop_instance_uid LIKE '` + refusedPrefix + `%' BEGIN SELECT RAISE(ABORT, 'injected fault'); END`}
	if s.engine == queries.Postgres {
		stmts = []string{`CREATE FUNCTION fault_insert() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF NEW.sop_instance_uid LIKE '` + refusedPrefix + `%' THEN RAISE EXCEPTION 'injected fault'; END IF;
				RETURN NEW;
			END $$`,
			`CREATE TRIGGER fault_insert BEFORE INSERT ON instances FOR EACH ROW EXECUTE FUNCTION fault_insert()`}
	}
	for _, q := range stmts {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatalf("install index fault: %v", err)
		}
	}
}

// instanceSpec is a small synthetic instance of the given study and series.
func instanceSpec(study, series, sop string) dicomgen.Spec {
	return dicomgen.Spec{StudyInstanceUID: study, SeriesInstanceUID: series, SOPInstanceUID: sop, Rows: 8, Columns: 8}
}

// indexed counts the index rows of sop, through QIDO.
func (s *faultServer) indexed(t *testing.T, sop string) int {
	t.Helper()
	resp, err := http.Get(s.URL + "/dicomweb/instances?SOPInstanceUID=" + sop)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusNoContent {
		return 0
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("QIDO for %s: %d %s", sop, resp.StatusCode, body)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("QIDO for %s: %v", sop, err)
	}
	return len(list)
}

// blobsOf lists the committed blob keys of sop.
func (s *faultServer) blobsOf(t *testing.T, sop string) []string {
	t.Helper()
	var keys []string
	for _, k := range s.blobFiles(t) {
		if strings.Contains(k, "/"+sop+"_") {
			keys = append(keys, k)
		}
	}
	return keys
}

// retrieve GETs one instance as stored; the body is what the client could read.
func (s *faultServer) retrieve(t *testing.T, study, series, sop string) (int, []byte, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/dicomweb/studies/"+study+"/series/"+series+"/instances/"+sop, nil)
	req.Header.Set("Accept", "application/dicom; transfer-syntax=*")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// requireStored checks that sop is indexed once and retrievable byte-exact.
func (s *faultServer) requireStored(t *testing.T, study, series, sop string, want []byte) {
	t.Helper()
	if n := s.indexed(t, sop); n != 1 {
		t.Errorf("%s: %d index rows, want 1", sop, n)
	}
	status, got, err := s.retrieve(t, study, series, sop)
	if status != http.StatusOK || err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s: GET = %d (%v), %d bytes equal=%v; want 200 and the %d bytes stored", sop, status, err, len(got), bytes.Equal(got, want), len(want))
	}
}

// requireAbsent checks that nothing of sop is left: no row, no final blob, no temp file.
func (s *faultServer) requireAbsent(t *testing.T, sop string) {
	t.Helper()
	if n := s.indexed(t, sop); n != 0 {
		t.Errorf("%s: %d index rows after a failed store, want 0", sop, n)
	}
	if keys := s.blobsOf(t, sop); len(keys) != 0 {
		t.Errorf("%s: blobs left after a failed store: %v", sop, keys)
	}
	if n := s.uploadsLeft(t); n != 0 {
		t.Errorf("%d temp upload files left", n)
	}
}

// requireServing checks that a new instance stores and reads back once the faults are gone.
func (s *faultServer) requireServing(t *testing.T) {
	t.Helper()
	s.faults.Reset()
	study, series, sop := dicomgen.UID(), dicomgen.UID(), dicomgen.UID()
	data := generated(t, instanceSpec(study, series, sop))
	if r := s.stowParts(t, dicomPart(data)); r.status != http.StatusOK {
		t.Fatalf("STOW after the faults = %d %s, want 200", r.status, fmtReasons(r.failed))
	}
	s.requireStored(t, study, series, sop, data)
}

func TestStoreFaults(t *testing.T) {
	eio := &os.PathError{Op: "write", Path: "blob", Err: syscall.EIO}
	cases := []struct {
		name string
		// inject sets up the fault; refused (0-based) lists the parts it makes fail.
		inject     func(s *faultServer, sops []string) []int
		parts      int
		wantStatus int
		wantReason int
		// bigFirst makes the first part 512 KiB, written in several calls.
		bigFirst bool
	}{
		{"commit of the second part fails", func(s *faultServer, sops []string) []int {
			s.faults.Inject(faulty.When(faulty.OpCommit, func(k string) bool { return strings.Contains(k, sops[1]) }, eio))
			return []int{1}
		}, 3, http.StatusAccepted, 0xA700, false},
		{"every commit fails", func(s *faultServer, sops []string) []int {
			s.faults.Inject(faulty.Always(faulty.OpCommit, eio))
			return []int{0, 1}
		}, 2, http.StatusInternalServerError, 0xA700, false},
		{"a write in the middle of the first part fails", func(s *faultServer, sops []string) []int {
			s.faults.Inject(faulty.Nth(faulty.OpWrite, s.faults.Calls(faulty.OpWrite)+2))
			return []int{0}
		}, 2, http.StatusAccepted, 0xA700, true},
		{"no upload can start", func(s *faultServer, sops []string) []int {
			s.faults.Inject(faulty.Always(faulty.OpNewUpload, syscall.ENOSPC))
			return []int{0, 1, 2}
		}, 3, http.StatusInternalServerError, 0xA700, false},
		{"the index refuses the third part", func(s *faultServer, sops []string) []int {
			s.failIndex(t)
			return []int{2}
		}, 3, http.StatusAccepted, 0x0110, false},
		{"the index refuses the part and deleting its blob fails too", func(s *faultServer, sops []string) []int {
			s.failIndex(t)
			s.faults.Inject(faulty.Always(faulty.OpDelete, eio))
			return []int{0}
		}, 2, http.StatusAccepted, 0x0110, false},
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := newFaultServer(t, engine)
				study, series := dicomgen.UID(), dicomgen.UID()
				sops := make([]string, tc.parts)
				for i := range sops {
					sops[i] = dicomgen.UID()
				}
				refused := tc.inject(s, sops)
				if strings.Contains(tc.name, "the index refuses") {
					for _, i := range refused {
						sops[i] = refusedUID()
					}
				}
				var parts []part
				data := make([][]byte, len(sops))
				for i, sop := range sops {
					spec := instanceSpec(study, series, sop)
					if i == 0 && tc.bigFirst {
						spec.Rows, spec.Columns = 512, 512
					}
					data[i] = generated(t, spec)
					parts = append(parts, dicomPart(data[i]))
				}
				r := s.stowParts(t, parts...)
				if r.status != tc.wantStatus {
					t.Errorf("status = %d, want %d (failed: %s)", r.status, tc.wantStatus, fmtReasons(r.failed))
				}
				if len(r.failed) != len(refused) || len(r.referenced) != tc.parts-len(refused) {
					t.Errorf("%d referenced, %d failed (%s); want %d and %d", len(r.referenced), len(r.failed), fmtReasons(r.failed), tc.parts-len(refused), len(refused))
				}
				for _, f := range r.failed {
					if f.reason != tc.wantReason {
						t.Errorf("failure reason of %q = 0x%04X, want 0x%04X", f.instanceUID, f.reason, tc.wantReason)
					}
				}
				isRefused := map[int]bool{}
				for _, i := range refused {
					isRefused[i] = true
				}
				orphans := 0
				for i, sop := range sops {
					switch {
					case !isRefused[i]:
						s.requireStored(t, study, series, sop, data[i])
					case s.faults.Failed(faulty.OpDelete) > 0:
						// The clean-up failed: the blob is an orphan without a row, left to the sweep.
						if n := s.indexed(t, sop); n != 0 {
							t.Errorf("%s: %d index rows after a refused insert", sop, n)
						}
						orphans += len(s.blobsOf(t, sop))
					default:
						s.requireAbsent(t, sop)
					}
				}
				if s.faults.Failed(faulty.OpDelete) > 0 {
					if orphans != len(refused) {
						t.Errorf("%d orphan blobs after a failed clean-up, want %d", orphans, len(refused))
					}
					s.faults.Reset()
					n, err := s.svc.SweepOrphans(context.Background(), 0)
					if err != nil || n != len(refused) {
						t.Errorf("SweepOrphans = %d, %v; want %d deleted", n, err, len(refused))
					}
					for _, i := range refused {
						s.requireAbsent(t, sops[i])
					}
					for i, sop := range sops {
						if !isRefused[i] {
							s.requireStored(t, study, series, sop, data[i])
						}
					}
				}
				s.requireServing(t)
			})
		}
	})
}

// TestReadFaults: a blob the index lists but the store cannot read is a server error (5xx), never
// a 404 ("no such instance", which is false) and never a 200 with a cut body.
func TestReadFaults(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newFaultServer(t, engine)
		study, series, sop := dicomgen.UID(), dicomgen.UID(), dicomgen.UID()
		data := generated(t, instanceSpec(study, series, sop))
		if r := s.stowParts(t, dicomPart(data)); r.status != http.StatusOK {
			t.Fatalf("STOW = %d", r.status)
		}
		keys := s.blobsOf(t, sop)
		if len(keys) != 1 {
			t.Fatalf("blobs of %s: %v", sop, keys)
		}
		base := "/dicomweb/studies/" + study + "/series/" + series + "/instances/" + sop
		reads := []struct{ name, path, accept string }{
			{"instance", base, "application/dicom; transfer-syntax=*"},
			{"instance transcoded", base, "application/dicom; transfer-syntax=1.2.840.10008.1.2"},
			{"frame", base + "/frames/1", "multipart/related; type=\"application/octet-stream\"; transfer-syntax=*"},
		}
		faults := []struct {
			name   string
			inject func() (undo func())
		}{
			{"open fails", func() func() {
				return s.faults.Inject(faulty.Always(faulty.OpOpen, &os.PathError{Op: "open", Path: keys[0], Err: syscall.EIO}))
			}},
			{"file missing", func() func() {
				path := filepath.Join(s.dir, filepath.FromSlash(keys[0]))
				if err := os.Rename(path, path+".away"); err != nil {
					t.Fatal(err)
				}
				return func() { os.Rename(path+".away", path) }
			}},
		}
		for _, f := range faults {
			for _, rd := range reads {
				t.Run(f.name+"/"+rd.name, func(t *testing.T) {
					undo := f.inject()
					defer undo()
					req, _ := http.NewRequest(http.MethodGet, s.URL+rd.path, nil)
					req.Header.Set("Accept", rd.accept)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					body, readErr := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode < 500 {
						t.Errorf("GET %s with the blob unreadable = %d (body %d bytes, read error %v), want 5xx", rd.name, resp.StatusCode, len(body), readErr)
					}
				})
			}
		}
		// Once the store reads again, so does the server.
		s.requireStored(t, study, series, sop, data)
		s.requireServing(t)
	})
}
