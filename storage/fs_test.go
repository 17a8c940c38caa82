package storage_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medimg/medimg/storage"
	"github.com/medimg/medimg/storage/storagetest"
)

func TestFS(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, _ := newFS(t)
		return s
	})
}

// newFS opens a store in a fresh temporary directory and returns it with its root.
func newFS(t testing.TB) (*storage.FS, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "blobs")
	s, err := storage.NewFS(root)
	if err != nil {
		t.Fatal(err)
	}
	return s, root
}

// uploadFiles returns the names of the temp files in root/.uploads.
func uploadFiles(t *testing.T, root string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, ".uploads"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestFSObjectIsAFileAtRootKey(t *testing.T) {
	s, root := newFS(t)
	const key = "studies/1.2/series/3.4/5.6.dcm"
	if _, err := storage.Put(t.Context(), s, key, strings.NewReader("DICM")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, "studies", "1.2", "series", "3.4", "5.6.dcm")
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "DICM" {
		t.Errorf("ReadFile(%s) = %q, %v; want DICM", p, got, err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("Stat(%s) = %v, %v; want mode 0640", p, fi.Mode(), err)
	}
	if names := uploadFiles(t, root); len(names) != 0 {
		t.Errorf("temp files left after Commit: %q", names)
	}
}

func TestFSSweepUploadsRemovesOnlyOldTempFiles(t *testing.T) {
	s, root := newFS(t)
	inFlight, err := s.NewUpload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer inFlight.Abort()
	inFlight.Write(bytes.Repeat([]byte("still arriving"), 10<<10)) // past memory: a temp file
	crashed := filepath.Join(root, ".uploads", "upload-crashed")
	if err := os.WriteFile(crashed, []byte("left by a crash"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(crashed, old, old); err != nil {
		t.Fatal(err)
	}

	n, err := s.SweepUploads(time.Hour)
	if err != nil || n != 1 {
		t.Errorf("SweepUploads = %d, %v; want 1, nil", n, err)
	}
	if _, err := os.Stat(crashed); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old temp file still there: %v", err)
	}
	if err := inFlight.Commit(t.Context(), "kept.dcm"); err != nil {
		t.Errorf("Commit of the recent upload after the sweep: %v", err)
	}
}

func TestFSNeverListsUploads(t *testing.T) {
	s, root := newFS(t)
	for _, name := range []string{"upload-123", "a.dcm"} {
		if err := os.WriteFile(filepath.Join(root, ".uploads", name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	up, err := s.NewUpload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer up.Abort()
	if _, err := storage.Put(t.Context(), s, "a.dcm", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"", ".", ".uploads"} {
		var keys []string
		err := s.List(t.Context(), prefix, func(info storage.Info) error {
			keys = append(keys, info.Key)
			return nil
		})
		want := []string{"a.dcm"}
		if prefix != "" {
			want = nil
		}
		if err != nil || !slices.Equal(keys, want) {
			t.Errorf("List(%q) = %q, %v; want %q", prefix, keys, err, want)
		}
	}
	err = s.List(t.Context(), ".uploads/", func(storage.Info) error { return errors.New("listed") })
	if !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("List(.uploads/) = %v, want storage.ErrInvalidKey", err)
	}
	_, err = s.Open(t.Context(), ".uploads/upload-123", 0, -1)
	if !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("Open of a temp file = %v, want storage.ErrInvalidKey", err)
	}
	if err := up.Commit(t.Context(), ".uploads/upload-123"); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("Commit over a temp file = %v, want storage.ErrInvalidKey", err)
	}
}

func TestFSInvalidKeyStaysInsideRoot(t *testing.T) {
	s, root := newFS(t)
	up, err := s.NewUpload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	up.Write([]byte("escape"))
	if err := up.Commit(t.Context(), "../escape"); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("Commit(../escape) = %v, want storage.ErrInvalidKey", err)
	}
	if _, err := os.Stat(filepath.Join(root, "..", "escape")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file outside root: %v", err)
	}
	if names := uploadFiles(t, root); len(names) != 0 {
		t.Errorf("temp files left after a failed Commit: %q", names)
	}
}

func TestFSAbortRemovesTempFile(t *testing.T) {
	s, root := newFS(t)
	up, err := s.NewUpload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	up.Write([]byte("dropped"))
	if names := uploadFiles(t, root); len(names) != 0 {
		t.Errorf("temp files during a small upload: %q, want none (it is kept in memory)", names)
	}
	up.Write(bytes.Repeat([]byte("x"), 64<<10))
	if names := uploadFiles(t, root); len(names) != 1 {
		t.Errorf("temp files during an upload past 64 KiB: %q, want one", names)
	}
	if err := up.Abort(); err != nil {
		t.Fatal(err)
	}
	if names := uploadFiles(t, root); len(names) != 0 {
		t.Errorf("temp files after Abort: %q", names)
	}
}

func TestFSDeletePrunesEmptyDirectories(t *testing.T) {
	s, root := newFS(t)
	for _, k := range []string{"a/b/c.dcm", "a/x.dcm"} {
		if _, err := storage.Put(t.Context(), s, k, strings.NewReader(k)); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(rel string) bool {
		_, err := os.Stat(filepath.Join(root, rel))
		return err == nil
	}
	if err := s.Delete(t.Context(), "a/b/c.dcm"); err != nil {
		t.Fatal(err)
	}
	if exists("a/b") || !exists("a") {
		t.Errorf("after deleting a/b/c.dcm: a/b exists %v, a exists %v; want false, true", exists("a/b"), exists("a"))
	}
	if err := s.Delete(t.Context(), "a/x.dcm"); err != nil {
		t.Fatal(err)
	}
	if exists("a") || !exists(".") || !exists(".uploads") {
		t.Errorf("after deleting everything: a %v, root %v, .uploads %v; want false, true, true",
			exists("a"), exists("."), exists(".uploads"))
	}
}

func TestNewFSReopensExistingRoot(t *testing.T) {
	s, root := newFS(t)
	if _, err := storage.Put(t.Context(), s, "kept.dcm", strings.NewReader("kept")); err != nil {
		t.Fatal(err)
	}
	again, err := storage.NewFS(root)
	if err != nil {
		t.Fatal(err)
	}
	r, err := again.Open(t.Context(), "kept.dcm", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(r); err != nil || b.String() != "kept" {
		t.Errorf("read %q, %v; want kept", b.String(), err)
	}
}

func BenchmarkFSPut(b *testing.B) {
	s, _ := newFS(b)
	data := bytes.Repeat([]byte("DICM"), 512<<10/4)
	b.SetBytes(int64(len(data)))
	i := 0
	for b.Loop() {
		key := fmt.Sprintf("studies/1/series/%d/%d.dcm", i/100, i)
		if _, err := storage.Put(b.Context(), s, key, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkFSPutSmall stores 9 KB objects (a 64×64 instance) from 4 goroutines into one directory,
// as concurrent STOW requests of one series do: the cost is the file system's, not the copy's.
func BenchmarkFSPutSmall(b *testing.B) {
	s, _ := newFS(b)
	data := bytes.Repeat([]byte("DICM"), 9<<10/4)
	b.SetBytes(int64(len(data)))
	b.SetParallelism(4 / runtime.GOMAXPROCS(0))
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := fmt.Sprintf("studies/1/series/2/%d.dcm", n.Add(1))
			if _, err := storage.Put(b.Context(), s, key, bytes.NewReader(data)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func TestFSCheck(t *testing.T) {
	tests := map[string]struct {
		damage  func(root string) error
		wantErr bool
	}{
		"healthy":         {damage: func(string) error { return nil }},
		"root_removed":    {damage: os.RemoveAll, wantErr: true},
		"uploads_removed": {damage: func(root string) error { return os.Remove(filepath.Join(root, ".uploads")) }, wantErr: true},
		"uploads_not_dir": {damage: func(root string) error { return replaceWithFile(filepath.Join(root, ".uploads")) }, wantErr: true},
		"root_is_a_file":  {damage: replaceWithFile, wantErr: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			s, root := newFS(t)
			if err := tt.damage(root); err != nil {
				t.Fatal(err)
			}
			if err := s.Check(t.Context()); (err != nil) != tt.wantErr {
				t.Errorf("Check = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}

// replaceWithFile removes the directory at path and puts a regular file in its place.
func replaceWithFile(path string) error {
	if err := os.RemoveAll(path); err != nil {
		return err
	}
	return os.WriteFile(path, []byte("not a directory"), 0o600)
}
