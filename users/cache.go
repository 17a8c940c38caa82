package users

import (
	"sync"
	"time"
)

// recheckAfter is how long a successful credential check is trusted before the database is asked
// again. It is the bound on how stale a replica can be: a revoked token, a changed password, a
// deactivated user or a new role take effect everywhere within it.
const recheckAfter = 5 * time.Second

// cacheEntry is a principal that passed a full check at checked.
type cacheEntry struct {
	principal Principal
	checked   time.Time
	// expires is the token's own expiry (zero: none).
	expires time.Time
	// passwordHash is the stored hash the Basic password was checked against: a password change
	// shows as a different hash when the entry is re-checked.
	passwordHash string
}

// authCache remembers successful credential checks by a key derived from the credentials, so that a
// burst of requests pays one database read (and, for Basic, one argon2id hash) per recheckAfter.
// A wrong credential derives another key and never matches.
type authCache struct {
	mu      sync.Mutex
	entries map[[32]byte]cacheEntry
	max     int
}

func newAuthCache(max int) *authCache {
	return &authCache{entries: map[[32]byte]cacheEntry{}, max: max}
}

// get returns the entry and whether it is fresh (checked within recheckAfter and not expired); a
// stale entry is still returned so that Basic can re-check it without a new hash.
func (c *authCache) get(key [32]byte, now time.Time) (e cacheEntry, fresh, ok bool) {
	c.mu.Lock()
	e, ok = c.entries[key]
	c.mu.Unlock()
	if !ok {
		return e, false, false
	}
	if !e.expires.IsZero() && !now.Before(e.expires) {
		c.delete(key)
		return e, false, false
	}
	return e, now.Sub(e.checked) < recheckAfter, true
}

func (c *authCache) put(key [32]byte, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		clear(c.entries) // rare; costs one re-check per active credential
	}
	c.entries[key] = e
}

func (c *authCache) delete(key [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
}

// forget drops every entry matching fn: a user's after a password change, deactivation, deletion or
// role change in this process; a revoked token's.
func (c *authCache) forget(fn func(p Principal) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if fn(e.principal) {
			delete(c.entries, k)
		}
	}
}
