package queries

import "context"

// EachBlobPaged is EachBlob with a page size of the test's choosing, so that a few rows cross
// several pages.
func EachBlobPaged(ctx context.Context, s *Store, page int, fn func(Blob) error) error {
	return s.eachBlob(ctx, page, fn)
}
