package users

import (
	"strings"
	"testing"
)

// TestLocalAndOIDC runs --auth local,oidc through the middleware: the identity provider's JWTs and
// medimg's own credentials side by side.
func TestLocalAndOIDC(t *testing.T) {
	key := newIDPRSAKey(t, "k1")
	idp := startIDP(t, key)
	clock := newOIDCClock()
	h := newHarness(t, queriesSQLite(t), func(c *Config) {
		c.OIDC = &OIDCConfig{Issuer: idp.issuer, Audience: "medimg", RolesClaim: "realm_access.roles", Now: clock.Now}
	})
	reader := bearer(key.sign(t, idp.claims(nil)))

	if r := h.do(t, "GET", "/dicomweb/studies", reader, nil); r.status != 200 {
		t.Errorf("a reader's JWT searching: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", "/dicomweb/studies", reader, nil); r.status != 403 {
		t.Errorf("a reader's JWT storing: %d", r.status)
	}
	if r := h.do(t, "GET", "/users/me", reader, nil); r.status != 200 || r.body != `{"username":"dr.grey","role":"reader","auth":"oidc"}` {
		t.Errorf("GET /users/me with a JWT: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", "/users/me/password", reader, `{"current_password": "x", "new_password": "y"}`); r.status != 400 {
		t.Errorf("changing an OIDC user's password: %d", r.status)
	}
	if r := h.do(t, "GET", "/dicomweb/studies", bearer(h.admin), nil); r.status != 200 {
		t.Errorf("a local token beside OIDC: %d", r.status)
	}
	noRole := bearer(key.sign(t, idp.claims(map[string]any{"realm_access": map[string]any{"roles": []string{"offline_access"}}})))
	if r := h.do(t, "GET", "/dicomweb/studies", noRole, nil); r.status != 403 || !strings.Contains(r.body, "no medimg role") {
		t.Errorf("a JWT without a medimg role: %d %s", r.status, r.body)
	}
	otherAudience := bearer(key.sign(t, idp.claims(map[string]any{"aud": "another-app"})))
	if r := h.do(t, "GET", "/dicomweb/studies", otherAudience, nil); r.status != 401 {
		t.Errorf("a JWT for another audience: %d", r.status)
	}
	clock.Advance(6 * 60e9)
	if r := h.do(t, "GET", "/dicomweb/studies", reader, nil); r.status != 401 {
		t.Errorf("an expired JWT: %d", r.status)
	}
	h.flushAudit(t)
	if r := h.do(t, "GET", "/audit?user=dr.grey&action=search", bearer(h.admin), nil); !strings.Contains(r.body, `"role":"reader"`) {
		t.Errorf("the JWT's requests in the audit trail: %s", r.body)
	}
}

func TestOIDCProviderDown(t *testing.T) {
	key := newIDPRSAKey(t, "k1")
	idp := startIDP(t, key)
	clock := newOIDCClock()
	h := newHarness(t, queriesSQLite(t), func(c *Config) {
		c.Local = false
		c.OIDC = &OIDCConfig{Issuer: "http://127.0.0.1:1/realms/none", Audience: "medimg", Now: clock.Now}
	})
	token := bearer(key.sign(t, idp.claims(map[string]any{"iss": "http://127.0.0.1:1/realms/none"})))
	if r := h.do(t, "GET", "/dicomweb/studies", token, nil); r.status != 503 {
		t.Errorf("identity provider unreachable: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", "/auth/token", "", map[string]string{"username": "admin", "password": "x"}); r.status != 404 {
		t.Errorf("password sign-in without --auth local: %d", r.status)
	}
	if r := h.do(t, "GET", "/dicomweb/studies", basic("admin", "x"), nil); r.status != 401 {
		t.Errorf("Basic without --auth local: %d", r.status)
	}
}
