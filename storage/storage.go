// Package storage is the blob store holding the DICOM Part 10 files: a small interface, so the server
// runs on a local filesystem in development and on S3 in production, with one behaviour suite
// (storagetest) that every implementation passes.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrNotFound is returned (wrapped, with the key) when an object does not exist.
var ErrNotFound = errors.New("storage: not found")

// ErrInvalidKey is returned (wrapped, with the key) for a key ValidKey rejects, before any I/O, so that
// a key built from unchecked input can never reach outside the store.
var ErrInvalidKey = errors.New("storage: invalid key")

// Info describes one stored object.
type Info struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Store is the blob store: a filesystem implementation now, S3 later (keep the interface S3-friendly).
type Store interface {
	// NewUpload starts writing an object whose key is not known yet: the DICOMweb store reads a part,
	// parses it, and only then knows the UIDs that make the key. Nothing is visible to readers until Commit.
	NewUpload(ctx context.Context) (Upload, error)
	// Open returns a reader of length bytes starting at offset; length < 0 means to the end.
	// A range past the end is an error; a missing key is ErrNotFound.
	// A reader keeps reading the object it opened even if the key is overwritten meanwhile.
	Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// Stat describes the object at key without reading it, so a response can announce its length;
	// a missing key is ErrNotFound (wrapped).
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes key; a missing key is ErrNotFound (wrapped).
	Delete(ctx context.Context, key string) error
	// List calls fn for every committed object whose key starts with prefix (for the orphan sweep), in no
	// particular order; an error from fn stops the walk and is returned. fn may Delete the object it is
	// given. A prefix that no valid key can start with is rejected with ErrInvalidKey.
	List(ctx context.Context, prefix string, fn func(Info) error) error
}

// Upload is an object being written. It is an io.Writer, and an io.ReaderAt over what has been written
// so far (so the caller can parse the object before choosing its key).
type Upload interface {
	io.Writer
	io.ReaderAt
	// Size is the number of bytes written so far.
	Size() int64
	// Commit makes the object visible under key atomically (readers see the whole object or none),
	// replacing any object already there; the data is durable (fsync) when Commit returns.
	// Commit ends the upload whether or not it succeeds: a failed Commit leaves no object behind.
	Commit(ctx context.Context, key string) error
	// Abort discards the upload. It is safe to call after Commit (then it does nothing) and more than once,
	// so callers can `defer up.Abort()`.
	Abort() error
}

// Put stores r under key through s.NewUpload: the one way to write an object whose key is known.
// It returns the number of bytes stored.
func Put(ctx context.Context, s Store, key string, r io.Reader) (int64, error) {
	// Checked here as well as in Commit, so a bad key fails before the whole stream is copied.
	if err := checkKey(key); err != nil {
		return 0, err
	}
	up, err := s.NewUpload(ctx)
	if err != nil {
		return 0, err
	}
	defer up.Abort()
	n, err := io.Copy(up, r)
	if err != nil {
		return n, fmt.Errorf("storage: put %s: %w", key, err)
	}
	if err := up.Commit(ctx, key); err != nil {
		return n, err
	}
	return n, nil
}
