package queries_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

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

// TestMetadataInRetrieveOrder lists and reads the metadata of a study, and of each of its series,
// whose series and instances are numbered out of storage order, some not at all: both give the
// instances, with their series, in RetrieveInstances' order (series by number, unnumbered last,
// then instances likewise).
func TestMetadataInRetrieveOrder(t *testing.T) {
	for _, engine := range querytest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := querytest.Open(t, engine)
			num := func(n int64) *int64 {
				if n == 0 {
					return nil
				}
				return &n
			}
			for _, in := range []struct {
				series, sop    string
				seriesNumber   int64 // 0: none
				instanceNumber int64
			}{
				{"1.8.1", "1.8.1.1", 2, 2}, {"1.8.2", "1.8.2.1", 0, 1}, {"1.8.1", "1.8.1.2", 2, 0},
				{"1.8.3", "1.8.3.1", 1, 0}, {"1.8.1", "1.8.1.3", 2, 1}, {"1.8.3", "1.8.3.2", 1, 5},
			} {
				i := instance("1.8", in.series, in.sop, "CT")
				i.Series.SeriesNumber, i.Instance.InstanceNumber = num(in.seriesNumber), num(in.instanceNumber)
				mustAdd(t, s, i)
			}
			for _, sc := range []queries.Scope{
				{StudyUID: "1.8"}, {StudyUID: "1.8", SeriesUID: "1.8.1"}, {StudyUID: "1.8", SeriesUID: "1.8.3"},
				{StudyUID: "1.8", SeriesUID: "1.8.1", SOPInstanceUID: "1.8.1.2"},
			} {
				stored, err := s.RetrieveInstances(context.Background(), sc)
				if err != nil {
					t.Fatal(err)
				}
				var want, wantSOPs, listed, read []string
				for _, in := range stored {
					want = append(want, in.SeriesInstanceUID+" "+in.SOPInstanceUID)
					wantSOPs = append(wantSOPs, in.SOPInstanceUID)
				}
				list, err := s.ListMetadata(context.Background(), sc, func(sop, sha []byte) { listed = append(listed, string(sop)) })
				if err != nil {
					t.Fatal(err)
				}
				err = s.EachMetadata(context.Background(), list, func(series, sop, md string) error {
					read = append(read, series+" "+sop)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(wantSOPs, listed); diff != "" {
					t.Errorf("%s: instances not listed in retrieve order (-want +got):\n%s", sc, diff)
				}
				if diff := cmp.Diff(want, read); diff != "" {
					t.Errorf("%s: metadata not read in retrieve order (-want +got):\n%s", sc, diff)
				}
			}
		})
	}
}

// TestReadPoolKeepsItsConnections takes every connection the read pool may open, as a burst of
// concurrent requests does, and gives them back: the pool must keep them all idle for the next
// burst. database/sql keeps 2 by default, and on SQLite reopening the other 6 (the connection, its
// pragmas and every statement prepared again) was an eighth of STOW's CPU at 20 instances per
// request.
func TestReadPoolKeepsItsConnections(t *testing.T) {
	for _, engine := range querytest.Engines {
		t.Run(engine, func(t *testing.T) { testReadPoolKeepsItsConnections(t, querytest.Open(t, engine)) })
	}
}

func testReadPoolKeepsItsConnections(t *testing.T, s *queries.Store) {
	ctx := context.Background()
	pool := queries.ReadPool(s)
	limit := pool.Stats().MaxOpenConnections
	if limit < 2 {
		t.Fatalf("the read pool may open %d connections, want several", limit)
	}
	var conns []*sql.Conn
	for range limit {
		c, err := pool.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
	if st := pool.Stats(); st.MaxIdleClosed != 0 || st.Idle != limit {
		t.Errorf("after a burst of %d: %d idle, %d closed for want of idle room; want all %d kept",
			limit, st.Idle, st.MaxIdleClosed, limit)
	}
}
