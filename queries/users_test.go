package queries_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/medimg/medimg/migrations"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
)

// TestUsers runs the accounts, tokens and audit behaviours on every engine. Each gets a fresh
// database and its DSN, for the tests that need a connection of their own.
func TestUsers(t *testing.T) {
	tests := map[string]func(t *testing.T, s *queries.Store, dsn string){
		"create_get_and_by_username_ignoring_case":      testCreateGetUser,
		"username_taken_regardless_of_case":             testUsernameTaken,
		"email_taken_regardless_of_case":                testEmailTaken,
		"concurrent_creates_of_one_name_make_one":       testConcurrentCreateUser,
		"several_users_without_email":                   testUsersWithoutEmail,
		"list_in_id_order_with_limit_and_offset":        testListUsers,
		"first_admin_only_on_an_empty_table":            testFirstAdmin,
		"first_admin_not_created_beside_other_users":    testFirstAdminBesideUsers,
		"concurrent_first_admins_of_one_name":           testConcurrentFirstAdmin("admin"),
		"concurrent_first_admins_of_different_names":    testConcurrentFirstAdmin(""),
		"update_each_field":                             testUpdateEachField,
		"update_removes_email":                          testUpdateRemovesEmail,
		"update_to_a_taken_email":                       testUpdateEmailTaken,
		"unknown_user_is_not_found":                     testUnknownUser,
		"last_active_admin_stays":                       testLastAdmin,
		"no_admin_check_without_active_admins":          testNoAdmins,
		"admins_removing_each_other_leave_one":          testAdminsRace,
		"password_change_and_deactivation_end_sessions": testEndSessions,
		"rehash_only_replaces_the_old_hash":             testRehash,
		"token_create_and_by_hash_with_user":            testTokenByHash,
		"token_by_hash_ignores_expiry_and_activity":     testTokenByHashUnfiltered,
		"token_touch":                         testTouchToken,
		"token_list_by_kind":                  testListTokens,
		"token_delete_only_by_its_owner":      testDeleteToken,
		"token_delete_by_hash_and_sessions":   testDeleteTokenByHash,
		"token_expired_cleanup":               testExpiredTokens,
		"token_deleted_with_its_user":         testTokenCascade,
		"audit_append_keeps_order_and_fields": testAuditAppend,
		"audit_filters_bounds_and_paging":     testAuditFilters,
		"audit_refuses_update_and_delete":     testAuditAppendOnly,
	}
	for _, engine := range querytest.Engines {
		t.Run(engine, func(t *testing.T) {
			for name, fn := range tests {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					dsn := querytest.DSN(t, engine)
					s, err := queries.Open(context.Background(), dsn, migrations.For)
					if err != nil {
						t.Fatalf("open %s store: %v", engine, err)
					}
					t.Cleanup(func() { s.Close() })
					fn(t, s, dsn)
				})
			}
		})
	}
}

func mustUser(t *testing.T, s *queries.Store, username, role string) queries.User {
	t.Helper()
	u, err := s.CreateUser(t.Context(), queries.NewUser{Username: username, Role: role, PasswordHash: "hash-" + username})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", username, err)
	}
	return u
}

func mustGetUser(t *testing.T, s *queries.Store, id int64) queries.User {
	t.Helper()
	u, err := s.GetUser(t.Context(), id)
	if err != nil {
		t.Fatalf("GetUser(%d): %v", id, err)
	}
	return u
}

func mustToken(t *testing.T, s *queries.Store, userID int64, kind, hash string, expires *time.Time) queries.Token {
	t.Helper()
	tok, err := s.CreateToken(t.Context(), queries.NewToken{UserID: userID, Kind: kind, Name: "name-" + hash, Hash: hash, ExpiresAt: expires})
	if err != nil {
		t.Fatalf("CreateToken(%s): %v", hash, err)
	}
	return tok
}

func tokenHashes(t *testing.T, s *queries.Store, userID int64, kind string) []string {
	t.Helper()
	toks, err := s.ListTokens(t.Context(), userID, kind)
	if err != nil {
		t.Fatalf("ListTokens(%d, %q): %v", userID, kind, err)
	}
	names := []string{}
	for _, tok := range toks {
		names = append(names, strings.TrimPrefix(tok.Name, "name-"))
	}
	return names
}

func ptr[T any](v T) *T { return &v }

