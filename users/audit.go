package users

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/medimg/medimg/queries"
)

// Audit actions.
const (
	ActionSignIn       = "sign-in"
	ActionSignInFailed = "sign-in-failed"
	ActionSignOut      = "sign-out"
	ActionStore        = "store"
	ActionSearch       = "search"
	ActionRetrieve     = "retrieve"
	ActionDelete       = "delete"
	ActionUserCreated  = "user-created"
	ActionUserChanged  = "user-changed"
	ActionUserDeleted  = "user-deleted"
	ActionTokenCreated = "token-created"
	ActionTokenRevoked = "token-revoked"
)

// Actions lists every audit action, for validating the filter of GET /audit.
var Actions = []string{ActionSignIn, ActionSignInFailed, ActionSignOut, ActionStore, ActionSearch,
	ActionRetrieve, ActionDelete, ActionUserCreated, ActionUserChanged, ActionUserDeleted,
	ActionTokenCreated, ActionTokenRevoked}

// How the audit writer batches: records are written by one goroutine in one transaction per
// batch, at most flushEvery after they were made, so the data path only pays a channel send.
const (
	auditBuffer     = 8192
	auditBatch      = 512
	auditFlushEvery = 200 * time.Millisecond
	// auditBlockFor is how long a request waits for room when the database falls behind, before
	// its record is dropped (logged and counted): the audit trail slows requests down before it
	// loses anything.
	auditBlockFor = 5 * time.Second
)

// auditLog is the append-only audit trail's writer. A record is durable once its batch commits
// (within auditFlushEvery); records still buffered when the process is killed (not on SIGTERM,
// which flushes) are lost.
type auditLog struct {
	store   *queries.Store
	log     *slog.Logger
	metrics *authMetrics
	records chan queries.AuditRecord
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

func newAuditLog(store *queries.Store, log *slog.Logger, m *authMetrics) *auditLog {
	a := &auditLog{
		store: store, log: log, metrics: m,
		records: make(chan queries.AuditRecord, auditBuffer),
		stop:    make(chan struct{}), done: make(chan struct{}),
	}
	go a.run()
	return a
}

// record queues r for writing.
func (a *auditLog) record(r queries.AuditRecord) {
	select {
	case a.records <- r:
		return
	default:
	}
	t := time.NewTimer(auditBlockFor)
	defer t.Stop()
	select {
	case a.records <- r:
	case <-t.C:
		a.metrics.audit.WithLabelValues("dropped").Inc()
		a.log.Error("audit record dropped: the database is not keeping up", "action", r.Action, "user", r.Username, "request_id", r.RequestID)
	}
}

func (a *auditLog) run() {
	defer close(a.done)
	tick := time.NewTicker(auditFlushEvery)
	defer tick.Stop()
	batch := make([]queries.AuditRecord, 0, auditBatch)
	for {
		select {
		case r := <-a.records:
			if batch = append(batch, r); len(batch) >= auditBatch {
				batch = a.flush(batch)
			}
		case <-tick.C:
			batch = a.flush(batch)
		case <-a.stop:
			for {
				select {
				case r := <-a.records:
					batch = append(batch, r)
				default:
					a.flush(batch)
					return
				}
			}
		}
	}
}

// flush writes a batch; on failure it is retried with the next flush, unless the buffer is full.
func (a *auditLog) flush(batch []queries.AuditRecord) []queries.AuditRecord {
	if len(batch) == 0 {
		return batch
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.store.AppendAudit(ctx, batch); err != nil {
		a.log.Error("writing audit records failed; retrying", "records", len(batch), "err", err)
		if len(batch) < auditBuffer {
			return batch
		}
		a.metrics.audit.WithLabelValues("dropped").Add(float64(len(batch)))
	} else {
		a.metrics.audit.WithLabelValues("written").Add(float64(len(batch)))
	}
	return batch[:0]
}

// close writes what is buffered and stops the writer; call it after the HTTP server has finished
// its requests.
func (a *auditLog) close(ctx context.Context) {
	a.once.Do(func() { close(a.stop) })
	select {
	case <-a.done:
	case <-ctx.Done():
		a.log.Error("audit records may be lost: shutting down before they were written", "err", ctx.Err())
	}
}
