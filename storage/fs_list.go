package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// List calls fn for every object whose key starts with prefix. It walks only the directory named by
// the prefix's complete segments, never the uploads directory, and tolerates objects and directories
// vanishing during the walk, so fn may delete what it is given (the orphan sweep does).
func (f *FS) List(ctx context.Context, prefix string, fn func(Info) error) error {
	dir, ok := prefixDir(prefix)
	if first, _, _ := strings.Cut(dir, "/"); !ok || first == uploadsDir {
		return fmt.Errorf("%w: prefix %q", ErrInvalidKey, prefix)
	}
	start := f.root
	if dir != "" {
		start = f.path(dir)
	}
	var fnErr error
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			// Gone since its parent was read (or start does not exist): nothing to list.
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if p == start {
			return nil
		}
		rel, err := filepath.Rel(f.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			return f.listDir(p, key, prefix)
		}
		info, ok, err := listed(d, key, prefix)
		if err != nil || !ok {
			return err
		}
		if err := fn(info); err != nil {
			// Kept aside: fn returning fs.SkipDir must not be taken as an instruction to WalkDir.
			fnErr = err
			return fs.SkipAll
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("storage: list %q: %w", prefix, err)
	}
	return nil
}

// listDir decides whether the walk enters directory p (key relative to root): not the uploads
// directory, and not a directory none of whose keys can start with prefix.
func (f *FS) listDir(p, key, prefix string) error {
	if p == f.uploads {
		return fs.SkipDir
	}
	if !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
		return fs.SkipDir
	}
	return nil
}

// listed describes the file d if it is an object matching prefix. Files whose names no key could
// have (an editor's backup, a stray "a b") were not written by the store and are not listed.
func listed(d fs.DirEntry, key, prefix string) (Info, bool, error) {
	if !d.Type().IsRegular() || !strings.HasPrefix(key, prefix) || !ValidKey(key) {
		return Info{}, false, nil
	}
	fi, err := d.Info()
	if errors.Is(err, fs.ErrNotExist) {
		return Info{}, false, nil
	}
	if err != nil {
		return Info{}, false, err
	}
	return Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, true, nil
}
