package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// errFinished is returned by an upload used after Commit or Abort.
var errFinished = errors.New("storage: upload already committed or aborted")

// spool is the temp file of an upload, which every Store implementation keeps until Commit: written,
// read back by the caller that parses it, then handed over or removed. It gives an Upload its Write,
// ReadAt, Size and Abort.
type spool struct {
	// mu lets ReadAt and Size run while nothing writes; Write, Commit and Abort take it exclusively.
	mu   sync.RWMutex
	file *os.File // nil once the upload is finished
	size int64
}

// Write appends p to the upload.
func (s *spool) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file == nil {
		return 0, errFinished
	}
	n, err := s.file.Write(p)
	s.size += int64(n)
	return n, err
}

// ReadAt reads what has been written so far; it returns io.EOF past the end like any io.ReaderAt.
func (s *spool) ReadAt(p []byte, off int64) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.file == nil {
		return 0, errFinished
	}
	return s.file.ReadAt(p, off)
}

// Size is the number of bytes written so far.
func (s *spool) Size() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.size
}

// Abort removes the temp file; after Commit, or a second time, it does nothing.
func (s *spool) Abort() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.discard()
}

// discard closes and removes the temp file and finishes the upload; the caller holds mu.
func (s *spool) discard() error {
	file := s.file
	s.file = nil
	if file == nil {
		return nil
	}
	file.Close() // nothing of it is kept, so a failed close loses nothing
	if err := os.Remove(file.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: abort: %w", err)
	}
	return nil
}
