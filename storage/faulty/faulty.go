// Package faulty wraps a storage.Store and makes chosen calls fail, for fault-injection tests of
// the code above the blob store: the Nth write, the commit of a key, every read of a study.
package faulty

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/medimg/medimg/storage"
)

// ErrInjected is the cause of every failure a Rule injects unless the rule names another.
var ErrInjected = errors.New("faulty: injected fault")

// Op names an operation of the blob store that a Rule can fail.
type Op string

// The operations a Rule can fail. OpCommit stands for the whole commit step of an upload, whose
// fsync the storage.Upload interface does not expose on its own.
const (
	OpNewUpload Op = "new_upload"
	OpWrite     Op = "write"
	OpCommit    Op = "commit"
	OpOpen      Op = "open"
	OpStat      Op = "stat"
	OpDelete    Op = "delete"
	OpList      Op = "list"
)

// Call describes one call about to be made: key is empty for NewUpload and Write, whose key is
// not known yet, and the prefix for List; N counts the calls of Op since the Store was made, from 1.
type Call struct {
	Op  Op
	Key string
	N   int
}

// Rule decides whether a call fails: a non-nil error is returned instead of making the call.
type Rule func(Call) error

// Nth fails the nth call of op (counting from 1) with ErrInjected.
func Nth(op Op, n int) Rule {
	return func(c Call) error {
		if c.Op == op && c.N == n {
			return fmt.Errorf("%s #%d: %w", op, n, ErrInjected)
		}
		return nil
	}
}

// Always fails every call of op with err (ErrInjected when nil).
func Always(op Op, err error) Rule {
	return When(op, func(string) bool { return true }, err)
}

// When fails the calls of op whose key satisfies match, with err (ErrInjected when nil).
func When(op Op, match func(key string) bool, err error) Rule {
	if err == nil {
		err = ErrInjected
	}
	return func(c Call) error {
		if c.Op == op && match(c.Key) {
			return fmt.Errorf("%s %s: %w", op, c.Key, err)
		}
		return nil
	}
}

// Store is a storage.Store whose calls fail as its rules say; it is safe for concurrent use.
type Store struct {
	storage.Store
	mu     sync.Mutex
	rules  map[int]Rule
	nextID int
	calls  map[Op]int
	failed map[Op]int
}

// New wraps s; with no rules every call goes through.
func New(s storage.Store) *Store {
	return &Store{Store: s, rules: map[int]Rule{}, calls: map[Op]int{}, failed: map[Op]int{}}
}

// Inject adds r and returns a function that removes it again.
func (s *Store) Inject(r Rule) (remove func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextID
	s.nextID++
	s.rules[id] = r
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.rules, id)
	}
}

// Reset removes every rule (the counts stay).
func (s *Store) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.rules)
}

// Calls returns how many calls of op were made or attempted.
func (s *Store) Calls(op Op) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Failed returns how many calls of op a rule failed.
func (s *Store) Failed(op Op) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed[op]
}

// check counts the call and returns the first injected error, if any.
func (s *Store) check(op Op, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	c := Call{Op: op, Key: key, N: s.calls[op]}
	for _, r := range s.rules {
		if err := r(c); err != nil {
			s.failed[op]++
			return err
		}
	}
	return nil
}

// NewUpload starts an upload whose writes and commit are subject to the rules.
func (s *Store) NewUpload(ctx context.Context) (storage.Upload, error) {
	if err := s.check(OpNewUpload, ""); err != nil {
		return nil, err
	}
	up, err := s.Store.NewUpload(ctx)
	if err != nil {
		return nil, err
	}
	return &upload{Upload: up, s: s}, nil
}

// Open opens key unless a rule fails it.
func (s *Store) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := s.check(OpOpen, key); err != nil {
		return nil, err
	}
	return s.Store.Open(ctx, key, offset, length)
}

// Stat describes key unless a rule fails it.
func (s *Store) Stat(ctx context.Context, key string) (storage.Info, error) {
	if err := s.check(OpStat, key); err != nil {
		return storage.Info{}, err
	}
	return s.Store.Stat(ctx, key)
}

// Delete removes key unless a rule fails it (then the object stays).
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.check(OpDelete, key); err != nil {
		return err
	}
	return s.Store.Delete(ctx, key)
}

// List walks prefix unless a rule fails it.
func (s *Store) List(ctx context.Context, prefix string, fn func(storage.Info) error) error {
	if err := s.check(OpList, prefix); err != nil {
		return err
	}
	return s.Store.List(ctx, prefix, fn)
}

type upload struct {
	storage.Upload
	s *Store
}

func (u *upload) Write(p []byte) (int, error) {
	if err := u.s.check(OpWrite, ""); err != nil {
		return 0, err
	}
	return u.Upload.Write(p)
}

// Commit fails as storage.Upload promises a failed commit does: the upload ends and nothing is left.
func (u *upload) Commit(ctx context.Context, key string) error {
	if err := u.s.check(OpCommit, key); err != nil {
		u.Upload.Abort()
		return err
	}
	return u.Upload.Commit(ctx, key)
}
