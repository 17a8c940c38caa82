package queries

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// SQLite's own checkpoints run in the connection that commits, once the WAL holds
// wal_autocheckpoint pages: the leader of a group commit (addQueue) would stop to copy the WAL
// into the database and fsync both, and every store queued behind it would wait. The write
// connection's threshold is therefore raised to sqliteAutoCheckpoint pages, a backstop only, and a
// checkpointer copies the WAL on its own connection after commits, while writers go on (PASSIVE:
// it never waits for a reader or the writer).
const (
	sqliteAutoCheckpoint = 10000 // pages (40 MB): reached only if the checkpointer falls behind
	checkpointPause      = 100 * time.Millisecond
)

// checkpointer runs PASSIVE WAL checkpoints on its own connection when kicked, at most one per
// checkpointPause.
type checkpointer struct {
	db    *sql.DB
	kicks chan struct{}
	stop  chan struct{}
	done  chan struct{}
	runs  atomic.Int64 // checkpoints run, for tests

	closeOnce sync.Once
}

func newCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, kicks: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

// kick asks for a checkpoint after a commit; it never blocks.
func (c *checkpointer) kick() {
	select {
	case c.kicks <- struct{}{}:
	default:
	}
}

func (c *checkpointer) loop() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		case <-c.kicks:
		}
		// A failed checkpoint loses nothing (the WAL keeps the pages): the next kick tries again,
		// and the write connection's own threshold remains.
		_, _ = c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
		c.runs.Add(1)
		select {
		case <-c.stop:
			return
		case <-time.After(checkpointPause):
		}
	}
}

// close stops the loop and closes its connection; a second call does nothing, as Store.Close.
func (c *checkpointer) close() error {
	c.closeOnce.Do(func() { close(c.stop) })
	<-c.done
	return c.db.Close()
}