// ms is a time as the store keeps it: UTC, whole milliseconds.
func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func testCreateGetUser(t *testing.T, s *queries.Store, _ string) {
	before := ms(time.Now())
	got, err := s.CreateUser(t.Context(), queries.NewUser{Username: "Alice", Email: "Alice@Example.org", Role: "reader", PasswordHash: "h1"})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID <= 0 || got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now()) || got.CreatedAt.Location() != time.UTC ||
		!got.CreatedAt.Equal(ms(got.CreatedAt)) {
		t.Errorf("ID %d, CreatedAt %v: want a positive id and a UTC millisecond time since %v", got.ID, got.CreatedAt, before)
	}
	want := queries.User{ID: got.ID, Username: "Alice", Email: "Alice@Example.org", Role: "reader", Active: true,
		PasswordHash: "h1", CreatedAt: got.CreatedAt, UpdatedAt: got.CreatedAt}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("created user (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, mustGetUser(t, s, got.ID)); diff != "" {
		t.Errorf("GetUser (-want +got):\n%s", diff)
	}
	for _, name := range []string{"Alice", "alice", "ALICE", "aLiCe"} {
		byName, err := s.GetUserByUsername(t.Context(), name)
		if err != nil {
			t.Errorf("GetUserByUsername(%q): %v", name, err)
		} else if diff := cmp.Diff(want, byName); diff != "" {
			t.Errorf("GetUserByUsername(%q) (-want +got):\n%s", name, diff)
		}
	}
	if _, err := s.GetUserByUsername(t.Context(), "Alic"); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("GetUserByUsername(unknown): err = %v, want ErrNotFound", err)
	}
}

func testUsernameTaken(t *testing.T, s *queries.Store, _ string) {
	mustUser(t, s, "Bob", "reader")
	for _, name := range []string{"Bob", "bob", "BOB"} {
		_, err := s.CreateUser(t.Context(), queries.NewUser{Username: name, Email: name + "@x.org", Role: "editor", PasswordHash: "h"})
		if !errors.Is(err, queries.ErrUsernameTaken) || errors.Is(err, queries.ErrEmailTaken) {
			t.Errorf("CreateUser(%q): err = %v, want ErrUsernameTaken only", name, err)
		}
	}
	if n, err := s.CountUsers(t.Context()); err != nil || n != 1 {
		t.Errorf("CountUsers = %d, %v; want 1", n, err)
	}
}

func testEmailTaken(t *testing.T, s *queries.Store, _ string) {
	if _, err := s.CreateUser(t.Context(), queries.NewUser{Username: "carol", Email: "Carol@Example.org", Role: "reader", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.CreateUser(t.Context(), queries.NewUser{Username: "dave", Email: "cAROL@example.ORG", Role: "reader", PasswordHash: "h"})
	if !errors.Is(err, queries.ErrEmailTaken) || errors.Is(err, queries.ErrUsernameTaken) {
		t.Errorf("CreateUser with a taken email: err = %v, want ErrEmailTaken only", err)
	}
	if _, err := s.GetUserByUsername(t.Context(), "dave"); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("a refused user was stored (err %v)", err)
	}
}

// Concurrent creates race past the check in the transaction: the unique violation of either engine
// must still come out as ErrUsernameTaken (or ErrEmailTaken), never as a driver error.
func testConcurrentCreateUser(t *testing.T, s *queries.Store, _ string) {
	const clients = 8
	errs := make([]error, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			email := ""
			if i%2 == 1 {
				email = "Same@x.org"
			}
			_, errs[i] = s.CreateUser(t.Context(), queries.NewUser{Username: "Same", Email: email, Role: "reader", PasswordHash: "h"})
		})
	}
	wg.Wait()
	created := 0
	for _, err := range errs {
		switch {
		case err == nil:
			created++
		case !errors.Is(err, queries.ErrUsernameTaken) && !errors.Is(err, queries.ErrEmailTaken):
			t.Errorf("concurrent CreateUser: %v, want ErrUsernameTaken or ErrEmailTaken", err)
		}
	}
	if n, _ := s.CountUsers(t.Context()); created != 1 || n != 1 {
		t.Errorf("%d creates succeeded and %d users exist; want 1 and 1", created, n)
	}
}

func testUsersWithoutEmail(t *testing.T, s *queries.Store, _ string) {
	for _, name := range []string{"e1", "e2", "e3"} {
		if u := mustUser(t, s, name, "sender"); u.Email != "" {
			t.Errorf("user %s has email %q, want none", name, u.Email)
		}
	}
	if n, err := s.CountUsers(t.Context()); err != nil || n != 3 {
		t.Errorf("CountUsers = %d, %v; want 3", n, err)
	}
}

func testListUsers(t *testing.T, s *queries.Store, _ string) {
	empty, err := s.ListUsers(t.Context(), 10, 0)
	if err != nil || empty == nil || len(empty) != 0 {
		t.Errorf("ListUsers of no users = %#v, %v; want an empty slice", empty, err)
	}
	var all []queries.User
	for _, name := range []string{"zed", "amy", "Max", "bea", "kim"} {
		all = append(all, mustUser(t, s, name, "reader"))
	}
	for _, c := range []struct {
		limit, offset int
		want          []queries.User
	}{
		{0, 0, all}, {-1, 0, all}, {2, 0, all[:2]}, {2, 1, all[1:3]}, {10, 3, all[3:]}, {3, 5, []queries.User{}},
	} {
		got, err := s.ListUsers(t.Context(), c.limit, c.offset)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("ListUsers(%d, %d) (-want +got):\n%s", c.limit, c.offset, diff)
		}
	}
	if n, err := s.CountUsers(t.Context()); err != nil || n != 5 {
		t.Errorf("CountUsers = %d, %v; want 5", n, err)
	}
}

