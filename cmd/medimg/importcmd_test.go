package main

import (
	"archive/zip"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medimg/medimg/dicomweb/ingest"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/internal/testfiles"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
)

var benchImport = flag.Bool("bench-import", false, "run TestBenchmarkImport: medimg import straight into the stores against STOW over loopback (--to, 4 jobs)")

// importTree writes the real test files into a folder tree: two at the top, two in a subfolder,
// two in a ZIP, a text file and a DICOMDIR. It returns the root and the stored files by SOP Instance UID.
func importTree(t *testing.T) (root string, byUID map[string]*ingest.Instance, data map[string][]byte) {
	t.Helper()
	root = t.TempDir()
	byUID, data = map[string]*ingest.Instance{}, map[string][]byte{}
	write := func(path string, b []byte) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	for i, name := range []string{"1.dcm", "2.dcm", "3.dcm", "4.dcm", "5.dcm", "6.dcm"} {
		b := testfiles.Read(t, name)
		inst, err := ingest.Read(bytes.NewReader(b), int64(len(b)), ingest.Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		byUID[inst.SOPInstanceUID], data[inst.SOPInstanceUID] = inst, b
		switch {
		case i < 2:
			write(filepath.Join(root, name), b)
		case i < 4:
			write(filepath.Join(root, "series", "sub", name), b)
		default:
			w, _ := zw.Create("disc/" + name)
			w.Write(b)
		}
	}
	zw.Close()
	write(filepath.Join(root, "archive.zip"), zipped.Bytes())
	write(filepath.Join(root, "README.txt"), []byte("not an image"))
	// Stands in for a DICOMDIR: only its SOP Class in the meta group matters to import.
	write(filepath.Join(root, "DICOMDIR"), generated(t, dicomgen.Spec{SOPClassUID: mediaStorageDirectory}))
	return root, byUID, data
}

// firstPart returns the first part of a multipart/related response.
func firstPart(t *testing.T, resp *http.Response, body string) []byte {
	t.Helper()
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("response Content-Type %q: %v", resp.Header.Get("Content-Type"), err)
	}
	p, err := multipart.NewReader(strings.NewReader(body), params["boundary"]).NextPart()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(p)
	return b
}

// runImportCmd runs "medimg import ARGS…" and returns its summary and progress output.
func runImportCmd(t *testing.T, args ...string) (summary, progress string, err error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err = run(context.Background(), append([]string{"import"}, args...), func(string) string { return "" }, nil, &stdout, &stderr)
	t.Logf("medimg import: %v\n%s%s", err, stderr.String(), stdout.String())
	return stdout.String(), stderr.String(), err
}

func wantSummary(t *testing.T, summary string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(summary, p) {
			t.Errorf("summary lacks %q:\n%s", p, summary)
		}
	}
}

