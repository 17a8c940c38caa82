package queries

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/medimg/medimg/queries/internal/sqlcdb"
)

// User is a local account (--auth local).
type User struct {
	ID           int64
	Username     string // as given; unique without regard to case
	Email        string // "" when none
	Role         string // "sender", "reader", "editor" or "admin"
	Active       bool
	PasswordHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// NewUser is an account to create. Email "" means none. The caller validates the values; the
// database only refuses a role outside the four.
type NewUser struct {
	Username, Email, Role, PasswordHash string
}

// UserChange is a change to an account: nil fields are left as they are, and Email pointing at ""
// removes the email.
type UserChange struct {
	Email        *string
	Role         *string
	Active       *bool
	PasswordHash *string
}

const adminRole = "admin"

// CreateUser creates an active account. A username or email already used by another account,
// in any case, is ErrUsernameTaken or ErrEmailTaken.
func (s *Store) CreateUser(ctx context.Context, u NewUser) (User, error) {
	row, err := s.writeQ.InsertUser(ctx, insertUserParams(u, time.Now()))
	if err != nil {
		return User{}, takenErr(err, u.Username, u.Email)
	}
	return userFromRow(row), nil
}

// firstAdminAttempts bounds CreateFirstAdmin's retries: an attempt after a serialization failure
// sees the account that won, so the second one ends it in practice.
const firstAdminAttempts = 5

// CreateFirstAdmin creates u as an admin, whatever u.Role says, only when there is no account at
// all: the bootstrap admin of a new installation. created is false when any account exists. Any
// number of processes may call it at once: one creates its account, the others get false.
func (s *Store) CreateFirstAdmin(ctx context.Context, u NewUser) (created bool, err error) {
	u.Role = adminRole
	for range firstAdminAttempts {
		created, err = s.insertFirstAdmin(ctx, u)
		if !serializationFailure(err) {
			break
		}
	}
	return created, err
}

// insertFirstAdmin runs InsertFirstAdmin at SERIALIZABLE: at READ COMMITTED two PostgreSQL
// transactions could both find the table empty and insert two admins of different names, where
// SSI fails one of them. (SQLite ignores the level: its one writer is serializable already.)
func (s *Store) insertFirstAdmin(ctx context.Context, u NewUser) (bool, error) {
	tx, err := s.write.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
	if err != nil {
		return false, fmt.Errorf("queries: begin: %w", err)
	}
	defer tx.Rollback() // after Commit, a no-op
	p := sqlcdb.InsertFirstAdminParams(insertUserParams(u, time.Now()))
	if _, err := s.writeQ.WithTx(tx).InsertFirstAdmin(ctx, p); errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("queries: first admin %q: %w", u.Username, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("queries: first admin %q: commit: %w", u.Username, err)
	}
	return true, nil
}

// GetUser returns an account by id.
func (s *Store) GetUser(ctx context.Context, id int64) (User, error) {
	row, err := s.reader().GetUser(ctx, id)
	if err != nil {
		return User{}, notFound(err, "user %d", id)
	}
	return userFromRow(row), nil
}

// GetUserByUsername returns an account by username, without regard to case.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (User, error) {
	row, err := s.reader().GetUserByUsername(ctx, fold(username))
	if err != nil {
		return User{}, notFound(err, "user %q", username)
	}
	return userFromRow(row), nil
}

// ListUsers returns a page of accounts in the order of creation; limit ≤ 0 means all.
func (s *Store) ListUsers(ctx context.Context, limit, offset int) ([]User, error) {
	rows, err := s.reader().ListUsers(ctx, sqlcdb.ListUsersParams{MaxRows: pageLimit(limit), Skip: int64(max(offset, 0))})
	if err != nil {
		return nil, fmt.Errorf("queries: list users: %w", err)
	}
	users := make([]User, 0, len(rows))
	for _, r := range rows {
		users = append(users, userFromRow(r))
	}
	return users, nil
}

// CountUsers returns how many accounts exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	n, err := s.reader().CountUsers(ctx)
	if err != nil {
		return 0, fmt.Errorf("queries: count users: %w", err)
	}
	return int(n), nil
}

// UpdateUser applies c in one transaction and bumps updated_at. A change that would leave no active
// admin changes nothing and is ErrLastAdmin. A new password or a deactivation ends the account's
// sessions (its session tokens go; device tokens, made to be long-lived, stay).
func (s *Store) UpdateUser(ctx context.Context, id int64, c UserChange) (User, error) {
	var row sqlcdb.User
	err := s.inTx(ctx, func(q *sqlcdb.Queries) error {
		return keepAnAdmin(ctx, q, id, func(old sqlcdb.User) error {
			p := applyChange(old, c, time.Now())
			var err error
			if row, err = q.SetUser(ctx, p); err != nil {
				return takenErr(err, old.Username, p.Email.String)
			}
			if c.PasswordHash == nil && (c.Active == nil || *c.Active) {
				return nil
			}
			if err := q.DeleteSessionTokens(ctx, id); err != nil {
				return fmt.Errorf("queries: user %d: end sessions: %w", id, err)
			}
			return nil
		})
	})
	if err != nil {
		return User{}, err
	}
	return userFromRow(row), nil
}

// RehashPassword replaces the password hash only while it is still oldHash: a sign-in upgrading
// the hashing parameters must not undo a password change made meanwhile (then, as for a deleted
// account, it does nothing and returns nil). Sessions and updated_at are left alone: the
// password is the same.
func (s *Store) RehashPassword(ctx context.Context, id int64, oldHash, newHash string) error {
	err := s.writeQ.RehashPassword(ctx, sqlcdb.RehashPasswordParams{ID: id, OldHash: oldHash, NewHash: newHash})
	if err != nil {
		return fmt.Errorf("queries: user %d: rehash password: %w", id, err)
	}
	return nil
}

