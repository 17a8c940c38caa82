// Package storagetest is the behaviour suite every storage.Store implementation passes, so that the
// filesystem store used in development and the S3 store used in production cannot drift apart.
package storagetest

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/medimg/medimg/storage"
)

// Run runs the whole suite, one subtest per behaviour. newStore must return an empty store of its own
// for each call, cleaned up through t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		test func(t *testing.T, s storage.Store)
	}{
		{"put then open returns the whole object", testPutOpen},
		{"an empty object can be stored and read", testEmpty},
		{"open reads a range", testRanges},
		{"open rejects a range past the end", testRangePastEnd},
		{"a missing key is not found", testMissing},
		{"a key that is only a prefix of others is not found", testPrefixKey},
		{"stat describes the object", testStat},
		{"invalid keys are rejected", testInvalidKeys},
		{"delete removes only the object", testDelete},
		{"an upload reads back what was written before commit", testUploadReadAt},
		{"an upload reads back and commits whole past the size kept in memory", testUploadPastMemory},
		{"an uncommitted upload is invisible", testUncommittedInvisible},
		{"abort after commit is harmless", testAbortAfterCommit},
		{"an aborted upload leaves nothing", testAbortDiscards},
		{"a finished upload cannot be written or committed", testFinishedUpload},
		{"commit honours a cancelled context", testCommitCancelled},
		{"overwrite replaces the object", testOverwrite},
		{"a reader opened before an overwrite keeps reading the old object", testReaderDuringOverwrite},
		{"concurrent readers see all old or all new bytes during overwrites", testConcurrentOverwrite},
		{"list finds the objects under a prefix", testList},
		{"list stops at the first error from fn", testListStops},
		{"list lets fn delete the objects it is given", testListDelete},
		{"list honours a cancelled context", testListCancelled},
		{"many concurrent uploads of different keys all land", testConcurrentUploads},
		{"commits and deletes in one directory do not trip over each other", testCommitDeleteRace},
		{"a 20 MB object written in small chunks reads back by ranges", testLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.test(t, newStore(t)) })
	}
}

// content returns n reproducible pseudo-random bytes, different for each seed, so that a byte read
// from the wrong offset or the wrong object shows.
func content(n int, seed uint64) []byte {
	b := make([]byte, n)
	rand.NewChaCha8(seedOf(seed)).Read(b)
	return b
}

func seedOf(seed uint64) [32]byte {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return s
}

// put stores data under key and fails the test if it cannot.
func put(t *testing.T, s storage.Store, key string, data []byte) {
	t.Helper()
	n, err := storage.Put(t.Context(), s, key, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	if n != int64(len(data)) {
		t.Fatalf("Put(%q) = %d bytes, want %d", key, n, len(data))
	}
}

// read returns the range of key, failing the test if it cannot be read.
func read(t *testing.T, s storage.Store, key string, offset, length int64) []byte {
	t.Helper()
	r, err := s.Open(t.Context(), key, offset, length)
	if err != nil {
		t.Fatalf("Open(%q, %d, %d): %v", key, offset, length, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return b
}

// wantNotFound fails the test unless err wraps storage.ErrNotFound.
func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("%s: err = %v, want storage.ErrNotFound", what, err)
	}
}

// equal fails the test if got differs from want, without printing megabytes.
func equal(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Errorf("%s: got %d bytes, want %d; first difference at byte %d", what, len(got), len(want), i)
}
