package dicomweb_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/queries"
)

func TestDelete(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		ctx := context.Background()
		study, seriesA, seriesB := dicomgen.UID(), dicomgen.UID(), dicomgen.UID()
		a1 := dicomgen.Spec{StudyInstanceUID: study, SeriesInstanceUID: seriesA, SOPInstanceUID: dicomgen.UID()}
		a2 := dicomgen.Spec{StudyInstanceUID: study, SeriesInstanceUID: seriesA, SOPInstanceUID: dicomgen.UID()}
		b1 := dicomgen.Spec{StudyInstanceUID: study, SeriesInstanceUID: seriesB, SOPInstanceUID: dicomgen.UID(), Modality: "MR"}
		if resp := s.stowParts(t, dicomPart(generated(t, a1)), dicomPart(generated(t, a2)), dicomPart(generated(t, b1))); resp.status != 200 {
			t.Fatalf("setup: status %d", resp.status)
		}
		base := "/dicomweb/studies/" + study
		notFound := map[string]string{
			"unknown_study":               "/dicomweb/studies/1.2.3.999",
			"unknown_series":              base + "/series/1.2.3.999",
			"unknown_instance":            base + "/series/" + seriesA + "/instances/1.2.3.999",
			"instance_under_wrong_series": base + "/series/" + seriesB + "/instances/" + a1.SOPInstanceUID,
			"series_under_wrong_study":    "/dicomweb/studies/1.2.3.999/series/" + seriesA,
		}
		for name, path := range notFound {
			if resp := s.do(t, http.MethodDelete, path); resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s: status %d, want 404", name, resp.StatusCode)
			}
		}
		for _, path := range []string{"/dicomweb/studies/1.2.x", base + "/series/1.2.3a", base + "/series/" + seriesA + "/instances/01.2"} {
			if resp := s.do(t, http.MethodDelete, path); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("DELETE %s: status %d, want 400", path, resp.StatusCode)
			}
		}
		if got := len(s.blobFiles(t)); got != 3 {
			t.Fatalf("failed deletes changed the blobs: %d", got)
		}

		if resp := s.do(t, http.MethodDelete, base+"/series/"+seriesA+"/instances/"+a1.SOPInstanceUID); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete instance: status %d", resp.StatusCode)
		}
		st, _ := s.store.GetStudy(ctx, study)
		if st.NumInstances != 2 || len(s.blobFiles(t)) != 2 {
			t.Errorf("after instance delete: %d instances, %d blobs; want 2, 2", st.NumInstances, len(s.blobFiles(t)))
		}
		if resp := s.do(t, http.MethodDelete, base+"/series/"+seriesB); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete series: status %d", resp.StatusCode)
		}
		st, _ = s.store.GetStudy(ctx, study)
		if st.NumSeries != 1 || strings.Join(st.ModalitiesInStudy, `\`) != "CT" || len(s.blobFiles(t)) != 1 {
			t.Errorf("after series delete: %+v, %d blobs", st, len(s.blobFiles(t)))
		}
		if resp := s.do(t, http.MethodDelete, base); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete study: status %d", resp.StatusCode)
		}
		if _, err := s.store.GetStudy(ctx, study); !errors.Is(err, queries.ErrNotFound) {
			t.Errorf("study still indexed: %v", err)
		}
		if keys := s.blobFiles(t); len(keys) != 0 {
			t.Errorf("blobs left after deleting the study: %q", keys)
		}
		if resp := s.do(t, http.MethodDelete, base); resp.StatusCode != http.StatusNotFound {
			t.Errorf("second delete: status %d, want 404", resp.StatusCode)
		}
	})
}

func TestSweepOrphans(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		ctx := context.Background()
		if resp := s.stowParts(t, dicomPart(generated(t, dicomgen.Spec{}))); resp.status != 200 {
			t.Fatalf("setup: %d", resp.status)
		}
		kept := s.blobFiles(t)[0]
		// An orphan as a crash between blob commit and row commit would leave it, and a recent one.
		old, recent := "studies/1.2/series/1.2.3/1.2.3.4_00000000.dcm", "studies/1.2/series/1.2.3/1.2.3.5_00000000.dcm"
		for _, k := range []string{old, recent} {
			if _, err := storagePut(ctx, s, k); err != nil {
				t.Fatal(err)
			}
		}
		past := time.Now().Add(-2 * time.Hour)
		for _, k := range []string{old, kept} {
			os.Chtimes(filepath.Join(s.dir, k), past, past)
		}
		svc, _ := dicomweb.New(dicomweb.Config{}, s.store, s.blobs, discardLog(), prometheus.NewRegistry())
		n, err := svc.SweepOrphans(ctx, time.Hour)
		if err != nil || n != 1 {
			t.Fatalf("SweepOrphans = %d, %v; want 1 deleted", n, err)
		}
		keys := strings.Join(s.blobFiles(t), " ")
		if strings.Contains(keys, old) || !strings.Contains(keys, recent) || !strings.Contains(keys, kept) {
			t.Errorf("after the sweep: %s; want the old orphan gone, the recent one and the indexed blob kept", keys)
		}
	})
}
