package users

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/medimg/medimg/queries"
)

func TestUsersAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, store *queries.Store) {
		h := newHarness(t, store)
		admin := bearer(h.admin)

		t.Run("create_answers_201_with_location_and_never_the_password", func(t *testing.T) {
			r := h.do(t, "POST", "/users", admin, `{"username": "sergiporta", "password": "a long enough secret", "email": "sergiporta@gmail.com"}`)
			if r.status != 201 {
				t.Fatalf("status %d %s", r.status, r.body)
			}
			var u userJSON
			r.json(t, &u)
			if r.header.Get("Location") != fmt.Sprintf("/users/%d", u.ID) {
				t.Errorf("Location %q for id %d", r.header.Get("Location"), u.ID)
			}
			if u.Username != "sergiporta" || u.Email == nil || *u.Email != "sergiporta@gmail.com" || u.Role != "reader" || !u.Active || u.CreatedAt.IsZero() || u.UpdatedAt.IsZero() {
				t.Errorf("created user %+v", u)
			}
			var raw map[string]any
			r.json(t, &raw)
			keys := make([]string, 0, len(raw))
			for k := range raw {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if diff := cmp.Diff([]string{"active", "created_at", "email", "id", "role", "updated_at", "username"}, keys); diff != "" {
				t.Errorf("fields of a user (-want +got):\n%s", diff)
			}
			if strings.Contains(r.body, "secret") || strings.Contains(r.body, "argon2") {
				t.Errorf("the answer holds the password or its hash: %s", r.body)
			}
			got := h.do(t, "GET", "/users/"+fmt.Sprint(u.ID), admin, nil)
			if got.status != 200 || !strings.Contains(got.body, `"username":"sergiporta"`) || strings.Contains(got.body, "argon2") {
				t.Errorf("GET /users/%d: %d %s", u.ID, got.status, got.body)
			}
		})

		t.Run("list_is_ordered_by_id_with_limit_offset_and_skip", func(t *testing.T) {
			for i := range 4 {
				h.createUser(t, fmt.Sprintf("lister%d", i), "reader")
			}
			var all []userJSON
			h.do(t, "GET", "/users", admin, nil).json(t, &all)
			if len(all) < 6 || !slices.IsSortedFunc(all, func(a, b userJSON) int { return int(a.ID - b.ID) }) {
				t.Fatalf("GET /users: %d users, sorted %v", len(all), all)
			}
			for _, q := range []string{"limit=2&offset=1", "limit=2&skip=1"} {
				var page []userJSON
				h.do(t, "GET", "/users?"+q, admin, nil).json(t, &page)
				if len(page) != 2 || page[0].ID != all[1].ID || page[1].ID != all[2].ID {
					t.Errorf("GET /users?%s = %v, want ids %d, %d", q, page, all[1].ID, all[2].ID)
				}
			}
			for q, want := range map[string]int{"limit=1001": 422, "limit=0": 422, "limit=x": 422, "offset=-1": 422,
				"offset=1&skip=2": 422, "limit=1&limit=2": 400, "colour=blue": 400, "limit=1000": 200} {
				if r := h.do(t, "GET", "/users?"+q, admin, nil); r.status != want {
					t.Errorf("GET /users?%s: %d %s, want %d", q, r.status, r.body, want)
				}
			}
		})

		t.Run("invalid_fields_are_all_named_in_one_422", func(t *testing.T) {
			r := h.do(t, "POST", "/users", admin, `{"username": "bad name!", "password": "short", "email": "not-an-address", "role": "king"}`)
			var e errorBody
			r.json(t, &e)
			var fields []string
			for _, f := range e.Fields {
				fields = append(fields, f.Field)
			}
			slices.Sort(fields)
			if r.status != 422 || e.Code != "invalid" || !slices.Equal(fields, []string{"email", "password", "role", "username"}) {
				t.Errorf("status %d, code %q, fields %v", r.status, e.Code, fields)
			}
			if strings.Contains(r.body, "short") {
				t.Errorf("a message echoes the password: %s", r.body)
			}
			r = h.do(t, "POST", "/users", admin, `{}`)
			if r.status != 422 || !strings.Contains(r.body, `"field":"username"`) || !strings.Contains(r.body, `"field":"password"`) {
				t.Errorf("missing fields: %d %s", r.status, r.body)
			}
			for name, body := range map[string]string{
				"password_is_the_username": `{"username": "Samesame1", "password": "samesame1"}`,
				"common_password":          `{"username": "someone", "password": "Password1"}`,
				"username_too_long":        `{"username": "` + strings.Repeat("a", 65) + `", "password": "a long enough secret"}`,
				"username_with_sql":        `{"username": "x'; DROP TABLE users;--", "password": "a long enough secret"}`,
			} {
				if r := h.do(t, "POST", "/users", admin, body); r.status != 422 {
					t.Errorf("%s: %d %s, want 422", name, r.status, r.body)
				}
			}
		})

		t.Run("username_and_email_are_unique_without_regard_to_case", func(t *testing.T) {
			h.do(t, "POST", "/users", admin, `{"username": "unique1", "password": "a long enough secret", "email": "u1@example.org"}`)
			for name, body := range map[string]string{
				"username": `{"username": "UNIQUE1", "password": "a long enough secret"}`,
				"email":    `{"username": "unique2", "password": "a long enough secret", "email": "U1@Example.ORG"}`,
			} {
				r := h.do(t, "POST", "/users", admin, body)
				if r.status != 409 || !strings.Contains(r.body, name) {
					t.Errorf("%s taken: %d %s", name, r.status, r.body)
				}
			}
		})

		t.Run("bad_bodies_get_precise_4xx", func(t *testing.T) {
			cases := []struct {
				name, contentType, body string
				want                    int
			}{
				{"malformed", "application/json", `{"username": `, 400},
				{"not_an_object", "application/json", `["a"]`, 400},
				{"unknown_field", "application/json", `{"username": "x", "password": "a long enough secret", "admin": true}`, 400},
				{"duplicate_key", "application/json", `{"username": "dupkey", "password": "a long enough secret", "role": "reader", "role": "admin"}`, 400},
				{"trailing_data", "application/json", `{"username": "x"} {}`, 400},
				{"wrong_type", "application/json", `{"username": 5, "password": "a long enough secret"}`, 422},
				{"not_utf8", "application/json", "{\"username\": \"\xff\xfe\", \"password\": \"a long enough secret\"}", 400},
				{"not_json", "text/plain", `{"username": "x"}`, 415},
				{"form", "application/x-www-form-urlencoded", `username=x`, 415},
				{"huge", "application/json", `{"username": "` + strings.Repeat("a", 100<<10) + `"}`, 413},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					r := h.doRaw(t, "POST", "/users", admin, c.contentType, c.body)
					if r.status != c.want || !strings.Contains(r.body, `"code"`) {
						t.Errorf("status %d %s, want %d with the JSON error body", r.status, r.body, c.want)
					}
				})
			}
			if r := h.do(t, "GET", "/users/999999", admin, nil); r.status != 404 {
				t.Errorf("unknown id: %d", r.status)
			}
			if r := h.do(t, "GET", "/users/abc", admin, nil); r.status != 404 {
				t.Errorf("non-numeric id: %d", r.status)
			}
		})

		t.Run("patch_changes_each_field", func(t *testing.T) {
			u := h.createUser(t, "patchme", "reader")
			path := fmt.Sprint("/users/", u.ID)
			r := h.do(t, "PATCH", path, admin, `{"email": "patch@example.org", "role": "editor"}`)
			var got userJSON
			r.json(t, &got)
			if r.status != 200 || got.Role != "editor" || got.Email == nil || *got.Email != "patch@example.org" || !got.UpdatedAt.After(u.UpdatedAt.Add(-1)) {
				t.Errorf("PATCH: %d %s", r.status, r.body)
			}
			h.do(t, "PATCH", path, admin, `{"email": ""}`).json(t, &got)
			if got.Email != nil {
				t.Errorf("email not removed: %v", *got.Email)
			}
			if r := h.do(t, "PATCH", path, admin, `{"password": "a brand new secret"}`); r.status != 200 {
				t.Errorf("password: %d %s", r.status, r.body)
			}
			h.token(t, "patchme", "a brand new secret")
			if r := h.do(t, "PATCH", path, admin, `{"role": "boss", "password": "x", "email": "@"}`); r.status != 422 || strings.Count(r.body, `"field"`) != 3 {
				t.Errorf("invalid patch: %d %s", r.status, r.body)
			}
			if r := h.do(t, "PATCH", path, admin, `{"active": "no"}`); r.status != 422 {
				t.Errorf("wrong type: %d %s", r.status, r.body)
			}
			if r := h.do(t, "PATCH", "/users/999999", admin, `{"role": "reader"}`); r.status != 404 {
				t.Errorf("unknown id: %d", r.status)
			}
		})

		t.Run("the_last_active_admin_stays", func(t *testing.T) {
			var me userJSON
			h.do(t, "GET", "/users/me", admin, nil).json(t, &me)
			path := fmt.Sprint("/users/", me.ID)
			for _, body := range []string{`{"role": "reader"}`, `{"active": false}`} {
				if r := h.do(t, "PATCH", path, admin, body); r.status != 409 || !strings.Contains(r.body, "last_admin") {
					t.Errorf("PATCH %s on the last admin: %d %s", body, r.status, r.body)
				}
			}
			if r := h.do(t, "DELETE", path, admin, nil); r.status != 409 {
				t.Errorf("DELETE the last admin: %d %s", r.status, r.body)
			}
			other := h.createUser(t, "admin2", "admin")
			if r := h.do(t, "PATCH", fmt.Sprint("/users/", other.ID), admin, `{"role": "reader"}`); r.status != 200 {
				t.Errorf("demoting one of two admins: %d %s", r.status, r.body)
			}
		})

		t.Run("delete_answers_204_and_the_user_is_gone", func(t *testing.T) {
			u := h.createUser(t, "deleteme", "reader")
			tok := h.token(t, "deleteme", "deleteme secret pass")
			path := fmt.Sprint("/users/", u.ID)
			if r := h.do(t, "DELETE", path, admin, nil); r.status != 204 || r.body != "" {
				t.Errorf("DELETE: %d %q", r.status, r.body)
			}
			if r := h.do(t, "GET", path, admin, nil); r.status != 404 {
				t.Errorf("GET after DELETE: %d", r.status)
			}
			if r := h.do(t, "GET", "/dicomweb/studies", bearer(tok), nil); r.status != 401 {
				t.Errorf("a deleted user's token: %d", r.status)
			}
		})

		t.Run("me_and_own_password_change", func(t *testing.T) {
			h.createUser(t, "changer", "reader")
			tok := h.token(t, "changer", "changer secret pass")
			r := h.do(t, "GET", "/users/me", bearer(tok), nil)
			if r.status != 200 || !strings.Contains(r.body, `"username":"changer"`) {
				t.Errorf("GET /users/me: %d %s", r.status, r.body)
			}
			for body, field := range map[string]string{
				`{"current_password": "wrong wrong wrong", "new_password": "another long secret"}`: "current_password",
				`{"current_password": "changer secret pass", "new_password": "changer"}`:           "new_password",
			} {
				if r := h.do(t, "POST", "/users/me/password", bearer(tok), body); r.status != 422 || !strings.Contains(r.body, field) {
					t.Errorf("%s: %d %s", body, r.status, r.body)
				}
			}
			if r := h.do(t, "POST", "/users/me/password", bearer(tok), `{"current_password": "changer secret pass", "new_password": "another long secret"}`); r.status != 204 {
				t.Fatalf("change: %d %s", r.status, r.body)
			}
			if r := h.do(t, "GET", "/users/me", bearer(tok), nil); r.status != 401 {
				t.Errorf("the session token survived a password change: %d", r.status)
			}
			if r := h.do(t, "POST", "/auth/token", "", url.Values{"username": {"changer"}, "password": {"changer secret pass"}}); r.status != 401 {
				t.Errorf("the old password still signs in: %d", r.status)
			}
			h.token(t, "changer", "another long secret")
		})
	})
}

// doRaw sends a body with a given content type.
func (h *harness) doRaw(t testing.TB, method, path, auth, contentType, body string) response {
	t.Helper()
	return h.doHeaders(t, method, path, map[string]string{"Authorization": auth, "Content-Type": contentType}, body)
}
