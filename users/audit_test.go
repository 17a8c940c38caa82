package users

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/medimg/medimg/queries"
)

func TestAuditTrail(t *testing.T) {
	forEachEngine(t, func(t *testing.T, store *queries.Store) {
		h := newHarness(t, store)
		admin := bearer(h.admin)
		u := h.createUser(t, "audited", "editor")
		h.do(t, "POST", "/auth/token", "", url.Values{"username": {"audited"}, "password": {"wrong password!"}})
		tok := h.token(t, "audited", "audited secret pass")
		h.do(t, "GET", "/dicomweb/studies?PatientID=P1", bearer(tok), nil)
		h.do(t, "DELETE", "/dicomweb/studies/1.2.3", bearer(tok), nil)
		h.do(t, "GET", "/dicomweb/studies", "", nil)
		h.do(t, "GET", "/dicomweb/studies", basic("audited", "not it at all"), nil)
		h.doHeaders(t, "GET", "/dicomweb/studies", map[string]string{"Authorization": bearer(tok), "X-Request-ID": "req-42"}, "")
		h.do(t, "PATCH", fmt.Sprint("/users/", u.ID), admin, `{"role": "reader"}`)
		h.do(t, "POST", fmt.Sprint("/users/", u.ID, "/tokens"), admin, `{"name": "scanner"}`)
		h.do(t, "DELETE", "/dicomweb/studies/\xff%00", bearer(tok), nil)
		h.flushAudit(t)

		search := func(q string) []auditJSON {
			t.Helper()
			var out []auditJSON
			r := h.do(t, "GET", "/audit?"+q, admin, nil)
			if r.status != 200 {
				t.Fatalf("GET /audit?%s: %d %s", q, r.status, r.body)
			}
			r.json(t, &out)
			return out
		}
		all := search("")
		if len(all) < 10 || all[0].ID < all[len(all)-1].ID {
			t.Fatalf("the trail has %d records, newest first: %+v", len(all), all)
		}
		has := func(records []auditJSON, want func(auditJSON) bool, what string) {
			t.Helper()
			for _, r := range records {
				if want(r) {
					return
				}
			}
			t.Errorf("no record of %s in %+v", what, records)
		}
		has(all, func(r auditJSON) bool {
			return r.Action == ActionUserCreated && r.User == "admin" && r.Role == "admin" && r.TargetUser == "audited" && r.Outcome == 201
		}, "the user's creation")
		has(all, func(r auditJSON) bool {
			return r.Action == ActionSignInFailed && r.User == "audited" && r.Outcome == 401
		}, "the failed sign-in")
		has(all, func(r auditJSON) bool { return r.Action == ActionSignIn && r.User == "audited" && r.Outcome == 200 }, "the sign-in")
		has(all, func(r auditJSON) bool {
			return r.Action == ActionSearch && r.User == "audited" && r.Role == "editor" && strings.Contains(r.Detail, "PatientID=P1") && r.Client == "127.0.0.1"
		}, "the search with its query")
		has(all, func(r auditJSON) bool { return r.Action == ActionDelete && r.Study == "1.2.3" && r.Outcome == 200 }, "the delete")
		has(all, func(r auditJSON) bool { return r.Action == ActionSearch && r.User == "anonymous" && r.Outcome == 401 }, "the request without credentials")
		has(all, func(r auditJSON) bool { return r.Action == ActionSignInFailed && r.User == "audited" && r.Detail != "" }, "the failed Basic sign-in")
		has(all, func(r auditJSON) bool { return r.RequestID == "req-42" }, "the request ID")
		has(all, func(r auditJSON) bool { return r.Action == ActionUserChanged && r.TargetUser == "audited" }, "the role change")
		has(all, func(r auditJSON) bool {
			return r.Action == ActionTokenCreated && r.TargetUser == "audited" && r.Detail == "token scanner"
		}, "the device token")
		has(all, func(r auditJSON) bool { return r.Action == ActionDelete && strings.Contains(r.Study, "\uFFFD") }, "the hostile path, stored safely")
		if strings.Contains(h.do(t, "GET", "/audit", admin, nil).body, "secret pass") {
			t.Errorf("a password reached the audit trail")
		}

		for q, want := range map[string]func(auditJSON) bool{
			"user=audited":         func(r auditJSON) bool { return r.User == "audited" },
			"action=delete":        func(r auditJSON) bool { return r.Action == ActionDelete },
			"study=1.2.3":          func(r auditJSON) bool { return r.Study == "1.2.3" },
			"since=2000-01-01":     func(auditJSON) bool { return true },
			"user=audited&limit=2": func(r auditJSON) bool { return r.User == "audited" },
		} {
			got := search(q)
			if len(got) == 0 {
				t.Errorf("%s found nothing", q)
			}
			for _, r := range got {
				if !want(r) {
					t.Errorf("%s returned %+v", q, r)
				}
			}
		}
		if got := search("user=audited&limit=2"); len(got) != 2 {
			t.Errorf("limit=2 gave %d", len(got))
		}
		if got := search("until=" + url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339))); len(got) != 0 {
			t.Errorf("until an hour ago gave %d records", len(got))
		}
		for _, q := range []string{"action=dance", "since=yesterday", "limit=5000", "usr=x", "since=2030-01-01&until=2020-01-01"} {
			if r := h.do(t, "GET", "/audit?"+q, admin, nil); r.status != 400 && r.status != 422 {
				t.Errorf("GET /audit?%s: %d", q, r.status)
			}
		}
		if r := h.do(t, "GET", "/audit", bearer(tok), nil); r.status != 403 {
			t.Errorf("a reader read the audit trail: %d", r.status)
		}
	})
}