func TestImport(t *testing.T) {
	root, byUID, data := importTree(t)
	n := len(byUID)
	t.Logf("%d distinct SOP Instance UIDs in the 6 test files", n)

	t.Run("local_stores_then_resumes_and_a_server_serves_the_bytes", func(t *testing.T) {
		dsn, blobs := querytest.DSN(t, queries.SQLite), "file:"+t.TempDir()
		summary, progress, err := runImportCmd(t, "--database", dsn, "--blobs", blobs, "--jobs", "3", root)
		if err != nil {
			t.Fatal(err)
		}
		wantSummary(t, summary, fmt.Sprintf("%d stored", n), fmt.Sprintf(", %d already stored", 6-n), "1 not DICOM", "0 failed", "1 DICOMDIR skipped")
		if !strings.Contains(progress, "imported 8/8 files") {
			t.Errorf("no final progress line:\n%s", progress)
		}
		summary, _, err = runImportCmd(t, "--database", dsn, "--blobs", blobs, root)
		if err != nil {
			t.Fatalf("second run: %v", err)
		}
		wantSummary(t, summary, " 0 stored", ", 6 already stored", "1 not DICOM", "0 failed")

		srv := start(t, nil, "--database", dsn, "--blobs", blobs)
		for uid, inst := range byUID {
			req := srv.request(t, http.MethodGet, "/dicomweb/studies/"+inst.StudyInstanceUID+"/series/"+inst.SeriesInstanceUID+"/instances/"+uid, "", nil)
			req.Header.Set("Accept", `multipart/related; type="application/dicom"; transfer-syntax=*`)
			resp, body := do(t, req)
			if got := firstPart(t, resp, body); resp.StatusCode != 200 || !bytes.Equal(got, data[uid]) {
				t.Errorf("instance %s: status %d, %d bytes; want 200 and the %d imported bytes", uid, resp.StatusCode, len(got), len(data[uid]))
			}
		}
	})

	t.Run("truncated_file_fails_with_a_reason", func(t *testing.T) {
		dir := t.TempDir()
		b := testfiles.Read(t, "1.dcm")
		if err := os.WriteFile(filepath.Join(dir, "cut.dcm"), b[:len(b)/2], 0o644); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "whole.dcm"), testfiles.Read(t, "2.dcm"), 0o644)
		summary, _, err := runImportCmd(t, "--database", querytest.DSN(t, queries.SQLite), "--blobs", "file:"+t.TempDir(), dir)
		if err == nil || !strings.Contains(err.Error(), "1 of 2 files failed") {
			t.Errorf("err = %v, want 1 of 2 files failed", err)
		}
		wantSummary(t, summary, "1 stored", "1 failed", "failed "+filepath.Join(dir, "cut.dcm")+": ")
	})

	t.Run("remote_stores_over_stow", func(t *testing.T) {
		dsn, blobs := querytest.DSN(t, queries.SQLite), "file:"+t.TempDir()
		srv := start(t, nil, "--database", dsn, "--blobs", blobs)
		summary, _, err := runImportCmd(t, "--to", srv.url+"/dicomweb", "--token", srv.token, "--jobs", "2", "--batch", "2", root)
		if err != nil {
			t.Fatal(err)
		}
		wantSummary(t, summary, fmt.Sprintf("%d stored", n), "1 not DICOM", "0 failed")
		summary, _, err = runImportCmd(t, "--to", srv.url+"/dicomweb", "--user", "admin:"+testAdminPassword, root)
		if err != nil {
			t.Fatal(err)
		}
		wantSummary(t, summary, " 0 stored", ", 6 already stored", "0 failed")
		for uid, inst := range byUID {
			if code, body := srv.get(t, "/dicomweb/studies/"+inst.StudyInstanceUID+"/series/"+inst.SeriesInstanceUID+"/instances/"+uid+"/metadata"); code != 200 {
				t.Errorf("instance %s after a remote import: %d %s", uid, code, body)
			}
		}
		// A refused credential stops the import at the first answer rather than failing every file.
		summary, _, err = runImportCmd(t, "--to", srv.url+"/dicomweb", "--token", "wrong", "--jobs", "1", "--batch", "1", root)
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("a wrong token: err = %v, want a stop naming the 401", err)
		}
		wantSummary(t, summary, "0 stored", "1 failed", "Stopped early: the server refused the credential (401")
	})

	t.Run("zip_found_by_signature_not_name", func(t *testing.T) {
		dir := t.TempDir()
		b, err := os.ReadFile(filepath.Join(root, "archive.zip"))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "BACKUP"), b, 0o644)
		// A DICOM file named .zip whose preamble looks like a ZIP header is still a DICOM file.
		dcm := testfiles.Read(t, "1.dcm")
		copy(dcm, "PK\x03\x04")
		os.WriteFile(filepath.Join(dir, "odd.zip"), dcm, 0o644)
		summary, _, err := runImportCmd(t, "--database", querytest.DSN(t, queries.SQLite), "--blobs", "file:"+t.TempDir(), dir)
		if err != nil {
			t.Fatal(err)
		}
		wantSummary(t, summary, "3 files", "3 stored", "0 not DICOM", "0 failed")
	})
}

