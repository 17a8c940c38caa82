package users

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/medimg/medimg/queries"
)

func TestSignIn(t *testing.T) {
	forEachEngine(t, func(t *testing.T, store *queries.Store) {
		h := newHarness(t, store)
		h.createUser(t, "reader1", "reader")

		t.Run("password_grant_as_form_and_as_json", func(t *testing.T) {
			for _, body := range []any{
				url.Values{"grant_type": {"password"}, "username": {"reader1"}, "password": {"reader1 secret pass"}, "scope": {""}},
				url.Values{"username": {"READER1"}, "password": {"reader1 secret pass"}},
				map[string]string{"grant_type": "password", "username": "reader1", "password": "reader1 secret pass"},
			} {
				r := h.do(t, "POST", "/auth/token", "", body)
				var tok tokenJSON
				r.json(t, &tok)
				if r.status != 200 || tok.TokenType != "bearer" || tok.ExpiresIn != 3600 || !isTokenShaped(tok.AccessToken) || r.header.Get("Cache-Control") != "no-store" {
					t.Errorf("%v: %d %s %v", body, r.status, r.body, r.header)
				}
				if r := h.do(t, "GET", "/dicomweb/studies", bearer(tok.AccessToken), nil); r.status != 200 {
					t.Errorf("using the token: %d %s", r.status, r.body)
				}
			}
		})

		t.Run("unknown_user_and_wrong_password_get_the_same_answer", func(t *testing.T) {
			wrong := h.do(t, "POST", "/auth/token", "", url.Values{"username": {"reader1"}, "password": {"not the password"}})
			unknown := h.do(t, "POST", "/auth/token", "", url.Values{"username": {"nobody"}, "password": {"not the password"}})
			if wrong.status != 401 || unknown.status != 401 || wrong.body != unknown.body {
				t.Errorf("wrong password %d %s; unknown user %d %s", wrong.status, wrong.body, unknown.status, unknown.body)
			}
			if strings.Contains(wrong.body, "not the password") {
				t.Errorf("the answer echoes the password")
			}
			logs := h.logs.String()
			if !strings.Contains(logs, `msg="sign-in failed" username=nobody`) {
				t.Errorf("the failed sign-in is not logged:\n%s", logs)
			}
			for _, secret := range []string{"not the password", "reader1 secret pass", adminPassword, "argon2id"} {
				if strings.Contains(logs, secret) {
					t.Errorf("the log holds %q:\n%s", secret, logs)
				}
			}
		})

		t.Run("bad_token_requests", func(t *testing.T) {
			for name, c := range map[string]struct {
				body any
				want int
			}{
				"other_grant":      {url.Values{"grant_type": {"client_credentials"}, "username": {"reader1"}, "password": {"x"}}, 400},
				"missing_password": {url.Values{"username": {"reader1"}}, 400},
				"repeated_field":   {url.Values{"username": {"reader1", "admin"}, "password": {"x"}}, 400},
				"unknown_field":    {url.Values{"username": {"reader1"}, "password": {"x"}, "admin": {"1"}}, 400},
				"json_wrong_type":  {`{"username": ["reader1"], "password": "x"}`, 422},
				"overlong_name":    {url.Values{"username": {strings.Repeat("é", 5000)}, "password": {"x"}}, 401},
				"not_utf8":         {url.Values{"username": {"\xff"}, "password": {"\xfe"}}, 401},
			} {
				if r := h.do(t, "POST", "/auth/token", "", c.body); r.status != c.want {
					t.Errorf("%s: %d %s, want %d", name, r.status, r.body, c.want)
				}
			}
			if r := h.doRaw(t, "POST", "/auth/token", "", "text/plain", "username=reader1"); r.status != 415 {
				t.Errorf("text/plain: %d", r.status)
			}
		})

		t.Run("deactivated_users_cannot_sign_in_and_lose_their_tokens", func(t *testing.T) {
			u := h.createUser(t, "leaver", "reader")
			tok := h.token(t, "leaver", "leaver secret pass")
			h.do(t, "PATCH", fmt.Sprint("/users/", u.ID), bearer(h.admin), `{"active": false}`)
			if r := h.do(t, "GET", "/dicomweb/studies", bearer(tok), nil); r.status != 401 {
				t.Errorf("token of a deactivated user: %d", r.status)
			}
			if r := h.do(t, "GET", "/dicomweb/studies", basic("leaver", "leaver secret pass"), nil); r.status != 401 {
				t.Errorf("Basic of a deactivated user: %d", r.status)
			}
			if r := h.do(t, "POST", "/auth/token", "", url.Values{"username": {"leaver"}, "password": {"leaver secret pass"}}); r.status != 401 {
				t.Errorf("sign-in of a deactivated user: %d", r.status)
			}
		})

		t.Run("logout_revokes_the_token", func(t *testing.T) {
			tok := h.token(t, "reader1", "reader1 secret pass")
			if r := h.do(t, "POST", "/auth/logout", bearer(tok), nil); r.status != 204 {
				t.Fatalf("logout: %d %s", r.status, r.body)
			}
			if r := h.do(t, "GET", "/dicomweb/studies", bearer(tok), nil); r.status != 401 {
				t.Errorf("after logout: %d", r.status)
			}
			if r := h.do(t, "POST", "/auth/logout", basic("reader1", "reader1 secret pass"), nil); r.status != 400 {
				t.Errorf("logout with Basic: %d", r.status)
			}
		})

		t.Run("tokens_expire", func(t *testing.T) {
			tok := h.token(t, "reader1", "reader1 secret pass")
			h.clock.Advance(59 * time.Minute)
			if r := h.do(t, "GET", "/dicomweb/studies", bearer(tok), nil); r.status != 200 {
				t.Errorf("before expiry: %d", r.status)
			}
			h.clock.Advance(2 * time.Minute)
			if r := h.do(t, "GET", "/dicomweb/studies", bearer(tok), nil); r.status != 401 {
				t.Errorf("after expiry: %d", r.status)
			}
			if n, err := store.DeleteExpiredTokens(context.Background(), h.clock.Now()); err != nil || n == 0 {
				t.Errorf("expired tokens removed: %d %v", n, err)
			}
		})
	})
}

