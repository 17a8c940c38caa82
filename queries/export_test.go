package queries

import (
	"context"
	"database/sql"
)

// EachBlobPaged is EachBlob with a page size of the test's choosing, so that a few rows cross
// several pages.
func EachBlobPaged(ctx context.Context, s *Store, page int, fn func(Blob) error) error {
	return s.eachBlob(ctx, page, fn)
}

// Checkpoints is how many checkpoints s's checkpointer has run (always 0 on PostgreSQL).
func Checkpoints(s *Store) int64 {
	if s.checkpoints == nil {
		return 0
	}
	return s.checkpoints.runs.Load()
}

// SetAddHook makes fn run before each queued instance is recorded, until the test ends.
func SetAddHook(t interface{ Cleanup(func()) }, fn func(NewInstance)) {
	testHookAdd = fn
	t.Cleanup(func() { testHookAdd = nil })
}

// ReadPool is the pool s reads through (the shared pool on PostgreSQL).
func ReadPool(s *Store) *sql.DB { return s.read }

// MigrateTo migrates the database of dsn, up or down, to version.
func MigrateTo(dsn string, migrations Migrations, version uint) error {
	engine, driverDSN, err := parseDSN(dsn)
	if err != nil {
		return err
	}
	m, err := newMigrate(engine, driverDSN, migrations)
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Migrate(version)
}

// ExecWrite runs a statement on s's write connection: for tests that change the schema under it.
func ExecWrite(s *Store, query string) error {
	_, err := s.write.Exec(query)
	return err
}
