package queries

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"
)

// maxAddBatch bounds the instances committed in one transaction. On PostgreSQL every instance of a
// batch is a subtransaction (a savepoint), and past 64 of them a transaction's subtransaction
// cache overflows, which slows every other session's snapshots.
const maxAddBatch = 32

// testHookAdd, set only by tests, runs before each instance of a batch is recorded.
var testHookAdd func(NewInstance)

// addQueue gathers the AddInstance calls of concurrent requests into one transaction (group
// commit): on SQLite a commit writes every page it changed to the WAL, and most of the pages of
// one instance's rows (the study, the series, the upper levels of every index) are those of the
// next one; on PostgreSQL every commit is a WAL flush. Whoever finds no transaction running leads:
// it commits what is queued, batch after batch, until its own instance is done, then hands the
// lead to the oldest instance still waiting.
type addQueue struct {
	mu      sync.Mutex
	waiting []*PendingInstance
	leading bool // a caller is committing batches
}

// PendingInstance is an instance queued by QueueInstance, not yet known to be committed.
type PendingInstance struct {
	s       *Store
	ctx     context.Context
	in      NewInstance
	replace bool
	// wake receives true when this caller is to lead, false when its instance is done.
	wake chan bool
	lead bool // set under addQueue.mu when the queue was idle at QueueInstance

	replaced string
	err      error
}

// QueueInstance queues an instance for AddInstance and returns at once, so that a caller storing
// several instances can queue the next before the previous is committed; instances queued one
// after the other are recorded in that order. Wait must be called on every PendingInstance:
// until it is, the queue may be waiting for this caller to lead.
func (s *Store) QueueInstance(ctx context.Context, in NewInstance, replace bool) *PendingInstance {
	p := &PendingInstance{s: s, ctx: ctx, in: in, replace: replace, wake: make(chan bool, 1)}
	q := &s.adds
	q.mu.Lock()
	q.waiting = append(q.waiting, p)
	if !q.leading {
		q.leading, p.lead = true, true
	}
	q.mu.Unlock()
	return p
}

// Wait returns what AddInstance returns once the instance's transaction has ended.
func (p *PendingInstance) Wait() (replacedBlobKey string, err error) {
	if !p.lead && !<-p.wake {
		return p.replaced, p.err
	}
	p.s.leadAdds(p)
	return p.replaced, p.err
}

// leadAdds commits queued batches until self's is done, then passes the lead on.
func (s *Store) leadAdds(self *PendingInstance) {
	q := &s.adds
	for done := false; !done; {
		q.mu.Lock()
		n := min(len(q.waiting), maxAddBatch)
		batch := slices.Clone(q.waiting[:n])
		q.waiting = slices.Delete(q.waiting, 0, n)
		q.mu.Unlock()

		s.commitAdds(batch)
		for _, p := range batch {
			if p == self {
				done = true
			} else {
				p.wake <- false
			}
		}
	}
	q.mu.Lock()
	if len(q.waiting) == 0 {
		q.leading = false
	} else {
		q.waiting[0].wake <- true
	}
	q.mu.Unlock()
}