func TestDeviceTokens(t *testing.T) {
	forEachEngine(t, func(t *testing.T, store *queries.Store) {
		h := newHarness(t, store)
		dev := h.createUser(t, "gateway", "sender")
		other := h.createUser(t, "someone", "reader")
		own := basic("gateway", "gateway secret pass")
		path := fmt.Sprint("/users/", dev.ID, "/tokens")

		r := h.do(t, "POST", path, own, `{"name": "CT scanner 2", "expires_in": 86400}`)
		var created deviceTokenJSON
		r.json(t, &created)
		if r.status != 201 || !isTokenShaped(created.Token) || created.ExpiresAt == nil || created.LastUsedAt != nil ||
			r.header.Get("Location") != fmt.Sprint(path, "/", created.ID) {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		if r := h.do(t, "POST", "/dicomweb/studies", bearer(created.Token), nil); r.status != 200 {
			t.Errorf("using the device token: %d", r.status)
		}
		var list []deviceTokenJSON
		lr := h.do(t, "GET", path, own, nil)
		lr.json(t, &list)
		if len(list) != 1 || list[0].Name != "CT scanner 2" || list[0].LastUsedAt == nil || strings.Contains(lr.body, created.Token) || strings.Contains(lr.body, `"token"`) {
			t.Errorf("list: %s", lr.body)
		}
		if r := h.do(t, "GET", path, bearer(h.admin), nil); r.status != 200 {
			t.Errorf("an admin listing another user's tokens: %d", r.status)
		}
		if r := h.do(t, "GET", fmt.Sprint("/users/", other.ID, "/tokens"), own, nil); r.status != 403 {
			t.Errorf("a sender listing another user's tokens: %d", r.status)
		}
		for body, want := range map[string]int{`{}`: 422, `{"name": ""}`: 422, `{"name": "x", "expires_in": 0}`: 422, `{"name": "x", "expires_in": "1"}`: 422} {
			if r := h.do(t, "POST", path, own, body); r.status != want {
				t.Errorf("create %s: %d, want %d", body, r.status, want)
			}
		}
		if r := h.do(t, "DELETE", fmt.Sprint("/users/", other.ID, "/tokens/", created.ID), bearer(h.admin), nil); r.status != 404 {
			t.Errorf("revoking through another user: %d", r.status)
		}
		if r := h.do(t, "DELETE", fmt.Sprint(path, "/", created.ID), own, nil); r.status != 204 {
			t.Errorf("revoke: %d", r.status)
		}
		if r := h.do(t, "POST", "/dicomweb/studies", bearer(created.Token), nil); r.status != 401 {
			t.Errorf("a revoked device token: %d", r.status)
		}
		pw := h.do(t, "POST", path, own, `{"name": "keeps"}`)
		var keeps deviceTokenJSON
		pw.json(t, &keeps)
		h.do(t, "PATCH", fmt.Sprint("/users/", dev.ID), bearer(h.admin), `{"password": "gateway next secret"}`)
		if r := h.do(t, "POST", "/dicomweb/studies", bearer(keeps.Token), nil); r.status != 200 {
			t.Errorf("a device token after its user's password change: %d, want it kept", r.status)
		}
	})
}
