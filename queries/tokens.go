package queries

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/medimg/medimg/queries/internal/sqlcdb"
)

// Token is a bearer token of an account. Only the hash of its secret is stored, and never returned.
type Token struct {
	ID         int64
	UserID     int64
	Kind       string // "session" or "device"
	Name       string
	CreatedAt  time.Time
	ExpiresAt  *time.Time // nil: never
	LastUsedAt *time.Time // nil: never used
}

// NewToken is a token to store. Hash is the hex SHA-256 of the secret, computed by the caller.
type NewToken struct {
	UserID           int64
	Kind, Name, Hash string
	ExpiresAt        *time.Time
}

// CreateToken stores a token; an unknown account is ErrNotFound.
func (s *Store) CreateToken(ctx context.Context, t NewToken) (Token, error) {
	row, err := s.writeQ.InsertToken(ctx, sqlcdb.InsertTokenParams{
		UserID: t.UserID, Kind: t.Kind, Name: t.Name, Hash: t.Hash,
		CreatedAt: time.Now().UnixMilli(), ExpiresAt: nullMillis(t.ExpiresAt),
	})
	if foreignKeyViolation(err) {
		return Token{}, fmt.Errorf("queries: token for user %d: %w", t.UserID, ErrNotFound)
	}
	if err != nil {
		return Token{}, fmt.Errorf("queries: token for user %d: %w", t.UserID, err)
	}
	return tokenFromRow(row), nil
}

// TokenByHash returns a token with its account in one query. It checks neither expiry nor whether
// the account is active: the caller tells those apart.
func (s *Store) TokenByHash(ctx context.Context, hash string) (Token, User, error) {
	row, err := s.reader().TokenByHash(ctx, hash)
	if err != nil {
		return Token{}, User{}, notFound(err, "token")
	}
	return tokenFromRow(row.Token), userFromRow(row.User), nil
}

// TouchToken records that a token was used at at.
func (s *Store) TouchToken(ctx context.Context, id int64, at time.Time) error {
	n, err := s.writeQ.TouchToken(ctx, sqlcdb.TouchTokenParams{ID: id, At: at.UnixMilli()})
	return affected(n, err, "token %d", id)
}

// ListTokens returns an account's tokens of a kind ("" for all) in the order of creation.
func (s *Store) ListTokens(ctx context.Context, userID int64, kind string) ([]Token, error) {
	rows, err := s.reader().ListTokens(ctx, sqlcdb.ListTokensParams{UserID: userID, Kind: kind})
	if err != nil {
		return nil, fmt.Errorf("queries: tokens of user %d: %w", userID, err)
	}
	tokens := make([]Token, 0, len(rows))
	for _, r := range rows {
		tokens = append(tokens, tokenFromRow(r))
	}
	return tokens, nil
}

// DeleteToken revokes a token of an account; a token of another account is ErrNotFound, so that
// a user can revoke only their own.
func (s *Store) DeleteToken(ctx context.Context, userID, tokenID int64) error {
	n, err := s.writeQ.DeleteToken(ctx, sqlcdb.DeleteTokenParams{ID: tokenID, UserID: userID})
	return affected(n, err, "token %d of user %d", tokenID, userID)
}

// DeleteTokenByHash revokes the token presented (sign-out).
func (s *Store) DeleteTokenByHash(ctx context.Context, hash string) error {
	n, err := s.writeQ.DeleteTokenByHash(ctx, hash)
	return affected(n, err, "token")
}

// DeleteSessionTokens ends all sessions of an account; its device tokens stay.
func (s *Store) DeleteSessionTokens(ctx context.Context, userID int64) error {
	if err := s.writeQ.DeleteSessionTokens(ctx, userID); err != nil {
		return fmt.Errorf("queries: sessions of user %d: %w", userID, err)
	}
	return nil
}

// DeleteExpiredTokens removes the tokens that expired at or before now and returns how many.
func (s *Store) DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.writeQ.DeleteExpiredTokens(ctx, now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("queries: delete expired tokens: %w", err)
	}
	return n, nil
}

// affected maps the result of a statement on one row: no row is ErrNotFound.
func affected(n int64, err error, format string, args ...any) error {
	switch {
	case err != nil:
		return fmt.Errorf("queries: %s: %w", fmt.Sprintf(format, args...), err)
	case n == 0:
		return fmt.Errorf("queries: %s: %w", fmt.Sprintf(format, args...), ErrNotFound)
	}
	return nil
}

func tokenFromRow(r sqlcdb.Token) Token {
	return Token{
		ID: r.ID, UserID: r.UserID, Kind: r.Kind, Name: r.Name, CreatedAt: fromMillis(r.CreatedAt),
		ExpiresAt: timePtr(r.ExpiresAt), LastUsedAt: timePtr(r.LastUsedAt),
	}
}

// nullMillis stores an optional time; nil is NULL.
func nullMillis(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func timePtr(ms sql.NullInt64) *time.Time {
	if !ms.Valid {
		return nil
	}
	t := fromMillis(ms.Int64)
	return &t
}