// commitAdds records a batch in one transaction, each instance under a savepoint of its own so
// that a duplicate or a conflict undoes only its own rows; a failed commit fails them all.
func (s *Store) commitAdds(batch []*PendingInstance) {
	sortByStudy(batch)
	// The transaction is everyone's: one caller's cancelled request must not roll back the others.
	ctx := context.WithoutCancel(batch[0].ctx)
	now := time.Now().UnixMilli()
	var tx *sql.Tx
	committed := false
	// A panic here would leave the queue led by nobody and every later store waiting for ever: it
	// rolls back and fails this batch instead, with the panic and its stack as the error (the
	// caller logs it), and the queue goes on.
	defer func() {
		r := recover()
		switch {
		case r == nil:
		case committed: // its rows are recorded: failing them now would be a lie
			panic(r)
		default:
			if tx != nil {
				_ = tx.Rollback() // the batch's error says what happened
			}
			failAll(batch, fmt.Errorf("queries: recording the batch panicked: %v\n%s", r, debug.Stack()))
		}
	}()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		failAll(batch, fmt.Errorf("queries: begin: %w", err))
		return
	}
	q := s.writeQ.WithTx(tx)
	rows := &batchRows{studies: make(map[string]batchStudy), series: make(map[string]batchSeries)}
	var counts batchCounts
	// Each instance of a batch of several runs under a savepoint. On SQLite it is released when
	// the instance succeeds: SQLite keeps the pages changed under open savepoints in a sub-journal,
	// which spills to a temp file once a batch has changed 64 KiB of them. On PostgreSQL it is left
	// open, nested under the next instance's (ROLLBACK TO goes back to the latest of the name):
	// releasing would cost a round trip per instance and frees nothing that matters.
	savepoint := func(string) error { return nil }
	if len(batch) > 1 {
		savepoint = func(stmt string) error {
			if stmt == "RELEASE SAVEPOINT" && s.engine == Postgres {
				return nil
			}
			_, err := tx.ExecContext(ctx, stmt+" add_instance")
			return err
		}
	}
	var added []*PendingInstance
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil {
			p.err = fmt.Errorf("queries: instance %s: %w", p.in.Instance.SOPInstanceUID, err)
			continue
		}
		// A replacement recounts from the rows: the counts so far must be in them.
		if p.replace {
			if err := counts.flush(ctx, q); err != nil {
				abort(tx, batch, err)
				return
			}
		}
		if err := savepoint("SAVEPOINT"); err != nil {
			abort(tx, batch, err)
			return
		}
		if testHookAdd != nil {
			testHookAdd(p.in)
		}
		p.replaced, p.err = s.addInstance(ctx, q, rows, &counts, p.in, p.replace, now)
		if p.err == nil {
			added = append(added, p)
			if err := savepoint("RELEASE SAVEPOINT"); err != nil {
				abort(tx, batch, err)
				return
			}
			continue
		}
		p.replaced = ""
		rows.forget() // what it wrote before failing is undone
		if err := savepoint("ROLLBACK TO SAVEPOINT"); err != nil {
			abort(tx, batch, err)
			return
		}
	}
	if len(added) == 0 {
		_ = ignoreDone(tx.Rollback()) // nothing of it is kept; each instance already has its error
		return
	}
	if err := counts.flush(ctx, q); err != nil {
		_ = ignoreDone(tx.Rollback()) // the error that matters is err
		failAll(added, err)
		return
	}
	err = tx.Commit()
	committed = true
	if err != nil {
		failAll(added, fmt.Errorf("queries: commit: %w", err))
	}
	if s.checkpoints != nil {
		s.checkpoints.kick()
	}
}

// abort rolls back a batch whose savepoints or counts failed, failing every instance of it:
// which of its rows would have been kept is not known.
func abort(tx *sql.Tx, batch []*PendingInstance, err error) {
	_ = ignoreDone(tx.Rollback()) // the error that matters is err
	failAll(batch, fmt.Errorf("queries: recording the batch: %w", err))
}

// sortByStudy orders a batch by Study Instance UID: taking study rows in one order keeps two
// replicas' batches from deadlocking on PostgreSQL. The sort is stable, so the instances of a study
// keep the order they were queued in, and every instance sorts with the first one queued under its
// SOP Instance UID, so that an instance sent twice, even under two studies, is recorded in the order
// sent (with --on-duplicate=overwrite the last one sent is kept).
func sortByStudy(batch []*PendingInstance) {
	first := make(map[string]string, len(batch)) // SOP Instance UID → study of its first queueing
	for _, p := range batch {
		if _, ok := first[p.in.Instance.SOPInstanceUID]; !ok {
			first[p.in.Instance.SOPInstanceUID] = p.in.Study.StudyInstanceUID
		}
	}
	slices.SortStableFunc(batch, func(a, b *PendingInstance) int {
		return cmp.Compare(first[a.in.Instance.SOPInstanceUID], first[b.in.Instance.SOPInstanceUID])
	})
}

// failAll gives every instance of batch the error err.
func failAll(batch []*PendingInstance, err error) {
	for _, p := range batch {
		p.replaced, p.err = "", err
	}
}
