package queries_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
)

// searchFixture is a small archive whose studies exercise each matching kind.
//
//	1.1  Doe^John        P123  A100  20200115 101500  "Chest CT"  Smith^Anna   CT#1 (2 inst), PT#2
//	1.2  Müller^Jürgen   p456  A1_X  20221231         "Knee MR"   Jones^Bob    MR#1
//	1.3  DOE^JANE        X%9   B200  20240601         "chest xr"               CR#1, CR (no number)
//	1.4  Roe^Richard     P789        (no date)
func searchFixture(t *testing.T, s *queries.Store) {
	t.Helper()
	n := func(v int64) *int64 { return &v }
	add := func(study queries.StudyAttributes, series queries.SeriesAttributes, sop string, number *int64) {
		t.Helper()
		in := instance(study.StudyInstanceUID, series.SeriesInstanceUID, sop, series.Modality)
		in.Study, in.Series = study, series
		in.Instance.InstanceNumber = number
		in.Instance.Metadata = `{"00080018":{"vr":"UI","Value":["` + sop + `"]}}`
		mustAdd(t, s, in)
	}
	s1 := queries.StudyAttributes{StudyInstanceUID: "1.1", PatientName: "Doe^John", PatientID: "P123", AccessionNumber: "A100",
		StudyDate: "20200115", StudyTime: "101500", StudyDescription: "Chest CT", ReferringPhysicianName: "Smith^Anna"}
	add(s1, queries.SeriesAttributes{SeriesInstanceUID: "1.1.1", Modality: "CT", SeriesNumber: n(1)}, "1.1.1.2", n(2))
	add(s1, queries.SeriesAttributes{SeriesInstanceUID: "1.1.1", Modality: "CT", SeriesNumber: n(1)}, "1.1.1.1", n(1))
	add(s1, queries.SeriesAttributes{SeriesInstanceUID: "1.1.2", Modality: "PT", SeriesNumber: n(2)}, "1.1.2.1", n(1))
	s2 := queries.StudyAttributes{StudyInstanceUID: "1.2", PatientName: "Müller^Jürgen", PatientID: "p456", AccessionNumber: "A1_X",
		StudyDate: "20221231", StudyDescription: "Knee MR", ReferringPhysicianName: "Jones^Bob"}
	add(s2, queries.SeriesAttributes{SeriesInstanceUID: "1.2.1", Modality: "MR", SeriesNumber: n(1)}, "1.2.1.1", n(1))
	s3 := queries.StudyAttributes{StudyInstanceUID: "1.3", PatientName: "DOE^JANE", PatientID: "X%9", AccessionNumber: "B200",
		StudyDate: "20240601", StudyDescription: "chest xr"}
	add(s3, queries.SeriesAttributes{SeriesInstanceUID: "1.3.2", Modality: "CR"}, "1.3.2.1", nil)
	add(s3, queries.SeriesAttributes{SeriesInstanceUID: "1.3.1", Modality: "CR", SeriesNumber: n(1)}, "1.3.1.1", n(1))
	s4 := queries.StudyAttributes{StudyInstanceUID: "1.4", PatientName: "Roe^Richard", PatientID: "P789"}
	add(s4, queries.SeriesAttributes{SeriesInstanceUID: "1.4.1", Modality: "OT", SeriesNumber: n(1)}, "1.4.1.1", n(1))
}

func exact(keyword, v string) queries.Condition {
	return queries.Condition{Keyword: keyword, Kind: queries.MatchExact, Values: []string{v}}
}
func wild(keyword, v string) queries.Condition {
	return queries.Condition{Keyword: keyword, Kind: queries.MatchWildcard, Values: []string{v}}
}
func list(keyword string, v ...string) queries.Condition {
	return queries.Condition{Keyword: keyword, Kind: queries.MatchList, Values: v}
}
func span(keyword, lo, hi string) queries.Condition {
	return queries.Condition{Keyword: keyword, Kind: queries.MatchRange, Lower: lo, Upper: hi}
}

func TestSearch(t *testing.T) {
	for _, engine := range querytest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := querytest.Open(t, engine)
			searchFixture(t, s)
			t.Run("studies", func(t *testing.T) { testSearchStudies(t, s) })
			t.Run("series", func(t *testing.T) { testSearchSeries(t, s) })
			t.Run("instances", func(t *testing.T) { testSearchInstances(t, s) })
			t.Run("plans_use_indexes", func(t *testing.T) { testSearchPlans(t, s) })
		})
	}
}