func testFirstAdmin(t *testing.T, s *queries.Store, _ string) {
	created, err := s.CreateFirstAdmin(t.Context(), queries.NewUser{Username: "Root", Email: "root@x.org", Role: "reader", PasswordHash: "h"})
	if err != nil || !created {
		t.Fatalf("CreateFirstAdmin on an empty table = %v, %v; want true, nil", created, err)
	}
	u, err := s.GetUserByUsername(t.Context(), "root")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != "admin" || !u.Active || u.Email != "root@x.org" || u.PasswordHash != "h" {
		t.Errorf("first admin = %+v, want an active admin with the given email and hash", u)
	}
	created, err = s.CreateFirstAdmin(t.Context(), queries.NewUser{Username: "other", PasswordHash: "h"})
	if err != nil || created {
		t.Errorf("second CreateFirstAdmin = %v, %v; want false, nil", created, err)
	}
	if n, _ := s.CountUsers(t.Context()); n != 1 {
		t.Errorf("%d users, want 1", n)
	}
}

func testFirstAdminBesideUsers(t *testing.T, s *queries.Store, _ string) {
	mustUser(t, s, "reader", "reader")
	created, err := s.CreateFirstAdmin(t.Context(), queries.NewUser{Username: "root", PasswordHash: "h"})
	if err != nil || created {
		t.Errorf("CreateFirstAdmin beside a user = %v, %v; want false, nil", created, err)
	}
	if _, err := s.GetUserByUsername(t.Context(), "root"); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("admin created although a user existed (err %v)", err)
	}
}

// testConcurrentFirstAdmin starts 8 bootstraps at once, all named name, or each its own when name
// is "": exactly one creates its account and none fails.
func testConcurrentFirstAdmin(name string) func(t *testing.T, s *queries.Store, _ string) {
	return func(t *testing.T, s *queries.Store, _ string) {
		const clients = 8
		var wg sync.WaitGroup
		var mu sync.Mutex
		start := make(chan struct{})
		created := 0
		for i := range clients {
			wg.Go(func() {
				u := queries.NewUser{Username: name, PasswordHash: "h"}
				if name == "" {
					u.Username = fmt.Sprintf("admin%d", i)
				}
				<-start
				ok, err := s.CreateFirstAdmin(t.Context(), u)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("CreateFirstAdmin(%s): %v", u.Username, err)
				}
				if ok {
					created++
				}
			})
		}
		close(start)
		wg.Wait()
		if n, _ := s.CountUsers(t.Context()); created != 1 || n != 1 {
			t.Errorf("%d calls created an admin and %d users exist; want 1 and 1", created, n)
		}
	}
}

func testUpdateEachField(t *testing.T, s *queries.Store, _ string) {
	mustUser(t, s, "boss", "admin") // keeps an active admin while the user below changes
	u, err := s.CreateUser(t.Context(), queries.NewUser{Username: "Erin", Email: "erin@x.org", Role: "reader", PasswordHash: "h1"})
	if err != nil {
		t.Fatal(err)
	}
	want := u
	for _, c := range []struct {
		name   string
		change queries.UserChange
		apply  func(*queries.User)
	}{
		{"email", queries.UserChange{Email: ptr("Erin@Y.org")}, func(u *queries.User) { u.Email = "Erin@Y.org" }},
		{"role", queries.UserChange{Role: ptr("editor")}, func(u *queries.User) { u.Role = "editor" }},
		{"password", queries.UserChange{PasswordHash: ptr("h2")}, func(u *queries.User) { u.PasswordHash = "h2" }},
		{"deactivate", queries.UserChange{Active: ptr(false)}, func(u *queries.User) { u.Active = false }},
		{"reactivate", queries.UserChange{Active: ptr(true)}, func(u *queries.User) { u.Active = true }},
		{"promote", queries.UserChange{Role: ptr("admin")}, func(u *queries.User) { u.Role = "admin" }},
		{"nothing", queries.UserChange{}, func(*queries.User) {}},
	} {
		time.Sleep(2 * time.Millisecond) // so that updated_at moves
		got, err := s.UpdateUser(t.Context(), u.ID, c.change)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !got.UpdatedAt.After(want.UpdatedAt) {
			t.Errorf("%s: UpdatedAt %v not after %v", c.name, got.UpdatedAt, want.UpdatedAt)
		}
		c.apply(&want)
		want.UpdatedAt = got.UpdatedAt
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: returned user (-want +got):\n%s", c.name, diff)
		}
		if diff := cmp.Diff(want, mustGetUser(t, s, u.ID)); diff != "" {
			t.Errorf("%s: stored user (-want +got):\n%s", c.name, diff)
		}
	}
	if _, err := s.UpdateUser(t.Context(), u.ID, queries.UserChange{Role: ptr("superuser")}); err == nil {
		t.Error("UpdateUser to an unknown role succeeded")
	}
}