func TestBasic(t *testing.T) {
	forEachEngine(t, func(t *testing.T, store *queries.Store) {
		h := newHarness(t, store)
		u := h.createUser(t, "modality", "sender")
		good := basic("modality", "modality secret pass")
		success := func() float64 { return counterValue(t, h.svc.auth.metrics.signIns.WithLabelValues("success")) }

		before := success()
		for range 5 {
			if r := h.do(t, "POST", "/dicomweb/studies", good, nil); r.status != 200 {
				t.Fatalf("Basic STOW: %d %s", r.status, r.body)
			}
		}
		if n := success() - before; n != 1 {
			t.Errorf("5 Basic requests computed %v password hashes, want 1 (the rest from the cache)", n)
		}
		if r := h.do(t, "POST", "/dicomweb/studies", basic("modality", "modality secret pas"), nil); r.status != 401 {
			t.Errorf("a wrong password matched the cache: %d", r.status)
		}
		if r := h.do(t, "GET", "/dicomweb/studies", good, nil); r.status != 403 {
			t.Errorf("a sender searching: %d, want 403", r.status)
		}

		t.Run("a_password_change_empties_the_cache", func(t *testing.T) {
			h.do(t, "PATCH", fmt.Sprint("/users/", u.ID), bearer(h.admin), `{"password": "modality new secret"}`)
			if r := h.do(t, "POST", "/dicomweb/studies", good, nil); r.status != 401 {
				t.Errorf("the old Basic password after a change: %d", r.status)
			}
			if r := h.do(t, "POST", "/dicomweb/studies", basic("modality", "modality new secret"), nil); r.status != 200 {
				t.Errorf("the new Basic password: %d", r.status)
			}
		})

		t.Run("another_replica_sees_changes_within_five_seconds", func(t *testing.T) {
			other := newHarness(t, store)
			other.clock.now = h.clock.Now()
			creds := basic("modality", "modality new secret")
			tok := h.token(t, "modality", "modality new secret")
			for _, auth := range []string{creds, bearer(tok)} {
				if r := other.do(t, "POST", "/dicomweb/studies", auth, nil); r.status != 200 {
					t.Fatalf("replica 2 before the change: %d", r.status)
				}
			}
			// Replica 1 deactivates the user; replica 2 has both credentials cached.
			h.do(t, "PATCH", fmt.Sprint("/users/", u.ID), bearer(h.admin), `{"active": false}`)
			other.clock.Advance(recheckAfter)
			for _, auth := range []string{creds, bearer(tok)} {
				if r := other.do(t, "POST", "/dicomweb/studies", auth, nil); r.status != 401 {
					t.Errorf("replica 2 after %s: %d, want 401", recheckAfter, r.status)
				}
			}
		})
	})
}

