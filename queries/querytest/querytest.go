// Package querytest gives tests a fresh, migrated database on every engine: a SQLite file in a
// temporary directory, and a new database on a real PostgreSQL server (never a mock).
//
// PostgreSQL comes from MEDIMG_TEST_POSTGRES_URL (a role that may CREATE DATABASE); without it,
// from a testcontainers-go container when a Docker engine is reachable; otherwise the PostgreSQL
// half is skipped with a message naming the variable, except under CI=true, where it fails.
package querytest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for creating test databases
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/medimg/medimg/migrations"
	"github.com/medimg/medimg/queries"
)

// EnvPostgresURL names the variable holding the PostgreSQL server for tests.
const EnvPostgresURL = "MEDIMG_TEST_POSTGRES_URL"

// Engines lists the engines every store test runs on.
var Engines = []string{queries.SQLite, queries.Postgres}

// ForEachEngine runs fn as a subtest per engine, each with a DSN of its own fresh database.
func ForEachEngine(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	for _, engine := range Engines {
		t.Run(engine, func(t *testing.T) {
			fn(t, DSN(t, engine))
		})
	}
}

// DSN returns the DSN of a fresh, empty database of engine, removed when the test ends.
func DSN(t testing.TB, engine string) string {
	t.Helper()
	if engine == queries.SQLite {
		return "sqlite:" + filepath.Join(t.TempDir(), "medimg.db")
	}
	return newPostgresDatabase(t)
}

// Open returns a migrated Store on a fresh database of engine, closed when the test ends.
func Open(t testing.TB, engine string) *queries.Store {
	t.Helper()
	s, err := queries.Open(context.Background(), DSN(t, engine), migrations.For)
	if err != nil {
		t.Fatalf("open %s store: %v", engine, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newPostgresDatabase(t testing.TB) string {
	t.Helper()
	server := postgresServer(t)
	admin, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	name := "medimg_test_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("postgres: create test database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", server)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, _ := url.Parse(server)
	u.Path = "/" + name
	return u.String()
}

var (
	containerOnce sync.Once
	containerURL  string
	containerErr  error
)

// postgresServer returns the URL of a server where tests may create databases.
func postgresServer(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(EnvPostgresURL); u != "" {
		return u
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s is not set: the PostgreSQL store tests must run in CI (.ci/run sets it)", EnvPostgresURL)
	}
	containerOnce.Do(func() { containerURL, containerErr = startContainer() })
	if containerErr != nil {
		t.Skipf("PostgreSQL tests skipped: set %s=postgres://user:pass@127.0.0.1:5432/db?sslmode=disable (a role with CREATEDB), or run a Docker engine for testcontainers (%v)", EnvPostgresURL, containerErr)
	}
	return containerURL
}

// startContainer starts one PostgreSQL container for the whole test binary; testcontainers' reaper
// removes it when the process exits.
func startContainer() (u string, err error) {
	defer func() {
		// testcontainers panics on some hosts without Docker; that is "no Docker" too.
		if r := recover(); r != nil {
			u, err = "", errNoDocker{r}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := tcpostgres.Run(ctx, "postgres:15-alpine",
		tcpostgres.WithDatabase("medimg"), tcpostgres.WithUsername("medimg"), tcpostgres.WithPassword("medimg"),
		testcontainers.WithWaitStrategy(wait.ForLog("database system is ready to accept connections").WithOccurrence(2)))
	if err != nil {
		return "", err
	}
	return c.ConnectionString(ctx, "sslmode=disable")
}

type errNoDocker struct{ v any }

func (e errNoDocker) Error() string { return "no Docker engine" }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// OpenKept returns a migrated Store on a database named name that outlives the test, so that a
// benchmark can load a large archive once and search it in later runs: a SQLite file in the
// system's temporary directory, or a database of that name on the PostgreSQL server (created when
// missing). Load only what is not there yet; remove it by hand (rm, DROP DATABASE) when done.
func OpenKept(t testing.TB, engine, name string) *queries.Store {
	t.Helper()
	dsn := "sqlite:" + filepath.Join(os.TempDir(), name+".db")
	if engine == queries.Postgres {
		server := postgresServer(t)
		admin, err := sql.Open("pgx", server)
		if err != nil {
			t.Fatalf("postgres: %v", err)
		}
		defer admin.Close()
		var exists bool
		if err := admin.QueryRow("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
			t.Fatalf("postgres: %v", err)
		}
		if !exists {
			if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
				t.Fatalf("postgres: create database %s: %v", name, err)
			}
		}
		u, _ := url.Parse(server)
		u.Path = "/" + name
		dsn = u.String()
	}
	s, err := queries.Open(context.Background(), dsn, migrations.For)
	if err != nil {
		t.Fatalf("open %s store: %v", engine, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
