package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
)

// errFinished is returned by an upload used after Commit or Abort.
var errFinished = errors.New("storage: upload already committed or aborted")

// spoolMemory is how much of an upload is kept in memory before it moves to a temp file: all of a
// typical small instance (a 64×64 image is 9 KB), so that storing one costs no temp file, and
// little enough that the uploads in flight hold little memory.
const spoolMemory = 64 << 10

// memBuffers are the in-memory spools, reused.
var memBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, spoolMemory)
	return &b
}}

// spool holds an upload until Commit, for every Store implementation: in memory while it is small,
// then in a temp file. It is written, read back by the caller that parses it, then handed over or
// dropped. It gives an Upload its Write, ReadAt, Size and Abort.
type spool struct {
	// mu lets ReadAt and Size run while nothing writes; Write, Commit and Abort take it exclusively.
	mu sync.RWMutex
	// newFile makes the temp file when the upload outgrows memory.
	newFile func() (*os.File, error)
	mem     *[]byte  // the upload while it is in memory (file is nil)
	file    *os.File // the upload once it is in a temp file (mem is nil)
	done    bool
	size    int64
}

// newSpool starts an upload in memory; newFile makes its temp file if it grows past spoolMemory.
func newSpool(newFile func() (*os.File, error)) spool {
	return spool{newFile: newFile, mem: memBuffers.Get().(*[]byte)}
}

// Write appends p to the upload.
func (s *spool) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return 0, errFinished
	}
	if s.mem != nil && len(*s.mem)+len(p) <= spoolMemory {
		*s.mem = append(*s.mem, p...)
		s.size += int64(len(p))
		return len(p), nil
	}
	if s.mem != nil {
		if err := s.spill(); err != nil {
			return 0, err
		}
	}
	n, err := s.file.Write(p)
	s.size += int64(n)
	return n, err
}

// spill moves the upload from memory to a new temp file; the caller holds mu.
func (s *spool) spill() error {
	file, err := s.newFile()
	if err != nil {
		return err
	}
	if _, err := file.Write(*s.mem); err != nil {
		file.Close()
		os.Remove(file.Name())
		return err
	}
	s.file = file
	s.releaseMemory()
	return nil
}

// inMemory returns the whole upload if it is still in memory; the caller holds mu, and the bytes
// are valid until the upload is finished.
func (s *spool) inMemory() ([]byte, bool) {
	if s.mem == nil {
		return nil, false
	}
	return *s.mem, true
}

// content reads the whole upload, from memory or from its temp file, without taking mu: for
// Commit, which holds it.
func (s *spool) content() io.ReaderAt {
	if s.mem != nil {
		return bytes.NewReader(*s.mem)
	}
	return s.file
}

// ReadAt reads what has been written so far; it returns io.EOF past the end like any io.ReaderAt.
func (s *spool) ReadAt(p []byte, off int64) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch {
	case s.done:
		return 0, errFinished
	case s.file != nil:
		return s.file.ReadAt(p, off)
	case off < 0:
		return 0, fmt.Errorf("storage: read at negative offset %d", off)
	case off >= int64(len(*s.mem)):
		return 0, io.EOF
	}
	n := copy(p, (*s.mem)[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Size is the number of bytes written so far.
func (s *spool) Size() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.size
}

// Abort drops the upload; after Commit, or a second time, it does nothing.
func (s *spool) Abort() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.discard()
}

// discard drops the memory or closes and removes the temp file, and finishes the upload; the
// caller holds mu.
func (s *spool) discard() error {
	s.done = true
	s.releaseMemory()
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

// releaseMemory returns the in-memory spool to the pool; the caller holds mu.
func (s *spool) releaseMemory() {
	if s.mem != nil {
		*s.mem = (*s.mem)[:0]
		memBuffers.Put(s.mem)
		s.mem = nil
	}
}
