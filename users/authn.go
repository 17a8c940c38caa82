package users

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/medimg/medimg/queries"
)

// maxPasswordBytes bounds what is hashed: CheckPassword allows 256 characters, at most 4 bytes each.
const maxPasswordBytes = 1024

// touchEvery is how often a token's last use is written: often enough for the token list, rarely
// enough that a busy device does not write to the database on every request.
const touchEvery = time.Minute

// authenticator checks credentials: medimg tokens, HTTP Basic against the users, and (when
// configured) an identity provider's JWTs.
type authenticator struct {
	store  *queries.Store
	hasher *Hasher
	oidc   *OIDC // nil unless --auth includes oidc
	local  bool  // --auth includes local
	log    *slog.Logger
	now    func() time.Time

	tokens   *authCache
	basic    *authCache
	basicKey [32]byte // keys the Basic cache, so that its keys say nothing of the passwords
	throttle *throttle
	metrics  *authMetrics
}

func newAuthenticator(store *queries.Store, hasher *Hasher, oidc *OIDC, local bool, log *slog.Logger, m *authMetrics) *authenticator {
	a := &authenticator{
		store: store, hasher: hasher, oidc: oidc, local: local, log: log, now: time.Now,
		tokens: newAuthCache(100_000), basic: newAuthCache(10_000), throttle: newThrottle(), metrics: m,
	}
	rand.Read(a.basicKey[:])
	return a
}

// authenticate checks the Authorization header of a request from client (its address).
func (a *authenticator) authenticate(ctx context.Context, header, client string) (Principal, error) {
	cred, err := parseAuthorization(header)
	if err != nil {
		return Principal{}, err
	}
	if cred.bearer != "" {
		return a.bearerToken(ctx, cred.bearer)
	}
	return a.basicAuth(ctx, cred.username, cred.password, client)
}

// bearerToken checks a medimg token, or a JWT when OIDC is on.
func (a *authenticator) bearerToken(ctx context.Context, token string) (Principal, error) {
	if LooksLikeJWT(token) {
		if a.oidc == nil {
			return Principal{}, fmt.Errorf("%w: a JWT, but --auth does not include oidc", ErrInvalidCredentials)
		}
		return a.oidc.Authenticate(ctx, token)
	}
	if !a.local || !isTokenShaped(token) {
		return Principal{}, fmt.Errorf("%w: not a medimg token", ErrInvalidCredentials)
	}
	now := a.now()
	key := sha256.Sum256([]byte(token))
	if e, fresh, ok := a.tokens.get(key, now); ok && fresh {
		return e.principal, nil
	}
	t, u, err := a.store.TokenByHash(ctx, tokenHash(token))
	switch {
	case errors.Is(err, queries.ErrNotFound):
		a.tokens.delete(key)
		return Principal{}, fmt.Errorf("%w: unknown or revoked token", ErrInvalidCredentials)
	case err != nil:
		return Principal{}, err
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return Principal{}, fmt.Errorf("%w: token %d of %s expired at %s", ErrInvalidCredentials, t.ID, u.Username, t.ExpiresAt.Format(time.RFC3339))
	case !u.Active:
		return Principal{}, fmt.Errorf("%w: token %d of deactivated user %s", ErrInvalidCredentials, t.ID, u.Username)
	}
	p := principalOf(u, MethodBearer)
	p.TokenID, p.TokenName = t.ID, t.Name
	e := cacheEntry{principal: p, checked: now}
	if t.ExpiresAt != nil {
		e.expires = *t.ExpiresAt
	}
	a.tokens.put(key, e)
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= touchEvery {
		if err := a.store.TouchToken(ctx, t.ID, now); err != nil {
			a.log.WarnContext(ctx, "recording a token's last use failed", "token_id", t.ID, "err", err)
		}
	}
	return p, nil
}

