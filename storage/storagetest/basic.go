package storagetest

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/medimg/medimg/storage"
)

const key = "studies/1.2.840.1/series/1.2.840.2/1.2.840.3.dcm"

func testPutOpen(t *testing.T, s storage.Store) {
	data := content(1000, 1)
	put(t, s, key, data)
	equal(t, "whole object", read(t, s, key, 0, -1), data)
}

func testEmpty(t *testing.T, s storage.Store) {
	put(t, s, key, nil)
	equal(t, "empty object", read(t, s, key, 0, -1), nil)
	if info, err := s.Stat(t.Context(), key); err != nil || info.Size != 0 {
		t.Errorf("Stat = %+v, %v; want size 0", info, err)
	}
	if r, err := s.Open(t.Context(), key, 0, 1); err == nil {
		r.Close()
		t.Error("Open(0, 1) of an empty object succeeded")
	}
}

func testRanges(t *testing.T, s storage.Store) {
	data := content(1000, 2)
	put(t, s, key, data)
	tests := []struct {
		name           string
		offset, length int64
		want           []byte
	}{
		{"start", 0, 10, data[:10]},
		{"middle", 400, 100, data[400:500]},
		{"end", 990, 10, data[990:]},
		{"middle to end with length -1", 500, -1, data[500:]},
		{"whole with length -1", 0, -1, data},
		{"nothing at the end", 1000, 0, nil},
		{"nothing at the end with length -1", 1000, -1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			equal(t, "range", read(t, s, key, tt.offset, tt.length), tt.want)
		})
	}
}

func testRangePastEnd(t *testing.T, s storage.Store) {
	put(t, s, key, content(1000, 3))
	tests := []struct {
		name           string
		offset, length int64
	}{
		{"offset past the end", 1001, 0},
		{"offset past the end with length -1", 1001, -1},
		{"length past the end", 990, 11},
		{"length that overflows", 1, math.MaxInt64},
		{"negative offset", -1, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := s.Open(t.Context(), key, tt.offset, tt.length)
			if err == nil {
				r.Close()
				t.Errorf("Open(%d, %d) succeeded", tt.offset, tt.length)
			}
		})
	}
}

func testMissing(t *testing.T, s storage.Store) {
	const missing = "studies/9/missing.dcm"
	_, err := s.Open(t.Context(), missing, 0, -1)
	wantNotFound(t, "Open", err)
	if err != nil && !strings.Contains(err.Error(), missing) {
		t.Errorf("error %q does not name the key", err)
	}
	_, err = s.Stat(t.Context(), missing)
	wantNotFound(t, "Stat", err)
	wantNotFound(t, "Delete", s.Delete(t.Context(), missing))
}

// testPrefixKey covers keys that are directories or run through an object on a filesystem.
func testPrefixKey(t *testing.T, s storage.Store) {
	put(t, s, "a/b", []byte("x"))
	for _, k := range []string{"a", "a/b/c"} {
		_, err := s.Open(t.Context(), k, 0, -1)
		wantNotFound(t, "Open "+k, err)
		_, err = s.Stat(t.Context(), k)
		wantNotFound(t, "Stat "+k, err)
		wantNotFound(t, "Delete "+k, s.Delete(t.Context(), k))
	}
	equal(t, "a/b after the attempts", read(t, s, "a/b", 0, -1), []byte("x"))
}

func testStat(t *testing.T, s storage.Store) {
	put(t, s, key, content(1234, 4))
	info, err := s.Stat(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if info.Key != key || info.Size != 1234 || info.ModTime.IsZero() {
		t.Errorf("Stat = %+v, want key %s, size 1234, a modification time", info, key)
	}
}

func testInvalidKeys(t *testing.T, s storage.Store) {
	keys := []string{"../x", "/abs", "a//b", "a/./b", "", "with space", "a/../b", "a/", ".", "..",
		`a\b`, "é.dcm", "a\x00b", strings.Repeat("a", 1025)}
	ctx := t.Context()
	for _, k := range keys {
		t.Run(fmt.Sprintf("%.40q", k), func(t *testing.T) {
			_, err := s.Open(ctx, k, 0, -1)
			wantInvalid(t, "Open", err)
			_, err = s.Stat(ctx, k)
			wantInvalid(t, "Stat", err)
			wantInvalid(t, "Delete", s.Delete(ctx, k))
			_, err = storage.Put(ctx, s, k, strings.NewReader("x"))
			wantInvalid(t, "Put", err)
			up, err := s.NewUpload(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer up.Abort()
			up.Write([]byte("x"))
			wantInvalid(t, "Commit", up.Commit(ctx, k))
		})
	}
	for _, prefix := range []string{"../", "/abs", "a//"} {
		err := s.List(ctx, prefix, func(storage.Info) error { return errors.New("listed") })
		wantInvalid(t, fmt.Sprintf("List(%q)", prefix), err)
	}
}

func wantInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("%s: err = %v, want storage.ErrInvalidKey", what, err)
	}
}

func testDelete(t *testing.T, s storage.Store) {
	put(t, s, "d/1/a.dcm", []byte("a"))
	put(t, s, "d/1/b.dcm", []byte("b"))
	if err := s.Delete(t.Context(), "d/1/a.dcm"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Open(t.Context(), "d/1/a.dcm", 0, -1)
	wantNotFound(t, "Open after Delete", err)
	wantNotFound(t, "second Delete", s.Delete(t.Context(), "d/1/a.dcm"))
	equal(t, "sibling", read(t, s, "d/1/b.dcm", 0, -1), []byte("b"))

	if err := s.Delete(t.Context(), "d/1/b.dcm"); err != nil {
		t.Fatal(err)
	}
	put(t, s, "d/1/a.dcm", []byte("again"))
	equal(t, "stored again", read(t, s, "d/1/a.dcm", 0, -1), []byte("again"))
}

func testOverwrite(t *testing.T, s storage.Store) {
	put(t, s, key, content(5000, 5))
	data := content(300, 6)
	put(t, s, key, data)
	equal(t, "after overwrite", read(t, s, key, 0, -1), data)
	if info, err := s.Stat(t.Context(), key); err != nil || info.Size != 300 {
		t.Errorf("Stat = %+v, %v; want size 300", info, err)
	}
}
