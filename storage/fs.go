package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// uploadsDir holds the temp files of uploads in progress. It lives inside root so that Commit is a
// rename within one filesystem, and its leading dot keeps it apart from keys built from UIDs.
const uploadsDir = ".uploads"

// FS is the Store on a local filesystem: the object for key is the file root/key. An upload is kept
// in memory up to 64 KiB, then in a temp file in root/.uploads; Commit syncs it and then names it:
// the temp file is renamed into place, a small object is written as an unnamed file (O_TMPFILE)
// and linked into place.
type FS struct {
	root    string // absolute, so a later chdir cannot move the store
	uploads string
	// dirs serializes creating and pruning directories under root: a Commit never renames into a
	// directory a concurrent Delete has just pruned, and never relies on a directory another Commit
	// has created but not yet made durable.
	dirs sync.Mutex
	// dirSyncs lets concurrent commits into one directory share its fsyncs.
	dirSyncs dirSyncer
	// tmpfile says that small objects can be written as unnamed files and linked into place
	// (probed at NewFS: Linux, a filesystem with O_TMPFILE, and /proc to link through).
	tmpfile bool
}

var _ Store = (*FS)(nil)

// NewFS opens the store at root, creating root (0o750) and its uploads directory if needed.
// Call SweepUploads at start-up to remove what a crash left behind.
func NewFS(root string) (*FS, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("storage: root %s: %w", root, err)
	}
	uploads := filepath.Join(abs, uploadsDir)
	if err := os.MkdirAll(uploads, 0o750); err != nil {
		return nil, fmt.Errorf("storage: root %s: %w", root, err)
	}
	return &FS{root: abs, uploads: uploads, tmpfile: canLinkTmpfile(uploads)}, nil
}

// Check reports whether the store can serve: its root and uploads directory are still directories
// (a volume unmounted or a root removed under a running server fails here, for /readyz).
func (f *FS) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, dir := range []string{f.root, f.uploads} {
		fi, err := os.Stat(dir)
		if err == nil && !fi.IsDir() {
			err = errors.New("not a directory")
		}
		if err != nil {
			return fmt.Errorf("storage: check %s: %w", dir, err)
		}
	}
	return nil
}

// Open returns a reader of length bytes of key starting at offset (length < 0: to the end). The reader
// holds the file open, so an overwrite or delete meanwhile does not change what it reads.
func (f *FS) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := f.checkKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	file, err := os.Open(f.path(key))
	if err != nil {
		return nil, fsErr("open", key, err)
	}
	fi, err := regular(file.Stat())
	if err != nil {
		file.Close()
		return nil, fsErr("open", key, err)
	}
	size := fi.Size()
	// length > size-offset rather than offset+length > size: the sum can overflow.
	if offset < 0 || offset > size || length > size-offset {
		file.Close()
		return nil, fmt.Errorf("storage: open %s: range %d+%d outside a %d-byte object", key, offset, length, size)
	}
	if length < 0 {
		length = size - offset
	}
	return &sectionFile{io.NewSectionReader(file, offset, length), file}, nil
}

// sectionFile is a range of an open file that closes the file when done; it also keeps
// io.SectionReader's Seek and ReadAt for callers such as http.ServeContent.
type sectionFile struct {
	*io.SectionReader
	file *os.File
}

// Close closes the underlying file.
func (s *sectionFile) Close() error { return s.file.Close() }

// Stat describes the object at key.
func (f *FS) Stat(ctx context.Context, key string) (Info, error) {
	if err := f.checkKey(key); err != nil {
		return Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	fi, err := regular(os.Stat(f.path(key)))
	if err != nil {
		return Info{}, fsErr("stat", key, err)
	}
	return Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete removes key, then the directories it leaves empty, so deleting a study does not leave a
// skeleton for List to walk forever. It does not fsync: a delete lost in a crash resurrects an
// object whose index row is gone, which the orphan sweep removes again.
func (f *FS) Delete(ctx context.Context, key string) error {
	if err := f.checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := f.path(key)
	// A directory is not an object, even though keys below it make it exist on disk.
	if _, err := regular(os.Stat(p)); err != nil {
		return fsErr("delete", key, err)
	}
	if err := os.Remove(p); err != nil {
		return fsErr("delete", key, err)
	}
	f.prune(filepath.Dir(p))
	return nil
}

// prune removes dir and its parents while they are empty, stopping below root.
func (f *FS) prune(dir string) {
	f.dirs.Lock()
	defer f.dirs.Unlock()
	for dir != f.root && strings.HasPrefix(dir, f.root+string(filepath.Separator)) {
		// Failing means not empty (or already gone): either way the parents are not ours to remove.
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// checkKey rejects what ValidKey rejects, and keys inside the uploads directory, which are valid
// names but would let a caller read or replace another upload's temp file.
func (f *FS) checkKey(key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if first, _, _ := strings.Cut(key, "/"); first == uploadsDir {
		return fmt.Errorf("%w: %q is reserved for uploads", ErrInvalidKey, key)
	}
	return nil
}

// path is the file of key; key must have passed checkKey, which is what keeps it inside root.
func (f *FS) path(key string) string {
	return filepath.Join(f.root, filepath.FromSlash(key))
}

// regular passes on the result of a stat, turning anything but a regular file into fs.ErrNotExist:
// a directory that exists because of longer keys is no object.
func regular(fi os.FileInfo, err error) (os.FileInfo, error) {
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	return fi, err
}

// fsErr wraps an error of op on key. A missing file is ErrNotFound, and so is a path running through
// a file (ENOTDIR: key "a/b" when object "a" exists), which is just as missing to the caller.
func fsErr(op, key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return fmt.Errorf("storage: %s %s: %w", op, key, err)
}
