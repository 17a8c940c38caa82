package queries_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medimg/medimg/migrations"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
)

// TestQueuedInstancesShareATransaction queues a batch that mixes good instances with a duplicate
// of a stored one, a duplicate within the batch, a series of another study and a cancelled
// request, all before anyone waits, so that they commit in one transaction: each gets the answer
// AddInstance alone would give, and the failed ones leave no row behind (no study, no series, no
// count).
func TestQueuedInstancesShareATransaction(t *testing.T) {
	for _, engine := range querytest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := querytest.Open(t, engine)
			ctx := context.Background()
			mustAdd(t, s, instance("2.1", "2.1.1", "2.1.1.1", "CT"))
			cancelled, cancel := context.WithCancel(ctx)
			cancel()

			type add struct {
				ctx     context.Context
				in      queries.NewInstance
				wantErr error
			}
			adds := []add{
				{ctx, instance("2.1", "2.1.1", "2.1.1.2", "CT"), nil},
				{ctx, instance("2.1", "2.1.1", "2.1.1.1", "CT"), queries.ErrDuplicate},   // stored before
				{ctx, instance("2.2", "2.2.1", "2.2.1.1", "MR"), nil},                    // a new study
				{ctx, instance("2.3", "2.1.1", "2.3.1.1", "CT"), queries.ErrConflict},    // series of study 2.1
				{ctx, instance("2.2", "2.2.1", "2.2.1.1", "MR"), queries.ErrDuplicate},   // queued twice: the first wins
				{cancelled, instance("2.4", "2.4.1", "2.4.1.1", "CT"), context.Canceled}, // its request is gone
				{ctx, instance("2.2", "2.2.2", "2.2.2.1", "SR"), nil},
			}
			// A later instance of a study fills the attributes the first one left empty, within a
			// batch as across transactions.
			noAccession := instance("2.5", "2.5.1", "2.5.1.1", "CT")
			withAccession := instance("2.5", "2.5.1", "2.5.1.2", "CT")
			withAccession.Study.AccessionNumber = "A25"
			adds = append(adds, add{ctx, noAccession, nil}, add{ctx, withAccession, nil})
			pending := make([]*queries.PendingInstance, len(adds))
			for i, a := range adds {
				pending[i] = s.QueueInstance(a.ctx, a.in, false)
			}
			var wg sync.WaitGroup
			errs := make([]error, len(adds))
			for i := len(pending) - 1; i >= 0; i-- { // the leader is not the first to wait
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = pending[i].Wait()
				}()
			}
			wg.Wait()
			for i, a := range adds {
				if !errors.Is(errs[i], a.wantErr) || (a.wantErr == nil) != (errs[i] == nil) {
					t.Errorf("add %d (%s): err = %v, want %v", i, a.in.Instance.SOPInstanceUID, errs[i], a.wantErr)
				}
			}

			for _, want := range []struct {
				study             string
				series, instances int
				modalities        string
			}{{"2.1", 1, 2, "[CT]"}, {"2.2", 2, 2, "[MR SR]"}} {
				st := mustStudy(t, s, want.study)
				if st.NumSeries != want.series || st.NumInstances != want.instances || fmt.Sprint(st.ModalitiesInStudy) != want.modalities {
					t.Errorf("study %s: %d series, %d instances, %v; want %d, %d, %s", want.study,
						st.NumSeries, st.NumInstances, st.ModalitiesInStudy, want.series, want.instances, want.modalities)
				}
			}
			if st := mustStudy(t, s, "2.5"); st.AccessionNumber != "A25" || st.NumInstances != 2 {
				t.Errorf("study 2.5: accession %q, %d instances; want A25, 2", st.AccessionNumber, st.NumInstances)
			}
			for _, uid := range []string{"2.3", "2.4"} {
				if _, err := s.GetStudy(ctx, uid); !errors.Is(err, queries.ErrNotFound) {
					t.Errorf("a failed add left study %s behind (err %v)", uid, err)
				}
			}
			if _, err := s.GetSeries(ctx, "2.4.1"); !errors.Is(err, queries.ErrNotFound) {
				t.Errorf("a cancelled add left series 2.4.1 behind (err %v)", err)
			}
		})
	}
}

