package queries_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
)

// TestEachMetadataHoldsNoConnectionWhileWriting streams a series' metadata to a callback that
// stands for a slow client: while it runs, no database connection may be in use, or a few slow
// viewers would take all of SQLite's readers.
func TestEachMetadataHoldsNoConnectionWhileWriting(t *testing.T) {
	for _, engine := range querytest.Engines {
		t.Run(engine, func(t *testing.T) {
			testEachMetadata(t, querytest.Open(t, engine))
		})
	}
}

func testEachMetadata(t *testing.T, s *queries.Store) {
	const n = 1300 // more than two batches on PostgreSQL too (128, then up to 1,024), the last one short
	for i := range n {
		in := instance("1.9", "1.9.1", fmt.Sprintf("1.9.1.%d", i+1), "CT")
		num := int64(n - i) // stored in reverse order: the callback must still see instance order
		in.Instance.InstanceNumber = &num
		in.Instance.Metadata = fmt.Sprintf(`{"00200013":{"vr":"IS","Value":[%d]}}`, num)
		mustAdd(t, s, in)
	}
	var got []string
	var seen []string
	list, err := s.ListMetadata(context.Background(), queries.Scope{StudyUID: "1.9", SeriesUID: "1.9.1"}, func(sop, sha []byte) {
		seen = append(seen, string(sop))
	})
	if err != nil {
		t.Fatal(err)
	}
	if list.Len() != n || len(seen) != n || seen[0] != fmt.Sprintf("1.9.1.%d", n) {
		t.Fatalf("listed %d instances, saw %d starting with %v; want %d starting with 1.9.1.%d", list.Len(), len(seen), seen[:min(1, len(seen))], n, n)
	}
	err = s.EachMetadata(context.Background(), list, func(series, sop, md string) error {
		read, write := s.PoolStats()
		if read.InUse != 0 || write.InUse != 0 {
			t.Fatalf("while the client is written to, %d reader and %d writer connections are in use", read.InUse, write.InUse)
		}
		got = append(got, md)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d instances, want %d", len(got), n)
	}
	for i, md := range got {
		if want := fmt.Sprintf(`{"00200013":{"vr":"IS","Value":[%d]}}`, i+1); md != want {
			t.Fatalf("instance %d: %s, want %s (instance order)", i, md, want)
		}
	}
}
