package queries_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/medimg/medimg/migrations"
	"github.com/medimg/medimg/queries"
)

// TestSQLiteCheckpointsOffTheCommitPath stores instances on SQLite and checks that their pages
// reach the database file through the checkpointer, while the write connection's own threshold
// (40 MB of WAL) is far from reached: commits no longer stop to checkpoint.
func TestSQLiteCheckpointsOffTheCommitPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "medimg.db")
	s, err := queries.Open(context.Background(), "sqlite:"+path, migrations.For)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before, runs := size(path), queries.Checkpoints(s)
	for i := range 300 {
		mustAdd(t, s, instance("3.1", "3.1.1", fmt.Sprintf("3.1.1.%d", i+1), "CT"))
	}
	t.Logf("db %d → %d, wal %d", before, size(path), size(path+"-wal"))
	if wal := size(path + "-wal"); wal >= 40<<20 {
		t.Fatalf("WAL of %d bytes: the test no longer stays under the write connection's threshold", wal)
	}
	deadline := time.Now().Add(10 * time.Second)
	for size(path) <= before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := size(path); got <= before {
		t.Errorf("database file still %d bytes after 300 instances: the WAL was not checkpointed", got)
	}
	if queries.Checkpoints(s) == runs {
		t.Error("the checkpointer never ran")
	}
}
