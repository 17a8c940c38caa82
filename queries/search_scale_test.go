package queries_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/medimg/medimg/migrations"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
)

// TestModalitySearchAcrossStudies checks pages of /instances?Modality=… at several offsets against
// the instances in the order stored, on both engines: one modality, common or rare (a range of the
// index of the instances' own Modality), and several by list and by wildcard, with enough matches
// for SQLite to walk the stored order rather than sort them (2,000 or more) and with few.
func TestModalitySearchAcrossStudies(t *testing.T) {
	for _, engine := range querytest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := querytest.Open(t, engine)
			var batch []queries.NewInstance
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
					}
				}
			}
			if err := s.BulkAdd(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			if err := s.Analyze(context.Background()); err != nil {
				t.Fatal(err)
			}
			modalities := func(values ...string) queries.Condition {
				return queries.Condition{Keyword: "Modality", Kind: queries.MatchList, Values: values}
			}
			wildcard := queries.Condition{Keyword: "Modality", Kind: queries.MatchWildcard, Values: []string{"?R"}}
			for _, tc := range []struct {
				cond          queries.Condition
				matches       []string // modalities
				offset, limit int
			}{
				{exact("Modality", "MR"), []string{"MR"}, 0, 100},
				{exact("Modality", "MR"), []string{"MR"}, 2000, 100},
				{exact("Modality", "mr"), []string{"MR"}, 2950, 100},
				{exact("Modality", "XA"), []string{"XA"}, 0, 100},
				{exact("Modality", "XA"), []string{"XA"}, 15, 10},
				{exact("Modality", "OT"), nil, 0, 10},
				{modalities("CT", "XA"), []string{"CT", "XA"}, 0, 100},
				{modalities("CT", "XA"), []string{"CT", "XA"}, 2990, 100},
				{modalities("XA", "OT"), []string{"XA"}, 10, 100},
				{wildcard, []string{"MR"}, 1500, 50},
			} {
				q := queries.Search{Conditions: []queries.Condition{tc.cond}, Offset: tc.offset, Limit: tc.limit}
				got, more, err := s.SearchInstances(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				var all []string
				for _, in := range batch {
					if slices.Contains(tc.matches, in.Series.Modality) {
						all = append(all, in.Instance.SOPInstanceUID)
					}
				}
				page := all[min(tc.offset, len(all)):min(tc.offset+tc.limit, len(all))]
				var uids []string
				for _, r := range got {
					uids = append(uids, r.SOPInstanceUID)
					if !slices.Contains(tc.matches, r.Series.Modality) {
						t.Errorf("Modality %v found a %s instance", tc.cond.Values, r.Series.Modality)
					}
				}
				if !slices.Equal(uids, page) || more != (tc.offset+tc.limit < len(all)) {
					t.Errorf("Modality %v offset %d: got %d results (more %v), want %d", tc.cond.Values, tc.offset, len(uids), more, len(page))
				}
			}
			if engine == queries.SQLite {
				for _, tc := range []struct {
					cond queries.Condition
					want []string // in the plan
				}{
					{exact("Modality", "MR"), []string{"instances_modality_order"}},
					{modalities("MR", "CT"), []string{"instances_order", "CORRELATED SCALAR SUBQUERY"}},
				} {
					plan, err := s.ExplainSearch(context.Background(), queries.InstanceLevel,
						queries.Search{Conditions: []queries.Condition{tc.cond}})
					if err != nil {
						t.Fatal(err)
					}
					for _, w := range tc.want {
						if !strings.Contains(plan, w) {
							t.Errorf("Modality %v: the plan does not use %s:\n%s", tc.cond.Values, w, plan)
						}
					}
				}
			}
		})
	}
}

// TestInstanceModalityMigration takes a database with instances back to before instances carried
// their series' Modality (migration 000006 down, which drops the column) and forward again: the
// migration must fill the column of every stored instance from its series, or a search by
// Modality finds none of them, and on PostgreSQL the upgrade must vacuum.
func TestInstanceModalityMigration(t *testing.T) {
	querytest.ForEachEngine(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, err := queries.Open(ctx, dsn, migrations.For)
		if err != nil {
			t.Fatal(err)
		}
		var batch []queries.NewInstance
		for series, modality := range []string{"MR", "CT", "MR"} {
			for inst := range 3 {
				batch = append(batch, instance("1.8.1", fmt.Sprintf("1.8.1.%d", series+1), fmt.Sprintf("1.8.1.%d.%d", series+1, inst+1), modality))
			}
		}
		if err := s.BulkAdd(ctx, batch); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if err := queries.MigrateTo(dsn, migrations.For, 5); err != nil {
			t.Fatalf("down to 5: %v", err)
		}
		if s, err = queries.Open(ctx, dsn, migrations.For); err != nil { // up to the latest
			t.Fatal(err)
		}
		defer s.Close()
		if strings.HasPrefix(dsn, "postgres") {
			// The upgrade rewrote every instance row: it must vacuum, or index-only scans read
			// the table too until autovacuum comes by.
			var vacuumed bool
			if err := queries.ReadPool(s).QueryRowContext(ctx,
				"SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'instances'").Scan(&vacuumed); err != nil {
				t.Fatal(err)
			}
			if !vacuumed {
				t.Error("the upgrade did not vacuum the instances")
			}
		}
		for _, modality := range []string{"MR", "CT"} {
			var want []string
			for _, in := range batch {
				if in.Series.Modality == modality {
					want = append(want, in.Instance.SOPInstanceUID)
				}
			}
			got, _, err := s.SearchInstances(ctx, queries.Search{Conditions: []queries.Condition{exact("Modality", modality)}})
			if err != nil {
				t.Fatal(err)
			}
			var uids []string
			for _, r := range got {
				uids = append(uids, r.SOPInstanceUID)
			}
			if !slices.Equal(uids, want) {
				t.Errorf("Modality=%s after the migration: %v, want %v", modality, uids, want)
			}
		}
	})
}