func testSearchStudies(t *testing.T, s *queries.Store) {
	tests := []struct {
		name string
		q    queries.Search
		want []string
	}{
		{"no_filter_newest_first_undated_last", queries.Search{}, []string{"1.3", "1.2", "1.1", "1.4"}},
		{"patient_name_exact_ignores_case", queries.Search{Conditions: []queries.Condition{exact("PatientName", "doe^john")}}, []string{"1.1"}},
		{"patient_name_exact_unicode_case", queries.Search{Conditions: []queries.Condition{exact("PatientName", "MÜLLER^JÜRGEN")}}, []string{"1.2"}},
		{"patient_name_case_sensitive_miss", queries.Search{CaseSensitive: true, Conditions: []queries.Condition{exact("PatientName", "doe^john")}}, nil},
		{"patient_name_case_sensitive_hit", queries.Search{CaseSensitive: true, Conditions: []queries.Condition{exact("PatientName", "Doe^John")}}, []string{"1.1"}},
		{"patient_name_wildcard_infix", queries.Search{Conditions: []queries.Condition{wild("PatientName", "*doe*")}}, []string{"1.3", "1.1"}},
		{"patient_name_wildcard_prefix", queries.Search{Conditions: []queries.Condition{wild("PatientName", "doe*")}}, []string{"1.3", "1.1"}},
		{"patient_name_question_mark", queries.Search{Conditions: []queries.Condition{wild("PatientName", "D?E^J*")}}, []string{"1.3", "1.1"}},
		{"patient_name_non_ascii_prefix", queries.Search{Conditions: []queries.Condition{wild("PatientName", "mü*")}}, []string{"1.2"}},
		{"percent_is_literal", queries.Search{Conditions: []queries.Condition{wild("PatientID", "*%*")}}, []string{"1.3"}},
		{"underscore_is_literal", queries.Search{Conditions: []queries.Condition{wild("AccessionNumber", "A1_*")}}, []string{"1.2"}},
		{"exact_with_percent", queries.Search{Conditions: []queries.Condition{exact("PatientID", "x%9")}}, []string{"1.3"}},
		{"patient_id_exact", queries.Search{Conditions: []queries.Condition{exact("PatientID", "P123")}}, []string{"1.1"}},
		{"date_range_closed", queries.Search{Conditions: []queries.Condition{span("StudyDate", "20200101", "20221231")}}, []string{"1.2", "1.1"}},
		{"date_range_open_end", queries.Search{Conditions: []queries.Condition{span("StudyDate", "20230101", "")}}, []string{"1.3"}},
		{"date_range_open_start_skips_undated", queries.Search{Conditions: []queries.Condition{span("StudyDate", "", "20201231")}}, []string{"1.1"}},
		{"date_exact", queries.Search{Conditions: []queries.Condition{exact("StudyDate", "20221231")}}, []string{"1.2"}},
		{"time_range", queries.Search{Conditions: []queries.Condition{span("StudyTime", "1000", "1100")}}, []string{"1.1"}},
		{"modalities_in_study", queries.Search{Conditions: []queries.Condition{list("ModalitiesInStudy", "CT")}}, []string{"1.1"}},
		{"modalities_in_study_list_lower_case", queries.Search{Conditions: []queries.Condition{list("ModalitiesInStudy", "mr", "ct")}}, []string{"1.2", "1.1"}},
		{"study_uid_list", queries.Search{Conditions: []queries.Condition{list("StudyInstanceUID", "1.4", "1.1", "9.9")}}, []string{"1.1", "1.4"}},
		{"description_wildcard_ignores_case", queries.Search{Conditions: []queries.Condition{wild("StudyDescription", "*chest*")}}, []string{"1.3", "1.1"}},
		{"referring_physician", queries.Search{Conditions: []queries.Condition{wild("ReferringPhysicianName", "smith*")}}, []string{"1.1"}},
		{"repeated_keys_are_anded", queries.Search{Conditions: []queries.Condition{wild("PatientName", "doe*"), span("StudyDate", "20230101", "")}}, []string{"1.3"}},
		{"fuzzy_word_prefix_any_order", queries.Search{Fuzzy: true, Conditions: []queries.Condition{exact("PatientName", "john do")}}, []string{"1.1"}},
		{"fuzzy_ignores_accents", queries.Search{Fuzzy: true, Conditions: []queries.Condition{exact("PatientName", "jurg")}}, []string{"1.2"}},
		{"fuzzy_with_wildcards", queries.Search{Fuzzy: true, Conditions: []queries.Condition{wild("PatientName", "*doe*")}}, []string{"1.3", "1.1"}},
		{"fuzzy_not_infix", queries.Search{Fuzzy: true, Conditions: []queries.Condition{exact("PatientName", "oe")}}, nil},
		{"no_match", queries.Search{Conditions: []queries.Condition{exact("PatientID", "nobody")}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := s.SearchStudies(context.Background(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var uids []string
			for _, r := range got {
				uids = append(uids, r.StudyInstanceUID)
			}
			if diff := cmp.Diff(tt.want, uids); diff != "" {
				t.Errorf("studies (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("results_carry_aggregates", func(t *testing.T) {
		got, _, _ := s.SearchStudies(context.Background(), queries.Search{Conditions: []queries.Condition{exact("PatientID", "P123")}, WithMetadata: true})
		if len(got) != 1 || got[0].NumSeries != 2 || got[0].NumInstances != 3 || !cmp.Equal(got[0].ModalitiesInStudy, []string{"CT", "PT"}) {
			t.Fatalf("aggregates: %+v", got)
		}
		if !strings.Contains(got[0].Metadata, "1.1.1.2") {
			t.Errorf("metadata is not the first stored instance's: %s", got[0].Metadata)
		}
	})
	t.Run("paging", func(t *testing.T) {
		var all []string
		for offset := 0; ; offset += 3 {
			page, more, err := s.SearchStudies(context.Background(), queries.Search{Limit: 3, Offset: offset})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page {
				all = append(all, r.StudyInstanceUID)
			}
			if !more {
				break
			}
		}
		if diff := cmp.Diff([]string{"1.3", "1.2", "1.1", "1.4"}, all); diff != "" {
			t.Errorf("pages (-want +got):\n%s", diff)
		}
	})
}

func testSearchSeries(t *testing.T, s *queries.Store) {
	ctx := context.Background()
	tests := []struct {
		name string
		q    queries.Search
		want []string
	}{
		{"of_a_study_by_number", queries.Search{StudyUID: "1.1"}, []string{"1.1.1", "1.1.2"}},
		{"unnumbered_last", queries.Search{StudyUID: "1.3"}, []string{"1.3.1", "1.3.2"}},
		{"modality_across_studies", queries.Search{Conditions: []queries.Condition{exact("Modality", "pt")}}, []string{"1.1.2"}},
		{"study_keys_across_studies_in_stored_order", queries.Search{Conditions: []queries.Condition{wild("PatientName", "doe*")}}, []string{"1.1.1", "1.1.2", "1.3.2", "1.3.1"}},
		{"series_number", queries.Search{StudyUID: "1.1", Conditions: []queries.Condition{exact("SeriesNumber", "2")}}, []string{"1.1.2"}},
		{"series_uid_list", queries.Search{Conditions: []queries.Condition{list("SeriesInstanceUID", "1.2.1", "1.4.1")}}, []string{"1.2.1", "1.4.1"}},
		{"study_exists_no_match", queries.Search{StudyUID: "1.2", Conditions: []queries.Condition{exact("Modality", "CT")}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := s.SearchSeries(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var uids []string
			for _, r := range got {
				uids = append(uids, r.SeriesInstanceUID)
				if r.StudyInstanceUID == "" || r.Study.StudyInstanceUID != r.StudyInstanceUID {
					t.Errorf("series %s lacks its study", r.SeriesInstanceUID)
				}
			}
			if diff := cmp.Diff(tt.want, uids); diff != "" {
				t.Errorf("series (-want +got):\n%s", diff)
			}
		})
	}
	if _, _, err := s.SearchSeries(ctx, queries.Search{StudyUID: "9.9"}); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("series of an unknown study: err = %v, want ErrNotFound", err)
	}
	got, _, _ := s.SearchSeries(ctx, queries.Search{StudyUID: "1.1", WithMetadata: true})
	if len(got) != 2 || got[0].NumInstances != 2 || !strings.Contains(got[0].Metadata, "1.1.1.2") {
		t.Errorf("series results: %+v", got)
	}
}

func testSearchInstances(t *testing.T, s *queries.Store) {
	ctx := context.Background()
	tests := []struct {
		name string
		q    queries.Search
		want []string
	}{
		{"of_a_series_by_number", queries.Search{StudyUID: "1.1", SeriesUID: "1.1.1"}, []string{"1.1.1.1", "1.1.1.2"}},
		{"of_a_study_by_series_then_number", queries.Search{StudyUID: "1.1"}, []string{"1.1.1.1", "1.1.1.2", "1.1.2.1"}},
		{"sop_uid_across_studies", queries.Search{Conditions: []queries.Condition{list("SOPInstanceUID", "1.2.1.1")}}, []string{"1.2.1.1"}},
		{"instance_number", queries.Search{StudyUID: "1.1", Conditions: []queries.Condition{exact("InstanceNumber", "2")}}, []string{"1.1.1.2"}},
		{"series_and_study_keys_in_stored_order", queries.Search{Conditions: []queries.Condition{exact("Modality", "CR"), exact("PatientID", "x%9")}}, []string{"1.3.2.1", "1.3.1.1"}},
		{"sop_class", queries.Search{StudyUID: "1.2", Conditions: []queries.Condition{list("SOPClassUID", "1.2.840.10008.5.1.4.1.1.2")}}, []string{"1.2.1.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := s.SearchInstances(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var uids []string
			for _, r := range got {
				uids = append(uids, r.SOPInstanceUID)
			}
			if diff := cmp.Diff(tt.want, uids); diff != "" {
				t.Errorf("instances (-want +got):\n%s", diff)
			}
		})
	}
	if _, _, err := s.SearchInstances(ctx, queries.Search{StudyUID: "1.1", SeriesUID: "1.2.1"}); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("a series of another study: err = %v, want ErrNotFound", err)
	}
	got, _, _ := s.SearchInstances(ctx, queries.Search{StudyUID: "1.2", WithMetadata: true})
	if len(got) != 1 || got[0].Rows != 64 || got[0].Series.Modality != "MR" || got[0].Study.PatientID != "p456" || !strings.Contains(got[0].Metadata, "1.2.1.1") {
		t.Errorf("instance result: %+v", got)
	}
	if _, _, err := s.SearchStudies(ctx, queries.Search{Conditions: []queries.Condition{exact("SOPInstanceUID", "1")}}); err == nil {
		t.Error("an instance key on a study search was accepted")
	}
}

// testSearchPlans checks that the narrowing searches are answered from indexes rather than by
// reading whole tables, so that they stay fast as the archive grows.
func testSearchPlans(t *testing.T, s *queries.Store) {
	ctx := context.Background()
	tests := []struct {
		name  string
		level queries.Level
		q     queries.Search
		index string
	}{
		{"studies_by_patient_id", queries.StudyLevel, queries.Search{Conditions: []queries.Condition{exact("PatientID", "P123")}}, "studies_patient_id_ci"},
		{"studies_by_name_prefix", queries.StudyLevel, queries.Search{Conditions: []queries.Condition{wild("PatientName", "doe*")}}, "studies_patient_name_ci"},
		{"studies_by_date_range", queries.StudyLevel, queries.Search{Conditions: []queries.Condition{span("StudyDate", "20200101", "20201231")}}, "studies_order"},
		{"studies_by_date", queries.StudyLevel, queries.Search{Conditions: []queries.Condition{exact("StudyDate", "20200115")}}, "studies_order"},
		{"instances_by_study_date", queries.InstanceLevel, queries.Search{Conditions: []queries.Condition{exact("StudyDate", "20200115")}}, "studies_order"},
		{"instances_by_modality", queries.InstanceLevel, queries.Search{Conditions: []queries.Condition{exact("Modality", "CT")}}, "instances_modality_order"},
		{"instances_by_modalities_few_matches", queries.InstanceLevel, queries.Search{Conditions: []queries.Condition{list("Modality", "CT", "PT")}}, "instances_modality_order"},
		{"studies_unfiltered_page", queries.StudyLevel, queries.Search{Limit: 100}, "studies_order"},
		{"series_of_a_study", queries.SeriesLevel, queries.Search{StudyUID: "1.1"}, "series_study"},
		{"instances_of_a_series", queries.InstanceLevel, queries.Search{StudyUID: "1.1", SeriesUID: "1.1.1"}, "instances_series"},
		{"instances_unfiltered_page", queries.InstanceLevel, queries.Search{Limit: 10, Offset: 3}, "instances_order"},
		{"series_unfiltered_page", queries.SeriesLevel, queries.Search{Limit: 10, Offset: 3}, "series_order"},
		{"studies_by_name_infix", queries.StudyLevel, queries.Search{Conditions: []queries.Condition{wild("PatientName", "*mül*")}}, "studies_text"},
		{"studies_by_fuzzy_name", queries.StudyLevel, queries.Search{Fuzzy: true, Conditions: []queries.Condition{exact("PatientName", "jo")}}, "studies_text"},
		{"instances_by_sop_uid", queries.InstanceLevel, queries.Search{Conditions: []queries.Condition{list("SOPInstanceUID", "1.2.1.1")}}, "instances_sop_instance_uid_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s.Engine() == queries.Postgres {
				// PostgreSQL's planner prefers sequential scans on tiny tables; the benchmark checks
				// its plans at scale.
				t.Skip("checked at scale by BenchmarkSearch on PostgreSQL")
			}
			plan, err := s.ExplainSearch(ctx, tt.level, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.index
			if want == "instances_sop_instance_uid_key" {
				want = "sqlite_autoindex_instances"
			}
			if !strings.Contains(plan, want) {
				t.Errorf("plan does not use %s:\n%s", want, plan)
			}
		})
	}
}
