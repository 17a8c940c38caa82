package dicomweb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
)

// TestPagingIsStableWhileStoring pages through /dicomweb/instances and /dicomweb/series with limit
// and offset while new instances arrive between pages: in existing series and studies, and in new
// studies dated before and after the others (which an order by date or number would insert among
// pages already read). Every result stored before paging began must come exactly once.
func TestPagingIsStableWhileStoring(t *testing.T) {
	for _, engine := range querytest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := newServer(t, engine, dicomweb.Config{})
			a := syntheticArchive{studies: 6}
			var before []queries.NewInstance
			for study := range a.studies {
				for series := range 2 {
					for inst := range 3 {
						before = append(before, a.instance(study, series, inst))
					}
				}
			}
			if err := s.store.BulkAdd(context.Background(), before); err != nil {
				t.Fatal(err)
			}
			added := 0
			storeMore := func() {
				// An instance of the first series, a new series of the first study, and a new study
				// dated first and last.
				for _, in := range []queries.NewInstance{a.instance(0, 0, 10+added), a.instance(0, 5+added, 0),
					a.instance(1000+added, 0, 0), a.instance(2000+added, 0, 0)} {
					in.Study.StudyDate = []string{"19000101", "29990101"}[added%2]
					if _, err := s.store.AddInstance(context.Background(), in, false); err != nil {
						t.Fatal(err)
					}
				}
				added++
			}
			wantInstances := map[string]int{}
			wantSeries := map[string]int{}
			for _, in := range before {
				wantInstances[in.Instance.SOPInstanceUID] = 0
				wantSeries[in.Series.SeriesInstanceUID] = 0
			}
			pageThrough(t, s.URL+"/dicomweb/instances", "00080018", 7, storeMore, wantInstances)
			pageThrough(t, s.URL+"/dicomweb/series", "0020000E", 5, storeMore, wantSeries)
		})
	}
}

// pageThrough reads path page by page until a page comes back empty, calling between pages, and
// checks that every key of want was seen exactly once.
func pageThrough(t *testing.T, path, tag string, limit int, between func(), want map[string]int) {
	t.Helper()
	for offset := 0; ; offset += limit {
		resp, err := http.Get(fmt.Sprintf("%s?limit=%d&offset=%d", path, limit, offset))
		if err != nil {
			t.Fatal(err)
		}
		var items []map[string]struct{ Value []any }
		if resp.StatusCode == http.StatusOK {
			err = json.NewDecoder(resp.Body).Decode(&items)
		}
		resp.Body.Close()
		if err != nil || (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent) {
			t.Fatalf("offset %d: status %d, %v", offset, resp.StatusCode, err)
		}
		if len(items) == 0 {
			break
		}
		for _, it := range items {
			uid, _ := it[tag].Value[0].(string)
			if _, old := want[uid]; old {
				want[uid]++
			}
		}
		between()
	}
	for uid, n := range want {
		if n != 1 {
			t.Errorf("%s: %s came %d times", path, uid, n)
		}
	}
}
