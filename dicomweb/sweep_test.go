package dicomweb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
)

// Every replica runs the sweep: sweeps at the same moment delete each orphan exactly once between
// them, keep the indexed blob, and none fails on an orphan another one removed first.
func TestSweepOrphansOnEveryReplicaAtOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		ctx := context.Background()
		if resp := s.stowParts(t, dicomPart(generated(t, dicomgen.Spec{}))); resp.status != 200 {
			t.Fatalf("setup: %d", resp.status)
		}
		kept := s.blobFiles(t)[0]
		past := time.Now().Add(-2 * time.Hour)
		const orphans = 40
		for i := range orphans {
			k := fmt.Sprintf("studies/1.2/series/1.2.%d/1.2.3.%d_00000000.dcm", i%4, i)
			if _, err := storagePut(ctx, s, k); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(filepath.Join(s.dir, k), past, past)
		}
		os.Chtimes(filepath.Join(s.dir, kept), past, past)

		const replicas = 4
		deleted := make([]int, replicas)
		var wg sync.WaitGroup
		for r := range replicas {
			svc, err := dicomweb.New(dicomweb.Config{}, s.store, s.blobs, discardLog(), prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				n, err := svc.SweepOrphans(ctx, time.Hour)
				if err != nil {
					t.Errorf("sweep %d: %v", r, err)
				}
				deleted[r] = n
			})
		}
		wg.Wait()
		total := 0
		for _, n := range deleted {
			total += n
		}
		if total != orphans {
			t.Errorf("the sweeps deleted %v = %d between them, want %d", deleted, total, orphans)
		}
		if left := s.blobFiles(t); len(left) != 1 || left[0] != kept {
			t.Errorf("after the sweeps: %q; want only the indexed blob %s", left, kept)
		}
	})
}