// TestQueueHandsTheLeadOn has many goroutines add at once, so that callers queue behind a
// running transaction and the lead passes from one to the next: every instance is recorded once
// and every caller returns.
func TestQueueHandsTheLeadOn(t *testing.T) {
	for _, engine := range querytest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := querytest.Open(t, engine)
			const clients, perClient = 16, 25
			var wg sync.WaitGroup
			for c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range perClient {
						study := fmt.Sprintf("3.%d", i%3+1)
						in := instance(study, study+".1", fmt.Sprintf("%s.1.%d.%d", study, c+1, i+1), "CT")
						if _, err := s.AddInstance(context.Background(), in, false); err != nil {
							t.Errorf("add: %v", err)
						}
					}
				}()
			}
			wg.Wait()
			total := 0
			for i := 1; i <= 3; i++ {
				total += mustStudy(t, s, fmt.Sprintf("3.%d", i)).NumInstances
			}
			if total != clients*perClient {
				t.Errorf("%d instances recorded, want %d", total, clients*perClient)
			}
		})
	}
}

// TestPanicInABatchFailsItAndTheQueueGoesOn makes recording one instance panic while others are
// queued with it: every instance of that batch fails with the panic (none is half-recorded), no
// caller waits for ever, and the next stores are recorded.
func TestPanicInABatchFailsItAndTheQueueGoesOn(t *testing.T) {
	for _, engine := range querytest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := querytest.Open(t, engine)
			ctx := context.Background()
			queries.SetAddHook(t, func(in queries.NewInstance) {
				if in.Instance.SOPInstanceUID == "4.1.1.2" {
					panic("injected")
				}
			})
			pending := []*queries.PendingInstance{
				s.QueueInstance(ctx, instance("4.1", "4.1.1", "4.1.1.1", "CT"), false),
				s.QueueInstance(ctx, instance("4.1", "4.1.1", "4.1.1.2", "CT"), false),
				s.QueueInstance(ctx, instance("4.1", "4.1.1", "4.1.1.3", "CT"), false),
			}
			done := make(chan error, len(pending))
			for _, p := range pending {
				go func() {
					_, err := p.Wait()
					done <- err
				}()
			}
			for range pending {
				select {
				case err := <-done:
					if err == nil || !strings.Contains(err.Error(), "panicked: injected") {
						t.Errorf("Wait = %v; want the panic", err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("a caller still waits 10 s after the panic: the queue is stuck")
				}
			}
			for _, sop := range []string{"4.1.1.1", "4.1.1.2", "4.1.1.3"} {
				if exists, err := s.InstanceExists(ctx, sop); err != nil || exists {
					t.Errorf("instance %s of the failed batch: exists %v, %v; want not recorded", sop, exists, err)
				}
			}
			queries.SetAddHook(t, nil)
			mustAdd(t, s, instance("4.1", "4.1.1", "4.1.1.4", "CT"))
			if n := mustStudy(t, s, "4.1").NumInstances; n != 1 {
				t.Errorf("after the panic, the study counts %d instances; want 1", n)
			}
		})
	}
}

// TestQueuedReplacementCountsExactly queues, in one transaction with --on-duplicate=overwrite, new
// instances around the replacement of a stored one that moves it to another series: the counts the
// batch adds up and the recount the replacement makes must agree, on both series and the study.
func TestQueuedReplacementCountsExactly(t *testing.T) {
	for _, engine := range querytest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := querytest.Open(t, engine)
			ctx := context.Background()
			mustAdd(t, s, instance("5.1", "5.1.1", "5.1.1.1", "CT"))
			ins := []queries.NewInstance{
				instance("5.1", "5.1.1", "5.1.1.2", "CT"), // new, in the first series
				instance("5.1", "5.1.2", "5.1.1.1", "MR"), // the stored one, moved to a new series
				instance("5.1", "5.1.2", "5.1.2.2", "MR"), // new, in the new series
				instance("5.1", "5.1.1", "5.1.1.3", "CT"), // new, in the first series
			}
			var pending []*queries.PendingInstance
			for _, in := range ins {
				pending = append(pending, s.QueueInstance(ctx, in, true))
			}
			var wg sync.WaitGroup
			for i := len(pending) - 1; i >= 0; i-- { // the leader is not the first to wait
				wg.Go(func() {
					if _, err := pending[i].Wait(); err != nil {
						t.Errorf("add %s: %v", ins[i].Instance.SOPInstanceUID, err)
					}
				})
			}
			wg.Wait()
			st := mustStudy(t, s, "5.1")
			if st.NumSeries != 2 || st.NumInstances != 4 || fmt.Sprint(st.ModalitiesInStudy) != "[CT MR]" {
				t.Errorf("study: %d series, %d instances, %v; want 2, 4, [CT MR]", st.NumSeries, st.NumInstances, st.ModalitiesInStudy)
			}
			for uid, want := range map[string]int{"5.1.1": 2, "5.1.2": 2} {
				se, err := s.GetSeries(ctx, uid)
				if err != nil || se.NumInstances != want {
					t.Errorf("series %s: %d instances, %v; want %d", uid, se.NumInstances, err, want)
				}
			}
		})
	}
}

