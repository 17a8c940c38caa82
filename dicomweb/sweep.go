package dicomweb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/medimg/medimg/storage"
)

// SweepOrphans deletes blobs that no index row references and that are older than minAge: files
// left by a crash between the blob commit and the row commit, or by a failed delete. minAge keeps
// the sweep away from a store in flight on another replica (blob committed, row not yet).
//
// It is safe when every replica runs it at once: each blob's row is looked up right before the
// blob is deleted, the blob is stat'ed again first so that one recommitted under the same key since
// the listing (a resend of the instance) is spared, and a blob another sweep or a DELETE removed
// meanwhile is not an error.
func (s *Service) SweepOrphans(ctx context.Context, minAge time.Duration) (deleted int, err error) {
	cutoff := time.Now().Add(-minAge)
	err = s.blobs.List(ctx, "studies/", func(info storage.Info) error {
		if info.ModTime.After(cutoff) {
			return nil
		}
		removed, err := s.deleteOrphan(ctx, info.Key, cutoff)
		if removed {
			s.log.InfoContext(ctx, "orphan blob deleted", "key", info.Key, "size", info.Size)
			deleted++
		}
		return err
	})
	if err != nil {
		return deleted, fmt.Errorf("dicomweb: sweep orphans: %w", err)
	}
	return deleted, nil
}

// deleteOrphan deletes key if it is still older than cutoff and no row references it, and says
// whether it did.
func (s *Service) deleteOrphan(ctx context.Context, key string, cutoff time.Time) (bool, error) {
	info, err := s.blobs.Stat(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil || info.ModTime.After(cutoff) {
		return false, err
	}
	inUse, err := s.store.BlobKeyInUse(ctx, key)
	if err != nil || inUse {
		return false, err
	}
	err = s.blobs.Delete(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