// DeleteUser removes an account with its tokens. The last active admin is ErrLastAdmin.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	return s.inTx(ctx, func(q *sqlcdb.Queries) error {
		return keepAnAdmin(ctx, q, id, func(sqlcdb.User) error {
			if err := q.DeleteUser(ctx, id); err != nil {
				return fmt.Errorf("queries: delete user %d: %w", id, err)
			}
			return nil
		})
	})
}

// keepAnAdmin runs change on account id, within the caller's transaction, and fails it with
// ErrLastAdmin when the account was an active admin and none is left afterwards. It first locks
// every active admin row and then the account's: two transactions that each remove a different
// admin then run one after the other on PostgreSQL too, and the second counts what the first left.
func keepAnAdmin(ctx context.Context, q *sqlcdb.Queries, id int64, change func(old sqlcdb.User) error) error {
	if err := q.LockActiveAdmins(ctx); err != nil {
		return fmt.Errorf("queries: lock admins: %w", err)
	}
	old, err := q.LockUser(ctx, id)
	if err != nil {
		return notFound(err, "user %d", id)
	}
	if err := change(old); err != nil {
		return err
	}
	if old.Role != adminRole || !old.Active {
		return nil
	}
	n, err := q.CountActiveAdmins(ctx)
	if err != nil {
		return fmt.Errorf("queries: count admins: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("queries: user %d: %w", id, ErrLastAdmin)
	}
	return nil
}

// takenErr maps a unique violation of either engine to ErrUsernameTaken or ErrEmailTaken. The
// constraint decides, not a look-up before the write, so that a concurrent taker is caught the
// same way as an old one.
func takenErr(err error, username, email string) error {
	switch {
	case err == nil:
		return nil
	case uniqueViolation(err, "username_ci"):
		return fmt.Errorf("queries: user %q: %w", username, ErrUsernameTaken)
	case uniqueViolation(err, "email_ci"):
		return fmt.Errorf("queries: email %q: %w", email, ErrEmailTaken)
	}
	return fmt.Errorf("queries: user %q: %w", username, err)
}

func insertUserParams(u NewUser, now time.Time) sqlcdb.InsertUserParams {
	return sqlcdb.InsertUserParams{
		Username: u.Username, UsernameCi: fold(u.Username),
		Email: nullString(u.Email), EmailCi: nullString(fold(u.Email)),
		Role: u.Role, PasswordHash: u.PasswordHash, CreatedAt: now.UnixMilli(),
	}
}

func applyChange(old sqlcdb.User, c UserChange, now time.Time) sqlcdb.SetUserParams {
	p := sqlcdb.SetUserParams{
		ID: old.ID, Email: old.Email, EmailCi: old.EmailCi, Role: old.Role, Active: old.Active,
		PasswordHash: old.PasswordHash, UpdatedAt: now.UnixMilli(),
	}
	if c.Email != nil {
		p.Email, p.EmailCi = nullString(*c.Email), nullString(fold(*c.Email))
	}
	if c.Role != nil {
		p.Role = *c.Role
	}
	if c.Active != nil {
		p.Active = *c.Active
	}
	if c.PasswordHash != nil {
		p.PasswordHash = *c.PasswordHash
	}
	return p
}

func userFromRow(r sqlcdb.User) User {
	return User{
		ID: r.ID, Username: r.Username, Email: r.Email.String, Role: r.Role, Active: r.Active,
		PasswordHash: r.PasswordHash, CreatedAt: fromMillis(r.CreatedAt), UpdatedAt: fromMillis(r.UpdatedAt),
	}
}

// nullString stores "" as NULL: UNIQUE allows any number of NULLs, not of "".
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// fromMillis is the domain's time of a stored Unix millisecond count.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// pageLimit maps "no limit" (≤ 0) to a LIMIT both engines accept.
func pageLimit(limit int) int64 {
	if limit <= 0 {
		return math.MaxInt64
	}
	return int64(limit)
}

// PostgreSQL's SQLSTATEs that the store handles.
const (
	pgUniqueViolation      = "23505"
	pgForeignKeyViolation  = "23503"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
)

// uniqueViolation reports whether err is a unique violation on column, from either driver:
// PostgreSQL names the constraint (users_email_ci_key), SQLite the column (users.email_ci).
func uniqueViolation(err error, column string) bool {
	if pg := (*pgconn.PgError)(nil); errors.As(err, &pg) {
		return pg.Code == pgUniqueViolation && strings.Contains(pg.ConstraintName, column)
	}
	lite := (*sqlite.Error)(nil)
	return errors.As(err, &lite) && lite.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE &&
		strings.Contains(lite.Error(), "."+column)
}

// foreignKeyViolation reports whether err is a foreign key violation, from either driver.
func foreignKeyViolation(err error) bool {
	if pg := (*pgconn.PgError)(nil); errors.As(err, &pg) {
		return pg.Code == pgForeignKeyViolation
	}
	lite := (*sqlite.Error)(nil)
	return errors.As(err, &lite) && lite.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// serializationFailure reports whether PostgreSQL aborted a transaction that a retry can redo.
func serializationFailure(err error) bool {
	pg := (*pgconn.PgError)(nil)
	return errors.As(err, &pg) && (pg.Code == pgSerializationFailure || pg.Code == pgDeadlockDetected)
}
