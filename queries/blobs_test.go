package queries_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/medimg/medimg/migrations"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
)

// TestEachBlob walks the files of the index across page boundaries, on every engine: each once,
// in the order stored, without the deleted one, and with no connection held while fn runs.
func TestEachBlob(t *testing.T) {
	querytest.ForEachEngine(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, err := queries.Open(ctx, dsn, migrations.For)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if n, bytes, err := s.CountBlobs(ctx); err != nil || n != 0 || bytes != 0 {
			t.Fatalf("CountBlobs on an empty index = %d, %d, %v; want 0, 0, nil", n, bytes, err)
		}
		var want []queries.Blob
		for i := range 8 {
			in := instance("1.7", fmt.Sprintf("1.7.%d", i%2), fmt.Sprintf("1.7.9.%d", i), "CT")
			in.Instance.Size = int64(100 + i)
			in.Instance.SHA256 = fmt.Sprintf("%064x", i)
			mustAdd(t, s, in)
			if i != 4 {
				want = append(want, queries.Blob{Key: in.Instance.BlobKey, Size: in.Instance.Size, SHA256: in.Instance.SHA256})
			}
		}
		if _, err := s.DeleteInstance(ctx, "1.7", "1.7.0", "1.7.9.4"); err != nil {
			t.Fatal(err)
		}
		n, bytes, err := s.CountBlobs(ctx)
		if err != nil || n != 7 || bytes != 100*7+(0+1+2+3+5+6+7) {
			t.Errorf("CountBlobs = %d, %d, %v; want 7, %d, nil", n, bytes, err, 100*7+24)
		}

		for _, page := range []int{1, 3, 7, 1000} {
			var got []queries.Blob
			err := queries.EachBlobPaged(ctx, s, page, func(b queries.Blob) error {
				if read, write := s.PoolStats(); read.InUse != 0 || write.InUse != 0 {
					t.Fatalf("page %d: fn runs while %d reader and %d writer connections are in use", page, read.InUse, write.InUse)
				}
				got = append(got, b)
				return nil
			})
			if err != nil {
				t.Fatalf("page %d: %v", page, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("page %d: blobs (-want +got):\n%s", page, diff)
			}
		}

		stop := errors.New("stop")
		calls := 0
		err = s.EachBlob(ctx, func(queries.Blob) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("an error from fn: EachBlob = %v after %d calls, want it returned after 1", err, calls)
		}
	})
}
