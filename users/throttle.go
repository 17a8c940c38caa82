package users

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
)

// ThrottledError is a sign-in refused without checking the password because of recent failures
// for the same username or client address; the client may retry after RetryAfter (HTTP 429).
type ThrottledError struct{ RetryAfter time.Duration }

// retryAfter is the Retry-After header: whole seconds, rounded up.
func (e *ThrottledError) retryAfter() string {
	return strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds())))
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-ins; retry after %s", e.RetryAfter.Round(time.Second))
}

// throttle backs off failed sign-ins: after a few free failures per key (a username, a client
// address), each further failure doubles the wait before the next attempt, up to a cap. It is
// per process: with replicas an attacker gets the free attempts once per replica, which the
// exponential back-off still makes worthless for guessing.
type throttle struct {
	mu      sync.Mutex
	entries map[string]*failures
	// first and max bound the back-off; forget is how long a key is remembered after its last failure.
	first, max, forget time.Duration
	// maxEntries bounds memory when an attacker uses many usernames or addresses.
	maxEntries int
}

type failures struct {
	count int
	last  time.Time
	until time.Time
}

func newThrottle() *throttle {
	return &throttle{
		entries: map[string]*failures{}, first: time.Second, max: 5 * time.Minute,
		forget: 15 * time.Minute, maxEntries: 100_000,
	}
}

// Free failures before the back-off starts: a person mistyping, or a clinic behind one address.
const (
	freeFailuresPerUser    = 5
	freeFailuresPerAddress = 20
)

func userKey(username string) string   { return "user " + lower(username) }
func addressKey(address string) string { return "addr " + address }

// wait returns how long the keys must still wait; 0 when an attempt may be made now.
func (t *throttle) wait(now time.Time, keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		if f := t.entries[k]; f != nil && f.until.After(now) {
			wait = max(wait, f.until.Sub(now))
		}
	}
	return wait
}

// fail records a failed attempt for each key, with the free failures allowed for it.
func (t *throttle) fail(now time.Time, key string, free int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.entries[key]
	if f == nil || now.Sub(f.last) > t.forget {
		if len(t.entries) >= t.maxEntries {
			t.sweep(now)
		}
		f = &failures{}
		t.entries[key] = f
	}
	f.count++
	f.last = now
	if over := f.count - free; over > 0 {
		d := t.max
		if over <= 20 && t.first<<(over-1) < t.max {
			d = t.first << (over - 1)
		}
		f.until = now.Add(d)
	}
}

// reset forgets a key's failures (a successful sign-in of that user).
func (t *throttle) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, key)
}

// sweep drops keys not seen for a while; if that frees too little, it starts over rather than grow
// without bound (the mutex is held).
func (t *throttle) sweep(now time.Time) {
	for k, f := range t.entries {
		if now.Sub(f.last) > t.forget {
			delete(t.entries, k)
		}
	}
	if len(t.entries) >= t.maxEntries*9/10 {
		clear(t.entries)
	}
}