func testUpdateRemovesEmail(t *testing.T, s *queries.Store, _ string) {
	a, err := s.CreateUser(t.Context(), queries.NewUser{Username: "a", Email: "a@x.org", Role: "reader", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	mustUser(t, s, "b", "reader") // without email
	got, err := s.UpdateUser(t.Context(), a.ID, queries.UserChange{Email: ptr("")})
	if err != nil || got.Email != "" {
		t.Fatalf("removing the email = %q, %v; want \"\", nil", got.Email, err)
	}
	// Stored as NULL, not "": the address is free again and a third user without email is allowed.
	if _, err := s.CreateUser(t.Context(), queries.NewUser{Username: "c", Email: "A@X.org", Role: "reader", PasswordHash: "h"}); err != nil {
		t.Errorf("the removed email is still taken: %v", err)
	}
	mustUser(t, s, "d", "reader")
}

func testUpdateEmailTaken(t *testing.T, s *queries.Store, _ string) {
	if _, err := s.CreateUser(t.Context(), queries.NewUser{Username: "f", Email: "f@x.org", Role: "reader", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	g, err := s.CreateUser(t.Context(), queries.NewUser{Username: "g", Email: "g@x.org", Role: "reader", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdateUser(t.Context(), g.ID, queries.UserChange{Email: ptr("F@X.ORG"), Role: ptr("editor")})
	if !errors.Is(err, queries.ErrEmailTaken) {
		t.Errorf("UpdateUser to a taken email: err = %v, want ErrEmailTaken", err)
	}
	if diff := cmp.Diff(g, mustGetUser(t, s, g.ID)); diff != "" {
		t.Errorf("a refused update changed the user (-want +got):\n%s", diff)
	}
	// The user's own address in another case is not taken.
	if got, err := s.UpdateUser(t.Context(), g.ID, queries.UserChange{Email: ptr("G@x.org")}); err != nil || got.Email != "G@x.org" {
		t.Errorf("UpdateUser to its own email in another case = %q, %v", got.Email, err)
	}
}

func testUnknownUser(t *testing.T, s *queries.Store, _ string) {
	mustUser(t, s, "admin", "admin")
	if _, err := s.GetUser(t.Context(), 4242); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("GetUser: err = %v, want ErrNotFound", err)
	}
	if _, err := s.UpdateUser(t.Context(), 4242, queries.UserChange{Role: ptr("reader")}); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("UpdateUser: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteUser(t.Context(), 4242); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("DeleteUser: err = %v, want ErrNotFound", err)
	}
}

func testLastAdmin(t *testing.T, s *queries.Store, _ string) {
	root := mustUser(t, s, "root", "admin")
	mustUser(t, s, "reader", "reader")
	for name, change := range map[string]queries.UserChange{
		"demote":     {Role: ptr("editor")},
		"deactivate": {Active: ptr(false)},
		"both":       {Role: ptr("reader"), Active: ptr(false), PasswordHash: ptr("new")},
	} {
		if _, err := s.UpdateUser(t.Context(), root.ID, change); !errors.Is(err, queries.ErrLastAdmin) {
			t.Errorf("%s the last admin: err = %v, want ErrLastAdmin", name, err)
		}
	}
	if err := s.DeleteUser(t.Context(), root.ID); !errors.Is(err, queries.ErrLastAdmin) {
		t.Errorf("delete the last admin: err = %v, want ErrLastAdmin", err)
	}
	if diff := cmp.Diff(root, mustGetUser(t, s, root.ID)); diff != "" {
		t.Errorf("refused changes changed the last admin (-want +got):\n%s", diff)
	}
	// An inactive admin does not count.
	other := mustUser(t, s, "other", "admin")
	if _, err := s.UpdateUser(t.Context(), other.ID, queries.UserChange{Active: ptr(false)}); err != nil {
		t.Fatalf("deactivate one of two admins: %v", err)
	}
	if _, err := s.UpdateUser(t.Context(), root.ID, queries.UserChange{Role: ptr("reader")}); !errors.Is(err, queries.ErrLastAdmin) {
		t.Errorf("demote the last active admin beside an inactive one: err = %v, want ErrLastAdmin", err)
	}
	// With a second active admin the first may go.
	if _, err := s.UpdateUser(t.Context(), other.ID, queries.UserChange{Active: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(t.Context(), root.ID); err != nil {
		t.Errorf("delete one of two active admins: %v", err)
	}
	if _, err := s.GetUser(t.Context(), root.ID); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("deleted admin still found (err %v)", err)
	}
}

// Without any active admin (users made before one), changing others is not refused.
func testNoAdmins(t *testing.T, s *queries.Store, _ string) {
	u := mustUser(t, s, "lone", "reader")
	if _, err := s.UpdateUser(t.Context(), u.ID, queries.UserChange{Role: ptr("editor"), Active: ptr(false)}); err != nil {
		t.Errorf("UpdateUser without admins: %v", err)
	}
	if err := s.DeleteUser(t.Context(), u.ID); err != nil {
		t.Errorf("DeleteUser without admins: %v", err)
	}
}

// testAdminsRace has two admins remove each other at the same moment, by demotion, deactivation
// or deletion: every round exactly one wins, the other gets ErrLastAdmin, and an admin is left.
func testAdminsRace(t *testing.T, s *queries.Store, _ string) {
	a, b := mustUser(t, s, "a0", "admin"), mustUser(t, s, "b0", "admin")
	for round := range 30 {
		ops := []func(id int64) error{
			func(id int64) error {
				_, err := s.UpdateUser(t.Context(), id, queries.UserChange{Role: ptr("reader")})
				return err
			},
			func(id int64) error {
				_, err := s.UpdateUser(t.Context(), id, queries.UserChange{Active: ptr(false)})
				return err
			},
			func(id int64) error { return s.DeleteUser(t.Context(), id) },
		}
		op := ops[round%len(ops)]
		var errA, errB error
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() { <-start; errA = op(a.ID) })
		wg.Go(func() { <-start; errB = op(b.ID) })
		close(start)
		wg.Wait()
		if (errA == nil) == (errB == nil) || !errors.Is(errors.Join(errA, errB), queries.ErrLastAdmin) {
			t.Fatalf("round %d: errors %v and %v; want one nil and one ErrLastAdmin", round, errA, errB)
		}
		if n := activeAdmins(t, s); n != 1 {
			t.Fatalf("round %d: %d active admins, want 1", round, n)
		}
		lost := &a
		if errB == nil {
			lost = &b
		}
		if round%len(ops) == 2 {
			*lost = mustUser(t, s, fmt.Sprintf("admin%d", round), "admin")
		} else if _, err := s.UpdateUser(t.Context(), lost.ID, queries.UserChange{Role: ptr("admin"), Active: ptr(true)}); err != nil {
			t.Fatal(err)
		}
	}
}

func activeAdmins(t *testing.T, s *queries.Store) int {
	t.Helper()
	users, err := s.ListUsers(t.Context(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, u := range users {
		if u.Role == "admin" && u.Active {
			n++
		}
	}
	return n
}

func testEndSessions(t *testing.T, s *queries.Store, _ string) {
	mustUser(t, s, "boss", "admin")
	u := mustUser(t, s, "henry", "editor")
	refill := func() {
		mustToken(t, s, u.ID, "session", fmt.Sprintf("s%d", time.Now().UnixNano()), nil)
	}
	mustToken(t, s, u.ID, "device", "dev", nil)
	refill()
	refill()
	// Email and role changes keep the sessions.
	if _, err := s.UpdateUser(t.Context(), u.ID, queries.UserChange{Email: ptr("h@x.org"), Role: ptr("reader"), Active: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if n := len(tokenHashes(t, s, u.ID, "session")); n != 2 {
		t.Errorf("after an email and role change %d sessions, want 2", n)
	}
	for name, change := range map[string]queries.UserChange{
		"password":   {PasswordHash: ptr("new")},
		"deactivate": {Active: ptr(false)},
	} {
		refill()
		if _, err := s.UpdateUser(t.Context(), u.ID, change); err != nil {
			t.Fatal(err)
		}
		if got := tokenHashes(t, s, u.ID, ""); !cmp.Equal(got, []string{"dev"}) {
			t.Errorf("after %s tokens %v, want only the device token", name, got)
		}
	}
}

func testRehash(t *testing.T, s *queries.Store, _ string) {
	u := mustUser(t, s, "ivy", "reader")
	mustToken(t, s, u.ID, "session", "sess", nil)
	time.Sleep(2 * time.Millisecond)
	if err := s.RehashPassword(t.Context(), u.ID, "hash-ivy", "rehashed"); err != nil {
		t.Fatal(err)
	}
	want := u
	want.PasswordHash = "rehashed"
	if diff := cmp.Diff(want, mustGetUser(t, s, u.ID)); diff != "" {
		t.Errorf("after rehash (-want +got), UpdatedAt must not move:\n%s", diff)
	}
	if got := tokenHashes(t, s, u.ID, ""); !cmp.Equal(got, []string{"sess"}) {
		t.Errorf("rehash ended sessions: tokens %v", got)
	}
	// A stale old hash (the password changed meanwhile) changes nothing, without an error.
	if err := s.RehashPassword(t.Context(), u.ID, "hash-ivy", "stale"); err != nil {
		t.Errorf("stale rehash: %v", err)
	}
	if got := mustGetUser(t, s, u.ID).PasswordHash; got != "rehashed" {
		t.Errorf("stale rehash replaced the hash: %q", got)
	}
}

func testTokenByHash(t *testing.T, s *queries.Store, _ string) {
	u, err := s.CreateUser(t.Context(), queries.NewUser{Username: "Jo", Email: "jo@x.org", Role: "editor", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	before := ms(time.Now())
	expires := time.Now().Add(time.Hour).In(time.FixedZone("X", 3600)) // nanoseconds and a zone, to be normalized
	tok, err := s.CreateToken(t.Context(), queries.NewToken{UserID: u.ID, Kind: "device", Name: "scanner", Hash: "abc", ExpiresAt: &expires})
	if err != nil {
		t.Fatal(err)
	}
	if tok.CreatedAt.Before(before) || tok.CreatedAt.After(time.Now()) {
		t.Errorf("CreatedAt %v, want about now", tok.CreatedAt)
	}
	want := queries.Token{ID: tok.ID, UserID: u.ID, Kind: "device", Name: "scanner", CreatedAt: tok.CreatedAt, ExpiresAt: ptr(ms(expires))}
	if diff := cmp.Diff(want, tok); diff != "" {
		t.Errorf("created token (-want +got):\n%s", diff)
	}
	gotTok, gotUser, err := s.TokenByHash(t.Context(), "abc")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, gotTok); diff != "" {
		t.Errorf("TokenByHash token (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(u, gotUser); diff != "" {
		t.Errorf("TokenByHash user (-want +got):\n%s", diff)
	}
	if _, _, err := s.TokenByHash(t.Context(), "abd"); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("TokenByHash(unknown): err = %v, want ErrNotFound", err)
	}
	if _, err := s.CreateToken(t.Context(), queries.NewToken{UserID: 4242, Kind: "session", Hash: "x"}); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("CreateToken for an unknown user: err = %v, want ErrNotFound", err)
	}
}

// TokenByHash leaves expiry and deactivation to the caller, which must say why it refuses.
func testTokenByHashUnfiltered(t *testing.T, s *queries.Store, _ string) {
	mustUser(t, s, "boss", "admin")
	u := mustUser(t, s, "kay", "sender")
	past := time.Now().Add(-time.Hour)
	mustToken(t, s, u.ID, "device", "old", &past)
	if _, err := s.UpdateUser(t.Context(), u.ID, queries.UserChange{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	tok, user, err := s.TokenByHash(t.Context(), "old")
	if err != nil {
		t.Fatalf("TokenByHash of an expired token of an inactive user: %v", err)
	}
	if user.Active || tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(ms(past)) {
		t.Errorf("got active %v, expires %v; want false, %v", user.Active, tok.ExpiresAt, ms(past))
	}
}

func testTouchToken(t *testing.T, s *queries.Store, _ string) {
	u := mustUser(t, s, "lee", "reader")
	tok := mustToken(t, s, u.ID, "session", "t1", nil)
	if tok.LastUsedAt != nil {
		t.Errorf("new token LastUsedAt = %v, want nil", tok.LastUsedAt)
	}
	at := time.Date(2030, 1, 2, 3, 4, 5, 6_789_000, time.Local)
	if err := s.TouchToken(t.Context(), tok.ID, at); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.TokenByHash(t.Context(), "t1")
	if err != nil {
		t.Fatal(err)
	}
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(ms(at)) || got.LastUsedAt.Location() != time.UTC {
		t.Errorf("LastUsedAt = %v, want %v in UTC", got.LastUsedAt, ms(at))
	}
	if err := s.TouchToken(t.Context(), tok.ID+100, at); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("TouchToken(unknown): err = %v, want ErrNotFound", err)
	}
}

func testListTokens(t *testing.T, s *queries.Store, _ string) {
	u, v := mustUser(t, s, "max", "reader"), mustUser(t, s, "nia", "reader")
	for _, h := range []string{"s1", "d1", "s2", "d2"} {
		kind := map[byte]string{'s': "session", 'd': "device"}[h[0]]
		mustToken(t, s, u.ID, kind, h, nil)
	}
	mustToken(t, s, v.ID, "session", "other", nil)
	for kind, want := range map[string][]string{"session": {"s1", "s2"}, "device": {"d1", "d2"}, "": {"s1", "d1", "s2", "d2"}} {
		if got := tokenHashes(t, s, u.ID, kind); !cmp.Equal(want, got) {
			t.Errorf("ListTokens(%q) = %v, want %v", kind, got, want)
		}
	}
	none, err := s.ListTokens(t.Context(), 4242, "")
	if err != nil || none == nil || len(none) != 0 {
		t.Errorf("ListTokens of a user without tokens = %#v, %v; want an empty slice", none, err)
	}
}

func testDeleteToken(t *testing.T, s *queries.Store, _ string) {
	u, v := mustUser(t, s, "oda", "reader"), mustUser(t, s, "pat", "reader")
	tok := mustToken(t, s, u.ID, "device", "d", nil)
	if err := s.DeleteToken(t.Context(), v.ID, tok.ID); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("DeleteToken by another user: err = %v, want ErrNotFound", err)
	}
	if got := tokenHashes(t, s, u.ID, ""); !cmp.Equal(got, []string{"d"}) {
		t.Errorf("another user's delete removed the token: %v", got)
	}
	if err := s.DeleteToken(t.Context(), u.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if got := tokenHashes(t, s, u.ID, ""); len(got) != 0 {
		t.Errorf("tokens after delete: %v", got)
	}
	if err := s.DeleteToken(t.Context(), u.ID, tok.ID); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("second DeleteToken: err = %v, want ErrNotFound", err)
	}
}

func testDeleteTokenByHash(t *testing.T, s *queries.Store, _ string) {
	u, v := mustUser(t, s, "quinn", "reader"), mustUser(t, s, "ray", "reader")
	for _, h := range []string{"s1", "s2", "s3"} {
		mustToken(t, s, u.ID, "session", h, nil)
	}
	mustToken(t, s, u.ID, "device", "d1", nil)
	mustToken(t, s, v.ID, "session", "v1", nil)
	if err := s.DeleteTokenByHash(t.Context(), "s2"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTokenByHash(t.Context(), "s2"); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("second DeleteTokenByHash: err = %v, want ErrNotFound", err)
	}
	if got := tokenHashes(t, s, u.ID, ""); !cmp.Equal(got, []string{"s1", "s3", "d1"}) {
		t.Errorf("after DeleteTokenByHash: %v", got)
	}
	if err := s.DeleteSessionTokens(t.Context(), u.ID); err != nil {
		t.Fatal(err)
	}
	if got := tokenHashes(t, s, u.ID, ""); !cmp.Equal(got, []string{"d1"}) {
		t.Errorf("after DeleteSessionTokens: %v, want the device token only", got)
	}
	if got := tokenHashes(t, s, v.ID, ""); !cmp.Equal(got, []string{"v1"}) {
		t.Errorf("DeleteSessionTokens touched another user's sessions: %v", got)
	}
}

func testExpiredTokens(t *testing.T, s *queries.Store, _ string) {
	u := mustUser(t, s, "sam", "reader")
	now := time.Now()
	for h, exp := range map[string]*time.Time{
		"past": ptr(now.Add(-time.Minute)), "now": ptr(now), "soon": ptr(now.Add(time.Millisecond)), "never": nil,
	} {
		mustToken(t, s, u.ID, "device", h, exp)
	}
	n, err := s.DeleteExpiredTokens(t.Context(), now)
	if err != nil || n != 2 {
		t.Errorf("DeleteExpiredTokens = %d, %v; want 2", n, err)
	}
	got := tokenHashes(t, s, u.ID, "")
	if !cmp.Equal(got, []string{"soon", "never"}) && !cmp.Equal(got, []string{"never", "soon"}) {
		t.Errorf("tokens left %v, want soon and never", got)
	}
}

func testTokenCascade(t *testing.T, s *queries.Store, _ string) {
	u, v := mustUser(t, s, "tia", "reader"), mustUser(t, s, "uma", "reader")
	mustToken(t, s, u.ID, "device", "gone", nil)
	mustToken(t, s, v.ID, "device", "kept", nil)
	if err := s.DeleteUser(t.Context(), u.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.TokenByHash(t.Context(), "gone"); !errors.Is(err, queries.ErrNotFound) {
		t.Errorf("a deleted user's token is still found (err %v)", err)
	}
	if _, _, err := s.TokenByHash(t.Context(), "kept"); err != nil {
		t.Errorf("another user's token went too: %v", err)
	}
}

// auditAt is the base time of the audit tests, with nanoseconds that the store drops.
var auditAt = time.Date(2025, 3, 4, 5, 6, 7, 8_999_999, time.UTC)

func auditRecord(minute int, user, action, study string) queries.AuditRecord {
	return queries.AuditRecord{
		Time: auditAt.Add(time.Duration(minute) * time.Minute), Username: user, Action: action, StudyUID: study,
		Outcome: 200, Detail: fmt.Sprintf("%s %s %s at %d", user, action, study, minute),
	}
}

func mustSearch(t *testing.T, s *queries.Store, f queries.AuditFilter) []string {
	t.Helper()
	records, err := s.SearchAudit(t.Context(), f)
	if err != nil {
		t.Fatalf("SearchAudit(%+v): %v", f, err)
	}
	details := []string{}
	for _, r := range records {
		details = append(details, r.Detail)
	}
	return details
}

func testAuditAppend(t *testing.T, s *queries.Store, _ string) {
	if got, err := s.SearchAudit(t.Context(), queries.AuditFilter{}); err != nil || got == nil || len(got) != 0 {
		t.Errorf("SearchAudit of an empty trail = %#v, %v; want an empty slice", got, err)
	}
	if err := s.AppendAudit(t.Context(), nil); err != nil {
		t.Errorf("AppendAudit(nil): %v", err)
	}
	full := queries.AuditRecord{
		ID: 999, Time: auditAt.In(time.FixedZone("X", -7200)), Username: "vic", TokenName: "scanner", Role: "sender",
		Action: "store", StudyUID: "1.2", SeriesUID: "1.2.3", InstanceUID: "1.2.3.4", TargetUser: "wes",
		Outcome: 409, Client: "10.0.0.1", RequestID: "req-1", Detail: "first",
	}
	// One batch at one instant: the store keeps the batch's order (ids), newest first means last first.
	batch := []queries.AuditRecord{full}
	for _, d := range []string{"second", "third"} {
		r := auditRecord(0, "anonymous", "search", "")
		r.Detail = d
		batch = append(batch, r)
	}
	if err := s.AppendAudit(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	records, err := s.SearchAudit(t.Context(), queries.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 3 {
		t.Fatalf("%d records, want 3", len(records))
	}
	if got := []string{records[0].Detail, records[1].Detail, records[2].Detail}; !cmp.Equal(got, []string{"third", "second", "first"}) {
		t.Errorf("order %v, want the batch reversed", got)
	}
	if !(records[0].ID > records[1].ID && records[1].ID > records[2].ID) {
		t.Errorf("ids %d, %d, %d do not follow the batch order", records[2].ID, records[1].ID, records[0].ID)
	}
	want := full
	want.ID, want.Time = records[2].ID, ms(auditAt)
	if diff := cmp.Diff(want, records[2]); diff != "" {
		t.Errorf("stored record (-want +got):\n%s", diff)
	}
}

func testAuditFilters(t *testing.T, s *queries.Store, _ string) {
	// Appended out of time order in two batches: the search orders by time.
	if err := s.AppendAudit(t.Context(), []queries.AuditRecord{
		auditRecord(3, "ann", "retrieve", "1.1"),
		auditRecord(1, "ann", "store", "1.1"),
		auditRecord(2, "bo", "retrieve", "1.2"),
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(t.Context(), []queries.AuditRecord{
		auditRecord(5, "bo", "delete", "1.1"),
		auditRecord(4, "ann", "retrieve", "1.2"),
		auditRecord(0, "cy", "login", ""),
	}); err != nil {
		t.Fatal(err)
	}
	d := func(minute int, user, action, study string) string {
		return auditRecord(minute, user, action, study).Detail
	}
	at := func(minute int) time.Time { return auditAt.Add(time.Duration(minute) * time.Minute) }
	all := []string{d(5, "bo", "delete", "1.1"), d(4, "ann", "retrieve", "1.2"), d(3, "ann", "retrieve", "1.1"),
		d(2, "bo", "retrieve", "1.2"), d(1, "ann", "store", "1.1"), d(0, "cy", "login", "")}
	for name, c := range map[string]struct {
		filter queries.AuditFilter
		want   []string
	}{
		"all newest first":       {queries.AuditFilter{}, all},
		"username":               {queries.AuditFilter{Username: "ann"}, []string{all[1], all[2], all[4]}},
		"username exact":         {queries.AuditFilter{Username: "An"}, []string{}},
		"action":                 {queries.AuditFilter{Action: "retrieve"}, []string{all[1], all[2], all[3]}},
		"study":                  {queries.AuditFilter{StudyUID: "1.1"}, []string{all[0], all[2], all[4]}},
		"combined":               {queries.AuditFilter{Username: "ann", Action: "retrieve", StudyUID: "1.2"}, []string{all[1]}},
		"since is inclusive":     {queries.AuditFilter{Since: at(3)}, all[:3]},
		"until is exclusive":     {queries.AuditFilter{Until: at(3)}, all[3:]},
		"since and until":        {queries.AuditFilter{Since: at(1), Until: at(4)}, all[2:5]},
		"bounds in milliseconds": {queries.AuditFilter{Since: ms(at(2)).Add(time.Millisecond), Until: ms(at(4)).Add(time.Millisecond)}, all[1:3]},
		"limit":                  {queries.AuditFilter{Limit: 2}, all[:2]},
		"limit and offset":       {queries.AuditFilter{Limit: 2, Offset: 3}, all[3:5]},
		"offset only":            {queries.AuditFilter{Offset: 4}, all[4:]},
		"offset past the end":    {queries.AuditFilter{Limit: 2, Offset: 6}, []string{}},
		"filter and page":        {queries.AuditFilter{Action: "retrieve", Limit: 1, Offset: 1}, []string{all[2]}},
	} {
		if got := mustSearch(t, s, c.filter); !cmp.Equal(c.want, got) {
			t.Errorf("%s: got %v, want %v", name, got, c.want)
		}
	}
}

// The trail refuses UPDATE and DELETE even from a connection that bypasses the store.
func testAuditAppendOnly(t *testing.T, s *queries.Store, dsn string) {
	if err := s.AppendAudit(t.Context(), []queries.AuditRecord{auditRecord(0, "ann", "store", "1.1"), auditRecord(1, "bo", "store", "1.2")}); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, dsn)
	statements := []string{"UPDATE audit SET detail = 'forged'", "UPDATE audit SET outcome = 500 WHERE username = 'ann'",
		"DELETE FROM audit", "DELETE FROM audit WHERE username = 'bo'"}
	if s.Engine() == queries.Postgres {
		statements = append(statements, "TRUNCATE audit")
	}
	for _, stmt := range statements {
		_, err := db.ExecContext(t.Context(), stmt)
		if err == nil || !strings.Contains(err.Error(), "audit is append-only") {
			t.Errorf("%s: err = %v, want the append-only refusal", stmt, err)
		}
	}
	want := []string{auditRecord(1, "bo", "store", "1.2").Detail, auditRecord(0, "ann", "store", "1.1").Detail}
	if got := mustSearch(t, s, queries.AuditFilter{}); !cmp.Equal(want, got) {
		t.Errorf("trail after refused statements %v, want %v", got, want)
	}
	// Inserting stays possible through the same connection: the refusal is not a lack of rights.
	if _, err := db.ExecContext(t.Context(), "INSERT INTO audit (at, username, action, outcome) VALUES (1, 'x', 'y', 200)"); err != nil {
		t.Errorf("raw insert: %v", err)
	}
}

// rawDB opens a database/sql connection of its own on the store's database.
func rawDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	driver, name := "pgx", dsn
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		driver, name = "sqlite", path
	}
	db, err := sql.Open(driver, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
