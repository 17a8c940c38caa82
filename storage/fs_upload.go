package storage

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// fsUpload is an upload to FS: in memory while small, then a temp file in root/.uploads.
type fsUpload struct {
	spool
	fs *FS
}

// NewUpload starts an upload.
func (f *FS) NewUpload(ctx context.Context) (Upload, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &fsUpload{spool: newSpool(f.newTempFile), fs: f}, nil
}

// newTempFile makes a temp file in root/.uploads.
func (f *FS) newTempFile() (*os.File, error) {
	file, err := os.CreateTemp(f.uploads, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("storage: new upload: %w", err)
	}
	// CreateTemp makes the file 0o600; objects are group-readable like the 0o750 directories,
	// so that a backup job in the server's group can read them.
	if err := file.Chmod(0o640); err != nil {
		file.Close()
		os.Remove(file.Name())
		return nil, fmt.Errorf("storage: new upload: %w", err)
	}
	return file, nil
}

// Commit puts the upload at root/key. A failed Commit removes the temp file, so a caller that
// forgets Abort on that path leaks nothing.
func (u *fsUpload) Commit(ctx context.Context, key string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return errFinished
	}
	defer u.discard()
	return u.commit(ctx, key)
}

func (u *fsUpload) commit(ctx context.Context, key string) error {
	if err := u.fs.checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: commit %s: %w", key, err)
	}
	if data, ok := u.inMemory(); ok && u.fs.tmpfile {
		if err := u.fs.placeBytes(data, u.fs.path(key)); err != nil {
			return fmt.Errorf("storage: commit %s: %w", key, err)
		}
		return nil
	}
	// Without O_TMPFILE a small object goes the way of a large one, through a temp file.
	if u.file == nil {
		if err := u.spill(); err != nil {
			return fmt.Errorf("storage: commit %s: %w", key, err)
		}
	}
	// Data before name: without this sync a crash could leave key naming a file whose blocks were
	// never written.
	if err := u.file.Sync(); err != nil {
		return fmt.Errorf("storage: commit %s: %w", key, err)
	}
	if err := u.file.Close(); err != nil {
		return fmt.Errorf("storage: commit %s: %w", key, err)
	}
	tmp := u.file.Name()
	u.file = nil
	if err := u.fs.place(tmp, u.fs.path(key)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("storage: commit %s: %w", key, err)
	}
	return nil
}

// placeBytes writes data, a whole small object, as dst: an unnamed file (O_TMPFILE, which
// f.tmpfile says this filesystem has) written, synced and then linked as dst, so no temp file is
// named, renamed or removed.
func (f *FS) placeBytes(data []byte, dst string) error {
	file, err := openTmpfile(f.uploads)
	if err != nil {
		return err
	}
	defer file.Close()
	// Objects are 0o640 whatever the umask, as newTempFile makes them.
	if err := file.Chmod(0o640); err != nil {
		return err
	}
	if _, err := file.Write(data); err != nil {
		return err
	}
	// Data before name, as for a renamed temp file: a crash leaves either no dst or all of it.
	if err := file.Sync(); err != nil {
		return err
	}
	if err := f.link(file, dst); err != nil {
		return err
	}
	return f.syncParent(dst)
}

// link names the unnamed file tmp dst, creating dst's missing directories (made durable), or
// replaces dst atomically if it exists: linked under a temp name first, then renamed over it.
func (f *FS) link(tmp *os.File, dst string) error {
	f.dirs.Lock()
	defer f.dirs.Unlock()
	if err := f.mkdirsDurable(filepath.Dir(dst)); err != nil {
		return err
	}
	err := linkTmpfile(tmp, dst)
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	name := filepath.Join(f.uploads, "replace-"+rand.Text())
	if err := linkTmpfile(tmp, name); err != nil {
		return err
	}
	if err := os.Rename(name, dst); err != nil {
		os.Remove(name)
		return err
	}
	return nil
}

// place renames the synced temp file tmp to dst, creating dst's missing directories, and fsyncs
// every directory whose entries changed so that the object survives a crash once place returns.
func (f *FS) place(tmp, dst string) error {
	f.dirs.Lock()
	err := f.mkdirsDurable(filepath.Dir(dst))
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	f.dirs.Unlock()
	if err != nil {
		return err
	}
	return f.syncParent(dst)
}

// mkdirsDurable creates dir and its missing parents, fsyncing the parent of each directory it
// creates; the caller holds f.dirs.
func (f *FS) mkdirsDurable(dir string) error {
	created, err := mkdirs(dir)
	for _, d := range created {
		if err == nil {
			err = syncDir(filepath.Dir(d))
		}
	}
	return err
}

// syncParent makes the entry of dst in its directory durable, sharing the fsync with concurrent
// commits into the same directory.
func (f *FS) syncParent(dst string) error {
	// Gone means a Delete of this very key has already pruned it: the commit happened, and was undone.
	if err := f.dirSyncs.sync(filepath.Dir(dst), syncDir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// mkdirs creates dir and its missing parents, returning the directories it created. Unlike
// os.MkdirAll it says which, so that place can fsync their parents.
func mkdirs(dir string) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return nil, &fs.PathError{Op: "mkdir", Path: d, Err: syscall.ENOTDIR}
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) || d == filepath.Dir(d) {
			return nil, err
		}
		missing = append(missing, d)
	}
	slices.Reverse(missing)
	for _, d := range missing {
		if err := os.Mkdir(d, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	}
	return missing, nil
}

// syncDir fsyncs a directory, which is what makes a rename or a new entry in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// SweepUploads removes the temp files of uploads older than olderThan: what a crash left in
// root/.uploads. It is meant for start-up; while the server runs, olderThan must exceed the longest
// upload, or a slow upload loses its file and fails at Commit. It returns how many files it removed.
func (f *FS) SweepUploads(olderThan time.Duration) (int, error) {
	entries, err := os.ReadDir(f.uploads)
	if err != nil {
		return 0, fmt.Errorf("storage: sweep uploads: %w", err)
	}
	cutoff := time.Now().Add(-olderThan)
	removed := 0
	var errs []error
	for _, e := range entries {
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // committed or aborted since ReadDir
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !fi.Mode().IsRegular() || !fi.ModTime().Before(cutoff) {
			continue
		}
		err = os.Remove(filepath.Join(f.uploads, e.Name()))
		switch {
		case err == nil:
			removed++
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("storage: sweep uploads: %w", err)
	}
	return removed, nil
}