// TestTwoServersCreateOneStudy has two Stores on one database (two replicas) store the first
// instances of a new study and series at the same time, rounds after round: whichever creates the
// rows, the other finds them (on PostgreSQL its insert waits for the first to commit and then
// conflicts), every instance is recorded, the later ones' attributes fill the study's empty ones,
// and the counts are exact.
func TestTwoServersCreateOneStudy(t *testing.T) {
	querytest.ForEachEngine(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		var stores [2]*queries.Store
		for i := range stores {
			s, err := queries.Open(ctx, dsn, migrations.For)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			stores[i] = s
		}
		const rounds, perStore = 5, 4
		for r := range rounds {
			study := fmt.Sprintf("6.%d", r+1)
			var wg sync.WaitGroup
			for i, s := range stores {
				for k := range perStore {
					wg.Go(func() {
						in := instance(study, study+".1", fmt.Sprintf("%s.1.%d.%d", study, i, k), "CT")
						if i == 1 {
							in.Study.AccessionNumber = "A" + study // only one server's instances have it
						}
						if _, err := s.AddInstance(ctx, in, false); err != nil {
							t.Errorf("round %d, server %d: %v", r, i, err)
						}
					})
				}
			}
			wg.Wait()
			st := mustStudy(t, stores[0], study)
			if st.NumSeries != 1 || st.NumInstances != 2*perStore || st.AccessionNumber != "A"+study {
				t.Errorf("study %s: %d series, %d instances, accession %q; want 1, %d, %q",
					study, st.NumSeries, st.NumInstances, st.AccessionNumber, 2*perStore, "A"+study)
			}
			se, err := stores[1].GetSeries(ctx, study+".1")
			if err != nil || se.NumInstances != 2*perStore {
				t.Errorf("series %s.1: %d instances, %v; want %d", study, se.NumInstances, err, 2*perStore)
			}
		}
	})
}

// TestFailedCountsFailTheirBatch makes the database refuse the count update of one series (a
// trigger), in the two places a batch writes its counts: at its end, and before a replacement
// recounts from the rows. Either way every instance of the batch fails with that error, none of
// its rows stays, and the next store is recorded with exact counts.
func TestFailedCountsFailTheirBatch(t *testing.T) {
	for _, engine := range querytest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := querytest.Open(t, engine)
			ctx := context.Background()
			// Series whose UID ends in .9 cannot be counted.
			trigger := []string{`CREATE TRIGGER refuse_count BEFORE UPDATE OF num_instances ON series
				WHEN NEW.series_uid LIKE '%.9' BEGIN SELECT RAISE(ABORT, 'count refused'); END`}
			if engine == queries.Postgres {
				trigger = []string{`CREATE FUNCTION refuse_count() RETURNS trigger LANGUAGE plpgsql
					AS $$ BEGIN RAISE EXCEPTION 'count refused'; END $$`,
					`CREATE TRIGGER refuse_count BEFORE UPDATE OF num_instances ON series
					FOR EACH ROW WHEN (NEW.series_uid LIKE '%.9') EXECUTE FUNCTION refuse_count()`}
			}
			for _, stmt := range trigger {
				if err := queries.ExecWrite(s, stmt); err != nil {
					t.Fatal(err)
				}
			}
			mustAdd(t, s, instance("8.2", "8.2.1", "8.2.1.1", "CT"))
			for _, tc := range []struct {
				name    string
				replace bool
				batch   []queries.NewInstance
			}{
				{"at the end of the batch", false, []queries.NewInstance{
					instance("8.1", "8.1.1", "8.1.1.1", "CT"),
					instance("8.1", "8.1.9", "8.1.9.1", "MR"),
				}},
				{"before a replacement", true, []queries.NewInstance{
					instance("8.2", "8.2.9", "8.2.9.1", "MR"),
					instance("8.2", "8.2.1", "8.2.1.1", "CT"), // stored: replaced
				}},
			} {
				var pending []*queries.PendingInstance
				for _, in := range tc.batch {
					pending = append(pending, s.QueueInstance(ctx, in, tc.replace))
				}
				for i, p := range pending {
					if _, err := p.Wait(); err == nil || !strings.Contains(err.Error(), "count refused") {
						t.Errorf("%s: add %s: err = %v; want the refused count", tc.name, tc.batch[i].Instance.SOPInstanceUID, err)
					}
				}
			}
			for _, sop := range []string{"8.1.1.1", "8.1.9.1", "8.2.9.1"} {
				if exists, err := s.InstanceExists(ctx, sop); err != nil || exists {
					t.Errorf("instance %s of a failed batch: exists %v, %v; want not recorded", sop, exists, err)
				}
			}
			if _, err := s.GetStudy(ctx, "8.1"); !errors.Is(err, queries.ErrNotFound) {
				t.Errorf("a failed batch left study 8.1 behind (err %v)", err)
			}
			mustAdd(t, s, instance("8.2", "8.2.1", "8.2.1.2", "CT"))
			if st := mustStudy(t, s, "8.2"); st.NumSeries != 1 || st.NumInstances != 2 {
				t.Errorf("study 8.2: %d series, %d instances; want 1, 2", st.NumSeries, st.NumInstances)
			}
		})
	}
}

