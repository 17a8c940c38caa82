package storagetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/medimg/medimg/storage"
)

// newUpload starts an upload holding data, aborted when the test ends.
func newUpload(t *testing.T, s storage.Store, data []byte) storage.Upload {
	t.Helper()
	up, err := s.NewUpload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { up.Abort() })
	if _, err := up.Write(data); err != nil {
		t.Fatal(err)
	}
	return up
}

func testUploadReadAt(t *testing.T, s storage.Store) {
	up := newUpload(t, s, []byte("hello "))
	if _, err := up.Write([]byte("world")); err != nil {
		t.Fatal(err)
	}
	if up.Size() != 11 {
		t.Errorf("Size = %d, want 11", up.Size())
	}
	buf := make([]byte, 5)
	if n, err := up.ReadAt(buf, 6); n != 5 || err != nil || string(buf) != "world" {
		t.Errorf("ReadAt(5, 6) = %d, %v, %q; want 5, nil, world", n, err, buf)
	}
	buf = make([]byte, 10)
	if n, err := up.ReadAt(buf, 6); n != 5 || err != io.EOF || string(buf[:n]) != "world" {
		t.Errorf("ReadAt(10, 6) = %d, %v, %q; want 5, io.EOF, world", n, err, buf[:n])
	}
	if n, err := up.ReadAt(buf, 11); n != 0 || err != io.EOF {
		t.Errorf("ReadAt at the end = %d, %v; want 0, io.EOF", n, err)
	}
	// The caller parses, keeps writing, parses again.
	if _, err := up.Write([]byte("!")); err != nil {
		t.Fatal(err)
	}
	if n, err := up.ReadAt(buf[:6], 6); n != 6 || err != nil || string(buf[:6]) != "world!" {
		t.Errorf("ReadAt after another Write = %d, %v, %q; want 6, nil, world!", n, err, buf[:6])
	}
	if err := up.Commit(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	equal(t, "committed", read(t, s, key, 0, -1), []byte("hello world!"))
}

// testUploadPastMemory writes an upload in steps across the size up to which implementations
// may keep it in memory, reading it back at every step, and commits it.
func testUploadPastMemory(t *testing.T, s storage.Store) {
	data := content(200<<10, 7)
	up, err := s.NewUpload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer up.Abort()
	written := 0
	for chunk := range slices.Chunk(data, 7<<10+13) {
		if _, err := up.Write(chunk); err != nil {
			t.Fatal(err)
		}
		written += len(chunk)
		if up.Size() != int64(written) {
			t.Fatalf("Size = %d after writing %d", up.Size(), written)
		}
		// The whole upload so far, and a span across the last write.
		got := make([]byte, written)
		if n, err := up.ReadAt(got, 0); n != written || err != nil {
			t.Fatalf("ReadAt of all %d bytes = %d, %v", written, n, err)
		}
		equal(t, fmt.Sprintf("after %d bytes", written), got, data[:written])
	}
	if err := up.Commit(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	equal(t, "committed", read(t, s, key, 0, -1), data)
}

func testUncommittedInvisible(t *testing.T, s storage.Store) {
	up := newUpload(t, s, []byte("new"))
	_, err := s.Open(t.Context(), key, 0, -1)
	wantNotFound(t, "Open before Commit", err)
	_, err = s.Stat(t.Context(), key)
	wantNotFound(t, "Stat before Commit", err)
	if keys := listKeys(t, s, ""); len(keys) != 0 {
		t.Errorf("List before Commit = %q, want nothing", keys)
	}

	// An upload meant to replace an object does not show through either.
	put(t, s, key, []byte("old"))
	equal(t, "before Commit", read(t, s, key, 0, -1), []byte("old"))
	if err := up.Commit(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	equal(t, "after Commit", read(t, s, key, 0, -1), []byte("new"))
}

func testAbortAfterCommit(t *testing.T, s storage.Store) {
	up := newUpload(t, s, []byte("kept"))
	if err := up.Commit(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := up.Abort(); err != nil {
			t.Errorf("Abort after Commit: %v", err)
		}
	}
	equal(t, "after Abort", read(t, s, key, 0, -1), []byte("kept"))
}

func testAbortDiscards(t *testing.T, s storage.Store) {
	up := newUpload(t, s, []byte("dropped"))
	for range 2 {
		if err := up.Abort(); err != nil {
			t.Errorf("Abort: %v", err)
		}
	}
	if err := up.Commit(t.Context(), key); err == nil {
		t.Error("Commit after Abort succeeded")
	}
	_, err := s.Stat(t.Context(), key)
	wantNotFound(t, "Stat after Abort", err)
	if keys := listKeys(t, s, ""); len(keys) != 0 {
		t.Errorf("List after Abort = %q, want nothing", keys)
	}
}

func testFinishedUpload(t *testing.T, s storage.Store) {
	up := newUpload(t, s, []byte("once"))
	if err := up.Commit(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	if _, err := up.Write([]byte("more")); err == nil {
		t.Error("Write after Commit succeeded")
	}
	if err := up.Commit(t.Context(), "other.dcm"); err == nil {
		t.Error("second Commit succeeded")
	}
	equal(t, "object", read(t, s, key, 0, -1), []byte("once"))
	_, err := s.Stat(t.Context(), "other.dcm")
	wantNotFound(t, "Stat of the second Commit's key", err)
}

func testCommitCancelled(t *testing.T, s storage.Store) {
	up := newUpload(t, s, []byte("cancelled"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := up.Commit(ctx, key); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit with a cancelled context: err = %v, want context.Canceled", err)
	}
	_, err := s.Stat(t.Context(), key)
	wantNotFound(t, "Stat after a cancelled Commit", err)
	if err := up.Abort(); err != nil {
		t.Errorf("Abort after a failed Commit: %v", err)
	}
}
