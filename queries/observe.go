package queries

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"
	"time"
)

// Option configures Open.
type Option func(*options)

type options struct{ observe QueryObserver }

// QueryObserver is told how long each database call took: query is the name of the generated
// query ("GetStudy"), or for SQL built at run time its first keyword ("select"), or "begin",
// "commit", "rollback" — a bounded set, never the SQL or its arguments.
type QueryObserver func(query string, d time.Duration, err error)

// WithQueryObserver times every statement, transaction start, commit and rollback on every
// connection of the store, prepared or not: the driver is wrapped, so no query can be missed.
func WithQueryObserver(fn QueryObserver) Option { return func(o *options) { o.observe = fn } }

// openDB opens a pool on driverName, its connections wrapped by the observer when there is one.
func openDB(driverName, dsn string, observe QueryObserver) (*sql.DB, error) {
	if observe == nil {
		return sql.Open(driverName, dsn)
	}
	probe, err := sql.Open(driverName, dsn) // only to find the registered driver
	if err != nil {
		return nil, err
	}
	drv := probe.Driver()
	probe.Close()
	var connector driver.Connector = dsnConnector{drv, dsn}
	if dc, ok := drv.(driver.DriverContext); ok {
		if connector, err = dc.OpenConnector(dsn); err != nil {
			return nil, err
		}
	}
	return sql.OpenDB(observedConnector{connector, observe}), nil
}

// dsnConnector is the connector of a driver without its own.
type dsnConnector struct {
	drv driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.drv }

type observedConnector struct {
	driver.Connector
	observe QueryObserver
}

func (c observedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &observedConn{conn, c.observe}, nil
}

// queryName is the label of a statement: sqlc puts "-- name: GetStudy :one" first in the SQL of
// each generated query; other SQL is named by its first keyword.
func queryName(query string) string {
	query = strings.TrimSpace(query)
	if rest, ok := strings.CutPrefix(query, "-- name: "); ok {
		if name, _, ok := strings.Cut(rest, " "); ok {
			return name
		}
	}
	word, _, _ := strings.Cut(query, " ")
	switch word = strings.ToLower(strings.TrimSpace(word)); word {
	case "select", "insert", "update", "delete", "with", "pragma", "analyze":
		return word
	}
	return "other"
}

// observedConn passes every call to the driver's connection, timing the ones that run SQL. Where
// the driver lacks an optional interface it answers as database/sql does without it (ErrSkip:
// fall back), so wrapping changes nothing but the timing.
type observedConn struct {
	conn    driver.Conn
	observe QueryObserver
}

func (c *observedConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *observedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var stmt driver.Stmt
	var err error
	if p, ok := c.conn.(driver.ConnPrepareContext); ok {
		stmt, err = p.PrepareContext(ctx, query)
	} else {
		stmt, err = c.conn.Prepare(query) //nolint:staticcheck // the driver has no PrepareContext
	}
	if err != nil {
		return nil, err
	}
	return &observedStmt{stmt: stmt, conn: c, name: queryName(query)}, nil
}

func (c *observedConn) Close() error { return c.conn.Close() }

func (c *observedConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *observedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	begin := time.Now()
	var tx driver.Tx
	var err error
	if b, ok := c.conn.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else {
		tx, err = c.conn.Begin() //nolint:staticcheck // the driver has no BeginTx
	}
	c.observe("begin", time.Since(begin), err)
	if err != nil {
		return nil, err
	}
	return observedTx{tx, c.observe}, nil
}

func (c *observedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	begin := time.Now()
	rows, err := q.QueryContext(ctx, query, args)
	if err != driver.ErrSkip {
		c.observe(queryName(query), time.Since(begin), err)
	}
	return rows, err
}

func (c *observedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	begin := time.Now()
	res, err := e.ExecContext(ctx, query, args)
	if err != driver.ErrSkip {
		c.observe(queryName(query), time.Since(begin), err)
	}
	return res, err
}

func (c *observedConn) Ping(ctx context.Context) error {
	if p, ok := c.conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *observedConn) ResetSession(ctx context.Context) error {
	if r, ok := c.conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *observedConn) IsValid() bool {
	if v, ok := c.conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *observedConn) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := c.conn.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

type observedTx struct {
	tx      driver.Tx
	observe QueryObserver
}

func (t observedTx) Commit() error {
	begin := time.Now()
	err := t.tx.Commit()
	t.observe("commit", time.Since(begin), err)
	return err
}

func (t observedTx) Rollback() error {
	begin := time.Now()
	err := t.tx.Rollback()
	t.observe("rollback", time.Since(begin), err)
	return err
}

type observedStmt struct {
	stmt driver.Stmt
	conn *observedConn
	name string
}

func (s *observedStmt) Close() error  { return s.stmt.Close() }
func (s *observedStmt) NumInput() int { return s.stmt.NumInput() }

func (s *observedStmt) Exec(args []driver.Value) (driver.Result, error) {
	begin := time.Now()
	res, err := s.stmt.Exec(args) //nolint:staticcheck // called only by database/sql for drivers without ExecContext
	s.conn.observe(s.name, time.Since(begin), err)
	return res, err
}

func (s *observedStmt) Query(args []driver.Value) (driver.Rows, error) {
	begin := time.Now()
	rows, err := s.stmt.Query(args) //nolint:staticcheck // as Exec
	s.conn.observe(s.name, time.Since(begin), err)
	return rows, err
}

func (s *observedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	e, ok := s.stmt.(driver.StmtExecContext)
	if !ok {
		return s.Exec(namedToValues(args))
	}
	begin := time.Now()
	res, err := e.ExecContext(ctx, args)
	s.conn.observe(s.name, time.Since(begin), err)
	return res, err
}

func (s *observedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := s.stmt.(driver.StmtQueryContext)
	if !ok {
		return s.Query(namedToValues(args))
	}
	begin := time.Now()
	rows, err := q.QueryContext(ctx, args)
	s.conn.observe(s.name, time.Since(begin), err)
	return rows, err
}

// CheckNamedValue asks the statement, then the connection, as database/sql would.
func (s *observedStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := s.stmt.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return s.conn.CheckNamedValue(nv)
}

func namedToValues(named []driver.NamedValue) []driver.Value {
	out := make([]driver.Value, len(named))
	for i, nv := range named {
		out[i] = nv.Value
	}
	return out
}
