package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// fsUpload is an upload to FS: a temp file in root/.uploads.
type fsUpload struct {
	spool
	fs *FS
}

// NewUpload starts an upload as a temp file in root/.uploads.
func (f *FS) NewUpload(ctx context.Context) (Upload, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
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
	return &fsUpload{spool: spool{file: file}, fs: f}, nil
}

// Commit moves the temp file to root/key. A failed Commit removes the temp file, so a caller that
// forgets Abort on that path leaks nothing.
func (u *fsUpload) Commit(ctx context.Context, key string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.file == nil {
		return errFinished
	}
	if err := u.commit(ctx, key); err != nil {
		u.discard()
		return err
	}
	return nil
}

func (u *fsUpload) commit(ctx context.Context, key string) error {
	if err := u.fs.checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: commit %s: %w", key, err)
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

// place renames the synced temp file tmp to dst, creating dst's missing directories, and fsyncs
// every directory whose entries changed so that the object survives a crash once place returns.
func (f *FS) place(tmp, dst string) error {
	parent := filepath.Dir(dst)
	f.dirs.Lock()
	created, err := mkdirs(parent)
	for _, dir := range created {
		if err == nil {
			err = syncDir(filepath.Dir(dir))
		}
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	f.dirs.Unlock()
	if err != nil {
		return err
	}
	// Gone means a Delete of this very key has already pruned it: the commit happened, and was undone.
	if err := f.dirSyncs.sync(parent, syncDir); err != nil && !errors.Is(err, fs.ErrNotExist) {
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