// TestSeriesStoredMeanwhileByAnotherServer has one server create a series, uncommitted, while a
// second server stores an instance of the same series UID under another study: the second server's
// lookup cannot see the series yet, its insert waits for the first server's commit and then finds
// the UID taken, and it must look the series up again and refuse the instance as a conflict,
// leaving nothing of its study. PostgreSQL only: SQLite has one writer, so the second server's
// transaction cannot start while the first is open.
func TestSeriesStoredMeanwhileByAnotherServer(t *testing.T) {
	dsn := querytest.DSN(t, queries.Postgres)
	ctx := context.Background()
	var stores [2]*queries.Store
	for i := range stores {
		s, err := queries.Open(ctx, dsn, migrations.For)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	// The first server's batch stops between its two instances, its series inserted.
	reached, hold := make(chan struct{}), make(chan struct{})
	queries.SetAddHook(t, func(in queries.NewInstance) {
		if in.Instance.SOPInstanceUID == "9.1.1.2" {
			close(reached)
			<-hold
		}
	})
	first := []*queries.PendingInstance{
		stores[0].QueueInstance(ctx, instance("9.1", "9.1.1", "9.1.1.1", "CT"), false),
		stores[0].QueueInstance(ctx, instance("9.1", "9.1.1", "9.1.1.2", "CT"), false),
	}
	firstErrs := make(chan error, len(first))
	for _, p := range first {
		go func() {
			_, err := p.Wait()
			firstErrs <- err
		}()
	}
	select {
	case <-reached:
	case <-time.After(10 * time.Second):
		t.Fatal("the first server's batch never reached its second instance")
	}
	second := make(chan error, 1)
	go func() {
		_, err := stores[1].AddInstance(ctx, instance("9.2", "9.1.1", "9.2.1.1", "CT"), false)
		second <- err
	}()
	// Released only once the second server waits for the first's row lock: its insert of the
	// series, which the first server holds uncommitted.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var waiting int
		if err := queries.ReadPool(stores[0]).QueryRowContext(ctx,
			"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'").Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			close(hold)
			t.Fatal("the second server never waited for the first's series")
		}
	}
	close(hold)
	for range first {
		if err := <-firstErrs; err != nil {
			t.Errorf("first server: %v", err)
		}
	}
	if err := <-second; !errors.Is(err, queries.ErrConflict) {
		t.Errorf("second server: %v; want a conflict (series 9.1.1 is in study 9.1)", err)
	}
	if _, err := stores[1].GetStudy(ctx, "9.2"); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("the refused instance left study 9.2 behind (err %v)", err)
	}
	if se, err := stores[1].GetSeries(ctx, "9.1.1"); err != nil || se.NumInstances != 2 {
		t.Errorf("series 9.1.1: %d instances, %v; want 2", se.NumInstances, err)
	}
}
