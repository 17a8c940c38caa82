package queries_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/medimg/medimg/migrations"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
)

// The whole suite runs on every engine: SQLite always, PostgreSQL on a real server.
func TestStore(t *testing.T) {
	tests := map[string]func(t *testing.T, s *queries.Store){
		"add_instance_creates_study_and_series":     testAddCreates,
		"aggregates_follow_series_and_modalities":   testAggregates,
		"duplicate_instance_is_rejected":            testDuplicate,
		"replace_swaps_the_row_and_returns_old_key": testReplace,
		"replace_can_move_an_instance":              testReplaceMoves,
		"series_of_another_study_conflicts":         testSeriesConflict,
		"concurrent_adds_make_one_study_and_series": testConcurrentAdds,
		"delete_instance_prunes_empty_parents":      testDeleteInstance,
		"delete_series_and_study":                   testDeleteSeriesAndStudy,
		"delete_unknown_uids_is_not_found":          testDeleteNotFound,
		"first_instance_sets_study_attributes":      testStudyAttributesFirstWins,
	}
	for _, engine := range querytest.Engines {
		t.Run(engine, func(t *testing.T) {
			for name, fn := range tests {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					fn(t, querytest.Open(t, engine))
				})
			}
		})
	}
}

func TestOpenTwiceKeepsData(t *testing.T) {
	querytest.ForEachEngine(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, err := queries.Open(ctx, dsn, migrations.For)
		if err != nil {
			t.Fatal(err)
		}
		mustAdd(t, s, instance("1.2.1", "1.2.1.1", "1.2.1.1.1", "CT"))
		s.Close()
		s, err = queries.Open(ctx, dsn, migrations.For)
		if err != nil {
			t.Fatalf("reopen (migrations must be idempotent): %v", err)
		}
		defer s.Close()
		if _, err := s.GetInstance(ctx, "1.2.1.1.1"); err != nil {
			t.Fatalf("instance lost across reopen: %v", err)
		}
	})
}

func TestOpenRejectsUnknownDatabase(t *testing.T) {
	for _, dsn := range []string{"mysql://x", "sqlite:", "data.db"} {
		if _, err := queries.Open(context.Background(), dsn, migrations.For); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", dsn)
		}
	}
}

func instance(study, series, sop, modality string) queries.NewInstance {
	n := int64(1)
	return queries.NewInstance{
		Study: queries.StudyAttributes{
			StudyInstanceUID: study, PatientName: "Doe^Jane", PatientID: "P" + study,
			StudyDate: "20240102", StudyDescription: "Chest",
		},
		Series: queries.SeriesAttributes{SeriesInstanceUID: series, Modality: modality, SeriesNumber: &n},
		Instance: queries.InstanceAttributes{
			SOPInstanceUID: sop, SOPClassUID: "1.2.840.10008.5.1.4.1.1.2", InstanceNumber: &n,
			TransferSyntaxUID: "1.2.840.10008.1.2.1", Rows: 64, Columns: 64, BitsAllocated: 16, NumberOfFrames: 1,
			BlobKey: "blobs/" + sop, Size: 100, SHA256: "ab", Metadata: `{}`, Frames: `{}`, BulkData: `{}`,
		},
	}
}

func mustAdd(t *testing.T, s *queries.Store, in queries.NewInstance) {
	t.Helper()
	if _, err := s.AddInstance(context.Background(), in, false); err != nil {
		t.Fatalf("AddInstance(%s): %v", in.Instance.SOPInstanceUID, err)
	}
}

func mustStudy(t *testing.T, s *queries.Store, uid string) queries.Study {
	t.Helper()
	st, err := s.GetStudy(context.Background(), uid)
	if err != nil {
		t.Fatalf("GetStudy(%s): %v", uid, err)
	}
	return st
}

func testAddCreates(t *testing.T, s *queries.Store) {
	ctx := context.Background()
	in := instance("1.2.3", "1.2.3.4", "1.2.3.4.5", "CT")
	mustAdd(t, s, in)
	got, err := s.GetInstance(ctx, "1.2.3.4.5")
	if err != nil {
		t.Fatal(err)
	}
	want := queries.Instance{InstanceAttributes: in.Instance, StudyInstanceUID: "1.2.3", SeriesInstanceUID: "1.2.3.4"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("instance (-want +got):\n%s", diff)
	}
	se, err := s.GetSeries(ctx, "1.2.3.4")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(queries.Series{SeriesAttributes: in.Series, StudyInstanceUID: "1.2.3", NumInstances: 1}, se); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
	st := mustStudy(t, s, "1.2.3")
	wantStudy := queries.Study{StudyAttributes: in.Study, ModalitiesInStudy: []string{"CT"}, NumSeries: 1, NumInstances: 1}
	if diff := cmp.Diff(wantStudy, st); diff != "" {
		t.Errorf("study (-want +got):\n%s", diff)
	}
	if ok, _ := s.InstanceExists(ctx, "1.2.3.4.5"); !ok {
		t.Error("InstanceExists = false for a stored instance")
	}
	if ok, _ := s.BlobKeyInUse(ctx, "blobs/1.2.3.4.5"); !ok {
		t.Error("BlobKeyInUse = false for a stored key")
	}
	if ok, _ := s.BlobKeyInUse(ctx, "blobs/other"); ok {
		t.Error("BlobKeyInUse = true for an unknown key")
	}
}

