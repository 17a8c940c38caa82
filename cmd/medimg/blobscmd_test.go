package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/migrations"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
	"github.com/medimg/medimg/storage"
)

// blobsCopyFixture is an archive stored through a real server on file blobs, and an empty S3
// bucket to move it to.
type blobsCopyFixture struct {
	dsn, dir, from, to string
	bucket             *s3mem.Backend
	files              map[string][]byte // the index's keys and the bytes stored under them
	uids               []dicomgen.Spec
}

func newBlobsCopyFixture(t *testing.T) *blobsCopyFixture {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	f := &blobsCopyFixture{dsn: querytest.DSN(t, queries.SQLite), dir: t.TempDir(), bucket: s3mem.New()}
	f.from = "file:" + f.dir
	if err := f.bucket.CreateBucket("archive"); err != nil {
		t.Fatal(err)
	}
	s3srv := httptest.NewServer(gofakes3.New(f.bucket, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(s3srv.Close)
	f.to = "s3://archive/pacs?endpoint=" + s3srv.URL + "&path-style=true&region=us-east-1"

	srv := start(t, nil, "--database", f.dsn, "--blobs", f.from)
	var files [][]byte
	for i := range 5 {
		spec := dicomgen.Spec{StudyInstanceUID: dicomgen.UID(), SeriesInstanceUID: dicomgen.UID(), SOPInstanceUID: dicomgen.UID(), Seed: uint64(i)}
		if i > 0 && i%2 == 0 {
			spec.StudyInstanceUID, spec.SeriesInstanceUID = f.uids[i-1].StudyInstanceUID, f.uids[i-1].SeriesInstanceUID
		}
		f.uids = append(f.uids, spec)
		files = append(files, generated(t, spec))
	}
	ct, body := stowBody(t, files...)
	if resp := srv.post(t, "/dicomweb/studies", ct, bytes.NewReader(body)); resp.StatusCode != 200 {
		t.Fatalf("STOW: %d\n%s", resp.StatusCode, srv.stderr)
	}
	srv.stop(t)

	ctx := context.Background()
	src, err := storage.NewFS(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	// A file no instance references (a crash's leftover) is not part of the archive.
	if _, err := storage.Put(ctx, src, "studies/stray/leftover.dcm", strings.NewReader("stray")); err != nil {
		t.Fatal(err)
	}
	f.files = map[string][]byte{}
	index, err := queries.Open(ctx, f.dsn, migrations.For)
	if err != nil {
		t.Fatal(err)
	}
	defer index.Close()
	err = index.EachBlob(ctx, func(b queries.Blob) error {
		f.files[b.Key] = readBlob(t, src, b.Key)
		return nil
	})
	if err != nil || len(f.files) != 5 {
		t.Fatalf("the index lists %d files, %v; want 5", len(f.files), err)
	}
	return f
}

// copy runs "medimg blobs copy" from the file store to the bucket.
func (f *blobsCopyFixture) copy(t *testing.T, extra ...string) (stdout, stderr string, err error) {
	t.Helper()
	args := append([]string{"blobs", "copy", "--database", f.dsn, "--from", f.from, "--to", f.to}, extra...)
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, func(string) string { return "" }, nil, &out, &errOut)
	return out.String(), errOut.String(), err
}

// checkBucket compares the bucket with the index's files: the same keys, byte for byte.
func (f *blobsCopyFixture) checkBucket(t *testing.T) {
	t.Helper()
	list, err := f.bucket.ListBucket("archive", &gofakes3.Prefix{HasPrefix: true, Prefix: "pacs/"}, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Contents) != len(f.files) {
		t.Errorf("the bucket holds %d objects, want the index's %d (no stray file)", len(list.Contents), len(f.files))
	}
	for key, want := range f.files {
		obj, err := f.bucket.GetObject("archive", "pacs/"+key, nil)
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		got, _ := io.ReadAll(obj.Contents)
		obj.Contents.Close()
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the bucket holds %d bytes that differ from the source's %d", key, len(got), len(want))
		}
	}
}

func (f *blobsCopyFixture) anyKey() string {
	for k := range f.files {
		return k
	}
	return ""
}

func readBlob(t *testing.T, s storage.Store, key string) []byte {
	t.Helper()
	r, err := s.Open(context.Background(), key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBlobsCopyMovesAnArchiveToS3(t *testing.T) {
	f := newBlobsCopyFixture(t)
	ctx := context.Background()

	stdout, stderr, err := f.copy(t, "--jobs", "3")
	if err != nil {
		t.Fatalf("first copy: %v\n%s%s", err, stdout, stderr)
	}
	t.Logf("stderr:\n%sstdout:\n%s", stderr, stdout)
	for _, want := range []string{"5 files in the index", "5 copied", "0 already there", "0 failed", "--blobs '" + f.to + "'"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("first copy's summary lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "copied 5/5 (") {
		t.Errorf("no final progress line on stderr:\n%s", stderr)
	}
	f.checkBucket(t)

	t.Run("a_second_run_finds_everything_there", func(t *testing.T) {
		stdout, _, err := f.copy(t)
		if err != nil || !strings.Contains(stdout, "0 copied") || !strings.Contains(stdout, "5 already there") {
			t.Errorf("second copy: %v\n%s", err, stdout)
		}
	})

	dst, err := openBlobs(ctx, f.to, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a_short_object_at_the_destination_is_copied_again", func(t *testing.T) {
		if _, err := storage.Put(ctx, dst, f.anyKey(), strings.NewReader("cut short")); err != nil {
			t.Fatal(err)
		}
		stdout, _, err := f.copy(t)
		if err != nil || !strings.Contains(stdout, "1 copied") || !strings.Contains(stdout, "4 already there") {
			t.Errorf("copy over a short object: %v\n%s", err, stdout)
		}
		f.checkBucket(t)
	})

	t.Run("a_source_file_that_differs_from_the_index_fails_and_is_not_copied", func(t *testing.T) {
		key := f.anyKey()
		path := filepath.Join(f.dir, filepath.FromSlash(key))
		bad := bytes.Clone(f.files[key])
		bad[len(bad)-1] ^= 0xff // same size, other bytes
		if err := os.WriteFile(path, bad, 0o640); err != nil {
			t.Fatal(err)
		}
		if err := dst.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, err := f.copy(t)
		if err == nil || !strings.Contains(err.Error(), "1 of 5 files failed") {
			t.Errorf("copy of a corrupt source = %v, want 1 of 5 files failed", err)
		}
		if !strings.Contains(stdout, "1 failed") || !strings.Contains(stdout, "failed "+key+": the source's SHA-256") || strings.Contains(stdout, "To switch over") {
			t.Errorf("summary:\n%s", stdout)
		}
		if !strings.Contains(stderr, "failed "+key) {
			t.Errorf("the failure is not logged as it happens:\n%s", stderr)
		}
		if _, err := dst.Stat(ctx, key); err == nil {
			t.Errorf("a file whose SHA-256 differs from the index was stored at the destination")
		}
		if err := os.WriteFile(path, f.files[key], 0o640); err != nil {
			t.Fatal(err)
		}
		if stdout, _, err := f.copy(t); err != nil || !strings.Contains(stdout, "1 copied") {
			t.Errorf("copy after repairing the source: %v\n%s", err, stdout)
		}
		f.checkBucket(t)
	})

	t.Run("a_server_on_the_bucket_serves_the_archive", func(t *testing.T) {
		srv := start(t, nil, "--database", f.dsn, "--blobs", f.to)
		for _, u := range f.uids {
			code, body := srv.get(t, fmt.Sprintf("/wado?requestType=WADO&studyUID=%s&seriesUID=%s&objectUID=%s&contentType=application/dicom&transferSyntax=*",
				u.StudyInstanceUID, u.SeriesInstanceUID, u.SOPInstanceUID))
			if code != 200 || !hasFile(f.files, []byte(body)) {
				t.Errorf("instance %s from the bucket: status %d, %d bytes that are not the stored file", u.SOPInstanceUID, code, len(body))
			}
		}
	})
}

func hasFile(files map[string][]byte, b []byte) bool {
	for _, f := range files {
		if bytes.Equal(f, b) {
			return true
		}
	}
	return false
}

// cancelAfterCommit is a destination whose first Commit stands for a Ctrl-C.
type cancelAfterCommit struct {
	storage.Store
	cancel context.CancelFunc
}

func (c cancelAfterCommit) NewUpload(ctx context.Context) (storage.Upload, error) {
	up, err := c.Store.NewUpload(ctx)
	return cancelUpload{up, c.cancel}, err
}

type cancelUpload struct {
	storage.Upload
	cancel context.CancelFunc
}

func (u cancelUpload) Commit(ctx context.Context, key string) error {
	err := u.Upload.Commit(ctx, key)
	u.cancel()
	return err
}

func TestBlobsCopyStopsOnCancelAndResumes(t *testing.T) {
	ctx := context.Background()
	index := querytest.Open(t, queries.SQLite)
	src, err := storage.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dst, err := storage.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := range n {
		body := fmt.Sprintf("file %d", i)
		key := fmt.Sprintf("studies/1.5/%d.dcm", i)
		if _, err := storage.Put(ctx, src, key, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(body))
		addInstance(t, index, key, int64(len(body)), hex.EncodeToString(sum[:]), i)
	}

	cctx, cancel := context.WithCancel(ctx)
	c := &blobCopy{index: index, src: src, dst: cancelAfterCommit{dst, cancel}, jobs: 2, progress: io.Discard, every: time.Hour}
	sum, err := c.run(cctx)
	if err == nil || !sum.interrupted || len(sum.failed) != 0 || sum.copied >= n {
		t.Fatalf("cancelled copy: %v, interrupted %t, %d copied, failures %v; want an interruption, no failures", err, sum.interrupted, sum.copied, sum.failed)
	}
	var out bytes.Buffer
	sum.report(&out, "file:a", "file:b")
	if !strings.Contains(out.String(), "Run the same command again") {
		t.Errorf("report of an interrupted copy:\n%s", out.String())
	}

	c = &blobCopy{index: index, src: src, dst: dst, jobs: 2, progress: io.Discard, every: time.Hour}
	again, err := c.run(ctx)
	if err != nil || again.copied+again.already != n || again.already < 1 || len(again.failed) != 0 {
		t.Errorf("resumed copy: %v, %d copied, %d already there, failures %v; want all %d done, the first run's kept", err, again.copied, again.already, again.failed, n)
	}
	for i := range n {
		key := fmt.Sprintf("studies/1.5/%d.dcm", i)
		if got := string(readBlob(t, dst, key)); got != fmt.Sprintf("file %d", i) {
			t.Errorf("%s = %q", key, got)
		}
	}
}

// addInstance indexes an instance whose file is key.
func addInstance(t *testing.T, s *queries.Store, key string, size int64, sha string, i int) {
	t.Helper()
	in := queries.NewInstance{
		Study:  queries.StudyAttributes{StudyInstanceUID: "1.5"},
		Series: queries.SeriesAttributes{SeriesInstanceUID: "1.5.1", Modality: "CT"},
		Instance: queries.InstanceAttributes{SOPInstanceUID: fmt.Sprintf("1.5.1.%d", i), SOPClassUID: "1.2.840.10008.5.1.4.1.1.2",
			TransferSyntaxUID: "1.2.840.10008.1.2.1", BlobKey: key, Size: size, SHA256: sha, Metadata: `{}`, Frames: `{}`, BulkData: `{}`},
	}
	if _, err := s.AddInstance(context.Background(), in, false); err != nil {
		t.Fatal(err)
	}
}

func TestBlobsCommandRejects(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	for name, args := range map[string][]string{
		"no_action":       {"blobs"},
		"unknown_action":  {"blobs", "move", "--to", "file:x"},
		"no_destination":  {"blobs", "copy", "--database", db},
		"same_stores":     {"blobs", "copy", "--database", db, "--from", "file:a", "--to", "file:a"},
		"no_jobs":         {"blobs", "copy", "--database", db, "--to", "file:b", "--jobs", "0"},
		"stray_argument":  {"blobs", "copy", "--database", db, "--to", "file:b", "everything"},
		"bad_destination": {"blobs", "copy", "--database", db, "--from", "file:" + t.TempDir(), "--to", "ftp://x"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := run(context.Background(), args, func(string) string { return "" }, nil, io.Discard, io.Discard); err == nil {
				t.Errorf("run(%q) succeeded", args)
			}
		})
	}
}
