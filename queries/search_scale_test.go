package queries_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
)

// TestModalitySearchAcrossStudies stores enough instances of one modality for SQLite to walk the
// stored order rather than sort the matches (2,000 or more), and checks pages of
// /instances?Modality=… at several offsets against the instances in the order stored, on both
// engines, for a common modality (walked) and a rare one (sorted).
func TestModalitySearchAcrossStudies(t *testing.T) {
	for _, engine := range querytest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := querytest.Open(t, engine)
			var batch []queries.NewInstance
			var want = map[string][]string{}
			for study := range 30 {
				for series := range 10 {
					modality := []string{"MR", "CT"}[(study+series)%2]
					if study == 7 && series == 3 {
						modality = "XA"
					}
					for inst := range 20 {
						uid := fmt.Sprintf("1.7.%d", study+1)
						in := instance(uid, fmt.Sprintf("%s.%d", uid, series+1), fmt.Sprintf("%s.%d.%d", uid, series+1, inst+1), modality)
						batch = append(batch, in)
						want[modality] = append(want[modality], in.Instance.SOPInstanceUID)
					}
				}
			}
			if err := s.BulkAdd(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			if err := s.Analyze(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				modality      string
				offset, limit int
			}{{"MR", 0, 100}, {"MR", 2000, 100}, {"mr", 2950, 100}, {"XA", 0, 100}, {"XA", 15, 10}, {"OT", 0, 10}} {
				q := queries.Search{Conditions: []queries.Condition{exact("Modality", tc.modality)}, Offset: tc.offset, Limit: tc.limit}
				got, more, err := s.SearchInstances(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				all := want[strings.ToUpper(tc.modality)]
				page := all[min(tc.offset, len(all)):min(tc.offset+tc.limit, len(all))]
				var uids []string
				for _, r := range got {
					uids = append(uids, r.SOPInstanceUID)
					if r.Series.Modality != strings.ToUpper(tc.modality) {
						t.Errorf("Modality=%s found a %s instance", tc.modality, r.Series.Modality)
					}
				}
				if !slices.Equal(uids, page) || more != (tc.offset+tc.limit < len(all)) {
					t.Errorf("Modality=%s offset %d: got %d results (more %v), want %d", tc.modality, tc.offset, len(uids), more, len(page))
				}
			}
			if engine == queries.SQLite {
				plan, err := s.ExplainSearch(context.Background(), queries.InstanceLevel,
					queries.Search{Conditions: []queries.Condition{exact("Modality", "MR")}})
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(plan, "instances_order") || !strings.Contains(plan, "CORRELATED SCALAR SUBQUERY") {
					t.Errorf("a common modality does not walk the stored order:\n%s", plan)
				}
			}
		})
	}
}