// basicAuth checks HTTP Basic credentials. A success is remembered under a key derived from the
// username and password, so that a STOW burst from a modality pays one argon2id hash, not one per
// request; every recheckAfter the user row is read again (no hash) to see a changed password,
// deactivation or role.
func (a *authenticator) basicAuth(ctx context.Context, username, password, client string) (Principal, error) {
	if !a.local {
		return Principal{}, fmt.Errorf("%w: Basic credentials, but --auth does not include local", ErrInvalidCredentials)
	}
	now := a.now()
	mac := hmac.New(sha256.New, a.basicKey[:])
	mac.Write([]byte(lower(username) + "\x00" + password))
	key := [32]byte(mac.Sum(nil))
	if e, fresh, ok := a.basic.get(key, now); ok {
		if fresh {
			return e.principal, nil
		}
		u, err := a.store.GetUser(ctx, e.principal.UserID)
		if err == nil && u.Active && u.PasswordHash == e.passwordHash && lower(u.Username) == lower(username) {
			e.principal, e.checked = principalOf(u, MethodBasic), now
			a.basic.put(key, e)
			return e.principal, nil
		}
		if err != nil && !errors.Is(err, queries.ErrNotFound) {
			return Principal{}, err
		}
		a.basic.delete(key)
	}
	u, err := a.signIn(ctx, username, password, client)
	if err != nil {
		return Principal{}, err
	}
	p := principalOf(u, MethodBasic)
	a.basic.put(key, cacheEntry{principal: p, checked: now, passwordHash: u.PasswordHash})
	return p, nil
}

// signIn checks a username and password: the one place a password is verified (token requests,
// Basic, password changes). An unknown username, a wrong password and a deactivated user take the
// same time and give the same error; failures are throttled per username and per client address.
func (a *authenticator) signIn(ctx context.Context, username, password, client string) (queries.User, error) {
	if CheckUsername(username) != "" || len(password) > maxPasswordBytes || !utf8.ValidString(password) {
		a.metrics.signIns.WithLabelValues("failure").Inc()
		return queries.User{}, fmt.Errorf("%w: malformed username or password", ErrInvalidCredentials)
	}
	now := a.now()
	uk, ak := userKey(username), addressKey(client)
	if wait := a.throttle.wait(now, uk, ak); wait > 0 {
		a.metrics.signIns.WithLabelValues("throttled").Inc()
		a.log.WarnContext(ctx, "sign-in throttled", "username", username, "client", client, "retry_after", wait)
		return queries.User{}, &ThrottledError{RetryAfter: wait}
	}
	// The log says who and from where, never the password.
	fail := func(reason string) (queries.User, error) {
		a.throttle.fail(now, uk, freeFailuresPerUser)
		a.throttle.fail(now, ak, freeFailuresPerAddress)
		a.metrics.signIns.WithLabelValues("failure").Inc()
		a.log.WarnContext(ctx, "sign-in failed", "username", username, "client", client, "reason", reason)
		return queries.User{}, fmt.Errorf("%w: %s", ErrInvalidCredentials, reason)
	}
	u, err := a.store.GetUserByUsername(ctx, username)
	if errors.Is(err, queries.ErrNotFound) {
		a.hasher.VerifyUnknown(ctx, password)
		return fail("unknown user " + username)
	}
	if err != nil {
		return queries.User{}, err
	}
	ok, rehash, err := a.hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil {
		return queries.User{}, fmt.Errorf("users: password hash of user %d: %w", u.ID, err)
	}
	if !ok {
		return fail("wrong password for " + u.Username)
	}
	if !u.Active {
		return fail("deactivated user " + u.Username)
	}
	a.throttle.reset(uk)
	a.metrics.signIns.WithLabelValues("success").Inc()
	if rehash {
		a.upgradeHash(ctx, u, password)
	}
	return u, nil
}

// upgradeHash re-hashes a password with the current parameters after they changed; a failure
// only means the upgrade waits for the next sign-in.
func (a *authenticator) upgradeHash(ctx context.Context, u queries.User, password string) {
	h, err := a.hasher.Hash(ctx, password)
	if err == nil {
		err = a.store.RehashPassword(ctx, u.ID, u.PasswordHash, h)
	}
	if err != nil {
		a.log.WarnContext(ctx, "upgrading a password hash failed", "user_id", u.ID, "err", err)
	}
}

// forgetUser drops what this process remembers of a user's credentials: after a password change,
// deactivation, deletion or role change. Other replicas notice within recheckAfter.
func (a *authenticator) forgetUser(id int64) {
	match := func(p Principal) bool { return p.UserID == id }
	a.tokens.forget(match)
	a.basic.forget(match)
}

// forgetToken drops a revoked token.
func (a *authenticator) forgetToken(id int64) {
	a.tokens.forget(func(p Principal) bool { return p.TokenID == id })
}

func principalOf(u queries.User, method string) Principal {
	return Principal{UserID: u.ID, Username: u.Username, Role: Role(u.Role), Method: method}
}

// lower folds a username for comparison (usernames are ASCII).
func lower(s string) string { return strings.ToLower(s) }