func testAggregates(t *testing.T, s *queries.Store) {
	mustAdd(t, s, instance("1.5", "1.5.1", "1.5.1.1", "MR"))
	mustAdd(t, s, instance("1.5", "1.5.1", "1.5.1.2", "MR"))
	mustAdd(t, s, instance("1.5", "1.5.2", "1.5.2.1", "CT"))
	mustAdd(t, s, instance("1.5", "1.5.3", "1.5.3.1", "CT"))
	st := mustStudy(t, s, "1.5")
	if st.NumSeries != 3 || st.NumInstances != 4 {
		t.Errorf("study counts = %d series, %d instances; want 3, 4", st.NumSeries, st.NumInstances)
	}
	if diff := cmp.Diff([]string{"CT", "MR"}, st.ModalitiesInStudy); diff != "" {
		t.Errorf("ModalitiesInStudy (-want +got):\n%s", diff)
	}
	se, _ := s.GetSeries(context.Background(), "1.5.1")
	if se.NumInstances != 2 {
		t.Errorf("series 1.5.1 has %d instances, want 2", se.NumInstances)
	}
}

func testDuplicate(t *testing.T, s *queries.Store) {
	mustAdd(t, s, instance("1.6", "1.6.1", "1.6.1.1", "CT"))
	dup := instance("1.6", "1.6.1", "1.6.1.1", "CT")
	dup.Instance.BlobKey = "blobs/other"
	_, err := s.AddInstance(context.Background(), dup, false)
	if !errors.Is(err, queries.ErrDuplicate) {
		t.Fatalf("duplicate add: err = %v, want ErrDuplicate", err)
	}
	if st := mustStudy(t, s, "1.6"); st.NumInstances != 1 {
		t.Errorf("after a rejected duplicate NumInstances = %d, want 1", st.NumInstances)
	}
}

func testReplace(t *testing.T, s *queries.Store) {
	ctx := context.Background()
	mustAdd(t, s, instance("1.7", "1.7.1", "1.7.1.1", "CT"))
	in := instance("1.7", "1.7.1", "1.7.1.1", "CT")
	in.Instance.BlobKey = "blobs/new"
	old, err := s.AddInstance(ctx, in, true)
	if err != nil {
		t.Fatal(err)
	}
	if old != "blobs/1.7.1.1" {
		t.Errorf("replaced key = %q, want blobs/1.7.1.1", old)
	}
	got, _ := s.GetInstance(ctx, "1.7.1.1")
	if got.BlobKey != "blobs/new" {
		t.Errorf("blob key after replace = %q", got.BlobKey)
	}
	if st := mustStudy(t, s, "1.7"); st.NumInstances != 1 || st.NumSeries != 1 {
		t.Errorf("after replace counts = %d/%d, want 1/1", st.NumSeries, st.NumInstances)
	}
	// Replacing an instance that is not stored just adds it.
	old, err = s.AddInstance(ctx, instance("1.7", "1.7.1", "1.7.1.2", "CT"), true)
	if err != nil || old != "" {
		t.Errorf("replace of a new instance = %q, %v; want \"\", nil", old, err)
	}
}

func testReplaceMoves(t *testing.T, s *queries.Store) {
	ctx := context.Background()
	mustAdd(t, s, instance("1.8", "1.8.1", "1.8.1.1", "CT"))
	if _, err := s.AddInstance(ctx, instance("1.9", "1.9.1", "1.8.1.1", "MR"), true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetStudy(ctx, "1.8"); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("old study left behind after its only instance moved: %v", err)
	}
	if st := mustStudy(t, s, "1.9"); st.NumInstances != 1 {
		t.Errorf("new study has %d instances", st.NumInstances)
	}
}

func testSeriesConflict(t *testing.T, s *queries.Store) {
	mustAdd(t, s, instance("1.10", "1.10.1", "1.10.1.1", "CT"))
	_, err := s.AddInstance(context.Background(), instance("1.11", "1.10.1", "1.10.1.2", "CT"), false)
	if !errors.Is(err, queries.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	if _, err := s.GetStudy(context.Background(), "1.11"); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("a failed add left study 1.11 behind (err %v)", err)
	}
}

