package queries

import (
	"context"
	"fmt"

	"github.com/medimg/medimg/queries/internal/sqlcdb"
)

// Blob is an instance's file as the index records it: its key in the blob store, its size and the
// hex SHA-256 of its bytes.
type Blob struct {
	Key    string
	Size   int64
	SHA256 string
}

// blobPage is how many rows EachBlob reads per query.
const blobPage = 1000

// CountBlobs returns how many files the index references and their total size.
func (s *Store) CountBlobs(ctx context.Context) (count, bytes int64, err error) {
	r, err := s.reader().CountBlobs(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("queries: count blobs: %w", err)
	}
	return r.Count, r.Bytes, nil
}

// EachBlob calls fn with the file of every stored instance, in the order the instances were
// stored. It reads a page at a time and calls fn only between queries, so that a slow fn (a copy)
// holds no database connection; an instance stored during the walk may or may not be seen. An
// error from fn stops the walk and is returned.
func (s *Store) EachBlob(ctx context.Context, fn func(Blob) error) error {
	return s.eachBlob(ctx, blobPage, fn)
}

func (s *Store) eachBlob(ctx context.Context, page int, fn func(Blob) error) error {
	after := int64(0)
	for {
		rows, err := s.reader().ListBlobs(ctx, sqlcdb.ListBlobsParams{Pk: after, Limit: int32(page)})
		if err != nil {
			return fmt.Errorf("queries: list blobs after %d: %w", after, err)
		}
		for _, r := range rows {
			if err := fn(Blob{Key: r.BlobKey, Size: r.SizeBytes, SHA256: r.Sha256}); err != nil {
				return err
			}
			after = r.Pk
		}
		if len(rows) < page {
			return nil
		}
	}
}