// TestBenchmarkImport measures a synthetic CT corpus imported straight into the stores and over
// STOW with 4 clients.
func TestBenchmarkImport(t *testing.T) {
	if !*benchImport {
		t.Skip("run with -bench-import")
	}
	const count = 200
	dir := t.TempDir()
	study, series := dicomgen.UID(), dicomgen.UID()
	for i := range count {
		b := generated(t, dicomgen.Spec{StudyInstanceUID: study, SeriesInstanceUID: series, Rows: 512, Columns: 512, InstanceNumber: i + 1, Seed: uint64(i)})
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("ct%04d.dcm", i)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	measure := func(name string, args ...string) {
		begin := time.Now()
		summary, _, err := runImportCmd(t, append(args, dir)...)
		d := time.Since(begin)
		if err != nil || !strings.Contains(summary, fmt.Sprintf("%d stored", count)) {
			t.Fatalf("%s: %v\n%s", name, err, summary)
		}
		t.Logf("BENCH %s: %d instances (512×512 CT) in %v: %.0f instances/s", name, count, d.Round(time.Millisecond), count/d.Seconds())
	}
	measure("import into the stores (--jobs NumCPU)", "--database", querytest.DSN(t, queries.SQLite), "--blobs", "file:"+t.TempDir())
	measure("import into the stores (--jobs 4)", "--database", querytest.DSN(t, queries.SQLite), "--blobs", "file:"+t.TempDir(), "--jobs", "4")
	srv := start(t, nil, "--database", querytest.DSN(t, queries.SQLite), "--blobs", "file:"+t.TempDir(), "--log-level", "warn")
	measure("STOW over loopback (--to, --jobs 4)", "--to", srv.url+"/dicomweb", "--token", srv.token, "--jobs", "4")
}

// TestImportDrawsABarOnATerminal imports the test tree as if stderr were a terminal: a bar with the
// files, the bytes and the time, which ends full, and failures printed above it.
func TestImportDrawsABarOnATerminal(t *testing.T) {
	root, byUID, _ := importTree(t)
	if err := os.WriteFile(filepath.Join(root, "truncated.dcm"), append(make([]byte, 128), []byte("DICM\x02\x00")...), 0o600); err != nil {
		t.Fatal(err)
	}
	defer func(was func(io.Writer) bool) { isTerminal = was }(isTerminal)
	isTerminal = func(io.Writer) bool { return true }
	summary, progress, err := runImportCmd(t, "--database", querytest.DSN(t, queries.SQLite), "--blobs", "file:"+t.TempDir(), root)
	if err == nil {
		t.Error("a failed file did not make the import fail")
	}
	wantSummary(t, summary, fmt.Sprintf("%d stored", len(byUID)), "1 failed")
	last := progress[strings.LastIndex(progress, "\r")+1:]
	for _, want := range []string{"9/9 files", "100%", "8.4/8.4 MiB", "B/s"} {
		if !strings.Contains(last, want) {
			t.Errorf("the bar's last state %q lacks %q", last, want)
		}
	}
	if strings.Contains(progress, "imported ") {
		t.Errorf("plain progress lines on a terminal:\n%s", progress)
	}
	if !strings.Contains(progress, "failed "+filepath.Join(root, "truncated.dcm")) {
		t.Errorf("the failure is not printed:\n%q", progress)
	}
}

// TestIsTerminal: a pseudo-terminal is one; a buffer and a regular file are not.
func TestIsTerminal(t *testing.T) {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, c := range []struct {
		w    io.Writer
		want bool
	}{{ptmx, true}, {f, false}, {&bytes.Buffer{}, false}} {
		if got := isTerminal(c.w); got != c.want {
			t.Errorf("isTerminal(%T %v) = %v", c.w, c.w, got)
		}
	}
}
