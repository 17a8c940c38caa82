package queries_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/medimg/medimg/migrations"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
)

// A study delete waits for a transaction that holds the study row lock (a store or an overwrite
// into the study) and then returns the blob keys as that transaction left them: none is orphaned.
func TestDeleteStudyTakesTheStudyLock(t *testing.T) {
	querytest.ForEachEngine(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, err := queries.Open(ctx, dsn, migrations.For)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		mustAdd(t, s, instance("1.40", "1.40.1", "1.40.1.1", "CT"))

		raw := openRaw(t, dsn)
		tx, err := raw.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		// What AddInstance and an overwrite do: lock the study row, then change its instances.
		for _, stmt := range []string{
			`UPDATE studies SET updated_at = updated_at WHERE study_uid = '1.40'`,
			`UPDATE instances SET blob_key = 'blobs/swapped' WHERE sop_instance_uid = '1.40.1.1'`,
		} {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		type result struct {
			keys []string
			err  error
		}
		done := make(chan result, 1)
		go func() {
			keys, err := s.DeleteStudy(ctx, "1.40")
			done <- result{keys, err}
		}()
		select {
		case r := <-done:
			t.Fatalf("DeleteStudy did not wait for the study lock: %q %v", r.keys, r.err)
		case <-time.After(300 * time.Millisecond):
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil {
			t.Fatalf("DeleteStudy: %v", r.err)
		}
		if diff := cmp.Diff([]string{"blobs/swapped"}, r.keys); diff != "" {
			t.Errorf("blob keys (-want +got):\n%s", diff)
		}
	})
}

// openRaw opens a second connection to the test database, outside the Store.
func openRaw(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	driver, source := "pgx", dsn
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		driver, source = "sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_time_format=sqlite"
	}
	db, err := sql.Open(driver, source)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
