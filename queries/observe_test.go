package queries

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestQueryObserverSeesEveryCall drives a pool opened with an observer on a real SQLite file and,
// when MEDIMG_TEST_POSTGRES_URL is set, on PostgreSQL: plain and prepared statements, a failing
// one, and a transaction's begin and commit and rollback are each reported once, under their name.
func TestQueryObserverSeesEveryCall(t *testing.T) {
	engines := map[string]string{"sqlite": filepath.Join(t.TempDir(), "observe.db")}
	if u := os.Getenv("MEDIMG_TEST_POSTGRES_URL"); u != "" {
		engines["pgx"] = u
	}
	for driver, dsn := range engines {
		t.Run(driver, func(t *testing.T) {
			var mu sync.Mutex
			var seen []string
			failed := map[string]bool{}
			db, err := openDB(driver, dsn, func(query string, d time.Duration, err error) {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, query)
				failed[query] = failed[query] || err != nil
				if d <= 0 {
					t.Errorf("%s took %v", query, d)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			if _, err := db.ExecContext(ctx, "-- name: Plain :exec\nSELECT 1"); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, "SELEC 1"); err == nil {
				t.Fatal("a syntax error ran")
			}
			stmt, err := db.PrepareContext(ctx, "-- name: Prepared :one\nSELECT $1 + 1")
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			if err := stmt.QueryRowContext(ctx, int64(41)).Scan(&n); err != nil || n != 42 {
				t.Fatalf("prepared statement: %d, %v", n, err)
			}
			stmt.Close()
			for _, commit := range []bool{true, false} {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tx.ExecContext(ctx, "select 2"); err != nil {
					t.Fatal(err)
				}
				if commit {
					err = tx.Commit()
				} else {
					err = tx.Rollback()
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for _, want := range []string{"Plain", "other", "Prepared", "begin", "select", "commit", "rollback"} {
				if !slices.Contains(seen, want) {
					t.Errorf("%s not observed; observed %q", want, seen)
				}
			}
			if !failed["other"] || failed["Plain"] || failed["Prepared"] || failed["commit"] {
				t.Errorf("errors observed for %v, want only the syntax error (other)", failed)
			}
		})
	}
}

func TestQueryName(t *testing.T) {
	for sql, want := range map[string]string{
		"-- name: GetStudy :one\nSELECT 1":    "GetStudy",
		"  SELECT st.pk FROM studies st":      "select",
		"WITH page AS (SELECT 1) SELECT 1":    "with",
		"INSERT INTO audit VALUES ($1)":       "insert",
		"VACUUM ANALYZE":                      "other",
		"SELECT * FROM t WHERE patient = 'x'": "select",
	} {
		if got := queryName(sql); got != want {
			t.Errorf("queryName(%q) = %q, want %q", sql, got, want)
		}
	}
}
