package dicomweb

import (
	"context"
	"fmt"
	"time"

	"github.com/medimg/medimg/storage"
)

// SweepOrphans deletes blobs that no index row references and that are older than minAge: files
// left by a crash between the blob commit and the row commit, or by a failed delete. minAge keeps
// the sweep away from a store in flight on another replica (blob committed, row not yet).
func (s *Service) SweepOrphans(ctx context.Context, minAge time.Duration) (deleted int, err error) {
	cutoff := time.Now().Add(-minAge)
	err = s.blobs.List(ctx, "studies/", func(info storage.Info) error {
		if info.ModTime.After(cutoff) {
			return nil
		}
		inUse, err := s.store.BlobKeyInUse(ctx, info.Key)
		if err != nil {
			return err
		}
		if inUse {
			return nil
		}
		if err := s.blobs.Delete(ctx, info.Key); err != nil {
			return err
		}
		s.log.InfoContext(ctx, "orphan blob deleted", "key", info.Key, "size", info.Size)
		deleted++
		return nil
	})
	if err != nil {
		return deleted, fmt.Errorf("dicomweb: sweep orphans: %w", err)
	}
	return deleted, nil
}