func testConcurrentAdds(t *testing.T, s *queries.Store) {
	const clients, perClient = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, clients*perClient)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perClient {
				series := fmt.Sprintf("1.12.%d", i%2+1)
				in := instance("1.12", series, fmt.Sprintf("%s.%d.%d", series, c+1, i+1), []string{"CT", "PT"}[i%2])
				if _, err := s.AddInstance(context.Background(), in, false); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent add: %v", err)
	}
	st := mustStudy(t, s, "1.12")
	want := queries.Study{StudyAttributes: st.StudyAttributes, ModalitiesInStudy: []string{"CT", "PT"}, NumSeries: 2, NumInstances: clients * perClient}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("study (-want +got):\n%s", diff)
	}
	for _, uid := range []string{"1.12.1", "1.12.2"} {
		se, err := s.GetSeries(context.Background(), uid)
		if err != nil || se.NumInstances != clients*perClient/2 {
			t.Errorf("series %s: %d instances, %v; want %d", uid, se.NumInstances, err, clients*perClient/2)
		}
	}
}

func testDeleteInstance(t *testing.T, s *queries.Store) {
	ctx := context.Background()
	mustAdd(t, s, instance("1.13", "1.13.1", "1.13.1.1", "CT"))
	mustAdd(t, s, instance("1.13", "1.13.2", "1.13.2.1", "MR"))
	keys, err := s.DeleteInstance(ctx, "1.13", "1.13.2", "1.13.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"blobs/1.13.2.1"}, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	if _, err := s.GetSeries(ctx, "1.13.2"); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("empty series kept: %v", err)
	}
	st := mustStudy(t, s, "1.13")
	if st.NumSeries != 1 || st.NumInstances != 1 || !cmp.Equal(st.ModalitiesInStudy, []string{"CT"}) {
		t.Errorf("study after delete: %+v", st)
	}
	if _, err := s.DeleteInstance(ctx, "1.13", "1.13.1", "1.13.1.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetStudy(ctx, "1.13"); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("empty study kept: %v", err)
	}
}

func testDeleteSeriesAndStudy(t *testing.T, s *queries.Store) {
	ctx := context.Background()
	mustAdd(t, s, instance("1.14", "1.14.1", "1.14.1.1", "CT"))
	mustAdd(t, s, instance("1.14", "1.14.1", "1.14.1.2", "CT"))
	mustAdd(t, s, instance("1.14", "1.14.2", "1.14.2.1", "SR"))
	keys, err := s.DeleteSeries(ctx, "1.14", "1.14.1")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Errorf("DeleteSeries returned %d keys, want 2", len(keys))
	}
	st := mustStudy(t, s, "1.14")
	if st.NumSeries != 1 || st.NumInstances != 1 || !cmp.Equal(st.ModalitiesInStudy, []string{"SR"}) {
		t.Errorf("study after series delete: %+v", st)
	}
	keys, err = s.DeleteStudy(ctx, "1.14")
	if err != nil || len(keys) != 1 {
		t.Fatalf("DeleteStudy = %v, %v", keys, err)
	}
	if _, err := s.GetInstance(ctx, "1.14.2.1"); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("instance survived its study: %v", err)
	}
	if n, _ := s.CountStudies(ctx); n != 0 {
		t.Errorf("%d studies left", n)
	}
}

func testDeleteNotFound(t *testing.T, s *queries.Store) {
	ctx := context.Background()
	mustAdd(t, s, instance("1.15", "1.15.1", "1.15.1.1", "CT"))
	cases := map[string]func() error{
		"study":                 func() error { _, err := s.DeleteStudy(ctx, "9.9"); return err },
		"series":                func() error { _, err := s.DeleteSeries(ctx, "1.15", "9.9"); return err },
		"series_of_wrong_study": func() error { _, err := s.DeleteSeries(ctx, "9.9", "1.15.1"); return err },
		"instance":              func() error { _, err := s.DeleteInstance(ctx, "1.15", "1.15.1", "9.9"); return err },
		"instance_wrong_series": func() error {
			_, err := s.DeleteInstance(ctx, "1.15", "9.9", "1.15.1.1")
			return err
		},
	}
	for name, del := range cases {
		if err := del(); !errors.Is(err, queries.ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", name, err)
		}
	}
	if st := mustStudy(t, s, "1.15"); st.NumInstances != 1 {
		t.Errorf("a failed delete changed the study: %+v", st)
	}
}

func testStudyAttributesFirstWins(t *testing.T, s *queries.Store) {
	a := instance("1.16", "1.16.1", "1.16.1.1", "CT")
	a.Study.AccessionNumber = ""
	mustAdd(t, s, a)
	b := instance("1.16", "1.16.1", "1.16.1.2", "CT")
	b.Study.PatientName = "Other^Name"
	b.Study.AccessionNumber = "A42"
	mustAdd(t, s, b)
	st := mustStudy(t, s, "1.16")
	if st.PatientName != "Doe^Jane" || st.AccessionNumber != "A42" {
		t.Errorf("PatientName %q (want first, Doe^Jane), AccessionNumber %q (want filled, A42)", st.PatientName, st.AccessionNumber)
	}
}