func TestThrottle(t *testing.T) {
	h := newHarness(t, queriesSQLite(t))
	h.createUser(t, "target", "reader")
	wrong := url.Values{"username": {"target"}, "password": {"guess guess guess"}}
	for i := range freeFailuresPerUser + 1 {
		if r := h.do(t, "POST", "/auth/token", "", wrong); r.status != 401 {
			t.Fatalf("failure %d: %d", i+1, r.status)
		}
	}
	right := url.Values{"username": {"target"}, "password": {"target secret pass"}}
	r := h.do(t, "POST", "/auth/token", "", right)
	if r.status != 429 || r.header.Get("Retry-After") != "1" {
		t.Errorf("after %d failures: %d Retry-After %q, want 429 and 1", freeFailuresPerUser+1, r.status, r.header.Get("Retry-After"))
	}
	if r := h.do(t, "GET", "/dicomweb/studies", basic("target", "guess guess guess"), nil); r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Errorf("Basic while throttled: %d", r.status)
	}
	h.clock.Advance(time.Second)
	if r := h.do(t, "POST", "/auth/token", "", wrong); r.status != 401 {
		t.Errorf("after the wait: %d", r.status)
	}
	if r := h.do(t, "POST", "/auth/token", "", right); r.status != 429 || r.header.Get("Retry-After") != "2" {
		t.Errorf("the back-off doubles: %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	h.clock.Advance(2 * time.Second)
	if r := h.do(t, "POST", "/auth/token", "", right); r.status != 200 {
		t.Errorf("the right password after the wait: %d", r.status)
	}
	if r := h.do(t, "POST", "/auth/token", "", wrong); r.status != 401 {
		t.Errorf("a success resets the user's count: %d", r.status)
	}
}

func TestMalformedCredentials(t *testing.T) {
	h := newHarness(t, queriesSQLite(t))
	cases := map[string]string{
		"scheme_only":          "Bearer",
		"unknown_scheme":       "Digest username=x",
		"token_too_short":      "Bearer medimg_abc",
		"token_too_long":       "Bearer " + tokenPrefix + strings.Repeat("a", 44),
		"token_wrong_alphabet": "Bearer " + tokenPrefix + strings.Repeat("*", 43),
		"unknown_token":        "Bearer " + tokenPrefix + strings.Repeat("A", 43),
		"jwt_without_oidc":     "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
		"basic_not_base64":     "Basic !!!",
		"basic_without_colon":  "Basic " + "dXNlcg==",
		"basic_not_utf8":       basic("\xff\xfe", "x"),
		"basic_sql":            basic("admin' OR '1'='1", "' OR '1'='1"),
		"basic_overlong_user":  basic(strings.Repeat("u", 10000), "x"),
		"enormous_header":      "Bearer " + strings.Repeat("a", 20000),
		"tab_in_token":         "Bearer abc\tdef",
		"non_ascii_token":      "Bearer é",
	}
	for name, header := range cases {
		t.Run(name, func(t *testing.T) {
			r := h.doHeaders(t, "GET", "/dicomweb/studies", map[string]string{"Authorization": header}, "")
			if r.status != 401 || r.header.Get("WWW-Authenticate") != Challenge {
				t.Errorf("status %d, WWW-Authenticate %q, body %s", r.status, r.header.Get("WWW-Authenticate"), r.body)
			}
		})
	}
	if r := h.do(t, "GET", "/dicomweb/studies", "", nil); r.status != 401 || r.header.Get("WWW-Authenticate") != Challenge {
		t.Errorf("no credentials: %d %v", r.status, r.header)
	}
	if r := h.doHeaders(t, "GET", "/dicomweb/studies", map[string]string{"X-Requested-With": "XMLHttpRequest"}, ""); r.status != 401 || r.header.Get("WWW-Authenticate") != `Bearer realm="medimg"` {
		t.Errorf("a script's request without credentials: %d %q, want 401 without the Basic challenge (no browser dialog)", r.status, r.header.Get("WWW-Authenticate"))
	}
	if r := h.do(t, "GET", "/dicomweb/studies?access_token="+h.admin, "", nil); r.status != 401 {
		t.Errorf("a token in the query string was accepted: %d", r.status)
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"", "Bearer x", "Basic dXNlcjpwYXNz", "basic  dXNlcjpwYXNz ", "Bearer " + tokenPrefix + strings.Repeat("A", 43), "Basic Og=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		c, err := parseAuthorization(h)
		if err != nil {
			if c != (credentials{}) {
				t.Errorf("credentials %+v with error %v", c, err)
			}
			return
		}
		if (c.bearer == "") == (c.username == "") {
			t.Errorf("%q parsed to %+v: exactly one of bearer and username must be set", h, c)
		}
		if len(h) > maxAuthorization {
			t.Errorf("an oversized header parsed")
		}
	})
}

// BenchmarkAuthenticate is the per-request cost of checking credentials.
func BenchmarkAuthenticate(b *testing.B) {
	h := newHarness(b, queriesSQLite(b), func(c *Config) { c.Hash = DefaultParams })
	h.createUser(b, "bench", "reader")
	tok := h.token(b, "bench", "bench secret pass")
	ctx := context.Background()
	run := func(b *testing.B, header string, each func()) {
		if _, err := h.svc.auth.authenticate(ctx, header, "127.0.0.1"); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			each()
			if _, err := h.svc.auth.authenticate(ctx, header, "127.0.0.1"); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("bearer_cached", func(b *testing.B) { run(b, bearer(tok), func() {}) })
	b.Run("bearer_uncached", func(b *testing.B) {
		run(b, bearer(tok), func() { h.svc.auth.tokens.forget(func(Principal) bool { return true }) })
	})
	b.Run("basic_cached", func(b *testing.B) { run(b, basic("bench", "bench secret pass"), func() {}) })
	b.Run("basic_uncached", func(b *testing.B) {
		run(b, basic("bench", "bench secret pass"), func() { h.svc.auth.basic.forget(func(Principal) bool { return true }) })
	})
}

func counterValue(t testing.TB, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
