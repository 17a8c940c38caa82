package users

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
)

// oidcEpoch is the test clock's start; tokens are issued at it and expire five minutes later.
var oidcEpoch = time.Date(2026, time.March, 2, 8, 0, 0, 0, time.UTC)

const oidcSubject = "5d0c8f7e-2b7a-4c1e-9a57-0f4b3c2d1e6a"

// oidcClock is a settable clock: for the OIDC Now hook and the service under test.
type oidcClock struct {
	mu  sync.Mutex
	now time.Time
}

func newOIDCClock() *oidcClock { return &oidcClock{now: oidcEpoch} }

func (c *oidcClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *oidcClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// idpKey is a signing key of the test identity provider.
type idpKey struct {
	kid     string
	alg     jose.SignatureAlgorithm
	private crypto.Signer
}

func newIDPRSAKey(t testing.TB, kid string) idpKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return idpKey{kid: kid, alg: jose.RS256, private: k}
}

func newIDPECKey(t testing.TB, kid string) idpKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return idpKey{kid: kid, alg: jose.ES256, private: k}
}

func (k idpKey) jwk() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.private.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

// sign returns claims as a compact JWT signed with k.
func (k idpKey) sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	key := jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.private, KeyID: k.kid}}
	signer, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	token, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// idpRealm is the path of the test issuer, as in Keycloak.
const idpRealm = "/realms/hospital"

// testIDP is an identity provider: a discovery document and a JWKS, counting requests.
type testIDP struct {
	issuer      string
	discoveries atomic.Int32
	jwksFetches atomic.Int32

	mu         sync.Mutex
	keys       []jose.JSONWebKey
	jwksStatus int // an error status for the JWKS, or 0
}

func (p *testIDP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	path, ok := strings.CutPrefix(r.URL.Path, idpRealm)
	switch {
	case ok && path == "/.well-known/openid-configuration":
		p.discoveries.Add(1)
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                p.issuer,
			"jwks_uri":                              p.issuer + "/protocol/openid-connect/certs",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256", "HS256", "none"},
		})
	case ok && path == "/protocol/openid-connect/certs":
		p.jwksFetches.Add(1)
		p.mu.Lock()
		keys, status := p.keys, p.jwksStatus
		p.mu.Unlock()
		if status != 0 {
			http.Error(w, "unavailable", status)
			return
		}
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: keys})
	default:
		http.NotFound(w, r)
	}
}

// publish replaces the JWKS by the public halves of keys.
func (p *testIDP) publish(keys ...idpKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = nil
	for _, k := range keys {
		p.keys = append(p.keys, k.jwk())
	}
}

func (p *testIDP) failJWKS(status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.jwksStatus = status
}

// startIDP serves an identity provider publishing keys.
func startIDP(t testing.TB, keys ...idpKey) *testIDP {
	p := &testIDP{}
	srv := httptest.NewUnstartedServer(p)
	p.issuer = "http://" + srv.Listener.Addr().String() + idpRealm
	srv.Start()
	t.Cleanup(srv.Close)
	p.publish(keys...)
	return p
}

// claims returns the claims of a valid token of p for medimg, with edits applied; a nil value
// removes the claim.
func (p *testIDP) claims(edits map[string]any) map[string]any {
	c := map[string]any{
		"iss":                p.issuer,
		"aud":                []string{"account", "medimg"},
		"sub":                oidcSubject,
		"iat":                oidcEpoch.Unix(),
		"exp":                oidcEpoch.Add(5 * time.Minute).Unix(),
		"preferred_username": "dr.grey",
		"email":              "grey@example.org",
		"realm_access":       map[string]any{"roles": []string{"offline_access", "reader"}},
	}
	for name, v := range edits {
		if v == nil {
			delete(c, name)
		} else {
			c[name] = v
		}
	}
	return c
}

func newTestOIDC(t testing.TB, issuer, rolesClaim string, clock *oidcClock) *OIDC {
	t.Helper()
	o, err := NewOIDC(OIDCConfig{Issuer: issuer, Audience: "medimg", RolesClaim: rolesClaim, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkOIDCError fails unless err is want and none of the other authentication errors.
func checkOIDCError(t *testing.T, p Principal, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	for _, other := range []error{ErrInvalidCredentials, ErrNoRole, ErrUnavailable} {
		if other != want && errors.Is(err, other) {
			t.Errorf("error %v is also %v", err, other)
		}
	}
	if p != (Principal{}) {
		t.Errorf("principal %+v returned with an error", p)
	}
}

func TestNewOIDC(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  OIDCConfig
		ok   bool
	}{
		{"accepts an https issuer with a path", OIDCConfig{Issuer: "https://keycloak.example.org/realms/hospital", Audience: "medimg"}, true},
		{"accepts an http issuer for development", OIDCConfig{Issuer: "http://localhost:8080/realms/dev", Audience: "medimg"}, true},
		{"accepts a nested roles claim", OIDCConfig{Issuer: "https://idp.example.org", Audience: "medimg", RolesClaim: "resource_access.medimg.roles"}, true},
		{"refuses an empty issuer", OIDCConfig{Audience: "medimg"}, false},
		{"refuses an issuer without a scheme", OIDCConfig{Issuer: "keycloak.example.org/realms/hospital", Audience: "medimg"}, false},
		{"refuses another scheme", OIDCConfig{Issuer: "ftp://idp.example.org", Audience: "medimg"}, false},
		{"refuses an issuer with a query", OIDCConfig{Issuer: "https://idp.example.org/?tenant=x", Audience: "medimg"}, false},
		{"refuses an issuer with credentials", OIDCConfig{Issuer: "https://u:p@idp.example.org", Audience: "medimg"}, false},
		{"refuses a missing audience", OIDCConfig{Issuer: "https://idp.example.org"}, false},
		{"refuses an empty segment in the roles path", OIDCConfig{Issuer: "https://idp.example.org", Audience: "medimg", RolesClaim: "realm_access..roles"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := NewOIDC(tc.cfg)
			if tc.ok && (err != nil || o == nil) {
				t.Fatalf("NewOIDC: %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatal("NewOIDC accepted the configuration")
			}
		})
	}
	t.Run("defaults the roles claim, client and clock without touching the network", func(t *testing.T) {
		idp := startIDP(t)
		o, err := NewOIDC(OIDCConfig{Issuer: idp.issuer, Audience: "medimg"})
		if err != nil {
			t.Fatal(err)
		}
		if o.rolesClaim != "roles" || o.client == nil || o.client.Timeout != 10*time.Second || o.now == nil {
			t.Errorf("defaults: roles claim %q, client %+v, now set %v", o.rolesClaim, o.client, o.now != nil)
		}
		if n := idp.discoveries.Load() + idp.jwksFetches.Load(); n != 0 {
			t.Errorf("%d requests to the identity provider", n)
		}
	})
}

func TestOIDCAuthenticate(t *testing.T) {
	rsaKey, ecKey := newIDPRSAKey(t, "rsa-2026"), newIDPECKey(t, "ec-2026")
	idp := startIDP(t, rsaKey, ecKey)
	for _, tc := range []struct {
		name       string
		rolesClaim string
		key        *idpKey // nil: rsaKey
		edits      map[string]any
		want       Principal
	}{
		{
			name: "realm roles map to the role and the preferred username", rolesClaim: "realm_access.roles",
			want: Principal{Username: "dr.grey", Role: RoleReader, Method: MethodOIDC},
		},
		{
			name: "client roles are found under a nested path", rolesClaim: "resource_access.medimg.roles",
			edits: map[string]any{"resource_access": map[string]any{
				"medimg":  map[string]any{"roles": []string{"editor"}},
				"grafana": map[string]any{"roles": []string{"admin"}},
			}},
			want: Principal{Username: "dr.grey", Role: RoleEditor, Method: MethodOIDC},
		},
		{
			name: "a single string is one role", edits: map[string]any{"roles": "admin"},
			want: Principal{Username: "dr.grey", Role: RoleAdmin, Method: MethodOIDC},
		},
		{
			name: "admin wins over every other role", edits: map[string]any{"roles": []string{"sender", "reader", "admin", "editor"}},
			want: Principal{Username: "dr.grey", Role: RoleAdmin, Method: MethodOIDC},
		},
		{
			name: "editor wins over reader and sender", edits: map[string]any{"roles": []string{"reader", "sender", "editor"}},
			want: Principal{Username: "dr.grey", Role: RoleEditor, Method: MethodOIDC},
		},
		{
			name: "reader wins over sender", edits: map[string]any{"roles": []string{"sender", "reader"}},
			want: Principal{Username: "dr.grey", Role: RoleReader, Method: MethodOIDC},
		},
		{
			name: "role names match exactly and others are ignored", edits: map[string]any{"roles": []any{"Admin", "admins", " editor", 7, "sender"}},
			want: Principal{Username: "dr.grey", Role: RoleSender, Method: MethodOIDC},
		},
		{
			name: "a top-level claim named with dots is found", rolesClaim: "https://medimg.example.org/roles",
			edits: map[string]any{"https://medimg.example.org/roles": []string{"editor"}},
			want:  Principal{Username: "dr.grey", Role: RoleEditor, Method: MethodOIDC},
		},
		{
			name: "the username falls back to the email", rolesClaim: "realm_access.roles",
			edits: map[string]any{"preferred_username": nil},
			want:  Principal{Username: "grey@example.org", Role: RoleReader, Method: MethodOIDC},
		},
		{
			name: "the username falls back to the subject", rolesClaim: "realm_access.roles",
			edits: map[string]any{"preferred_username": nil, "email": nil},
			want:  Principal{Username: oidcSubject, Role: RoleReader, Method: MethodOIDC},
		},
		{
			name: "an audience string equal to the audience is accepted", rolesClaim: "realm_access.roles",
			edits: map[string]any{"aud": "medimg"},
			want:  Principal{Username: "dr.grey", Role: RoleReader, Method: MethodOIDC},
		},
		{
			name: "a not-before thirty seconds ahead is within the leeway", rolesClaim: "realm_access.roles",
			edits: map[string]any{"nbf": oidcEpoch.Add(30 * time.Second).Unix()},
			want:  Principal{Username: "dr.grey", Role: RoleReader, Method: MethodOIDC},
		},
		{
			name: "an ES256 token verifies with the EC key", rolesClaim: "realm_access.roles", key: &ecKey,
			want: Principal{Username: "dr.grey", Role: RoleReader, Method: MethodOIDC},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := rsaKey
			if tc.key != nil {
				key = *tc.key
			}
			o := newTestOIDC(t, idp.issuer, tc.rolesClaim, newOIDCClock())
			got, err := o.Authenticate(t.Context(), key.sign(t, idp.claims(tc.edits)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOIDCAuthenticateRefuses(t *testing.T) {
	key := newIDPRSAKey(t, "rsa-2026")
	idp := startIDP(t, key)
	o := newTestOIDC(t, idp.issuer, "realm_access.roles", newOIDCClock())
	valid := key.sign(t, idp.claims(nil))
	signed := func(edits map[string]any) func(*testing.T) string {
		return func(t *testing.T) string { return key.sign(t, idp.claims(edits)) }
	}
	for _, tc := range []struct {
		name  string
		token func(*testing.T) string
		want  error // nil: accepted, the control
	}{
		{"the unmodified token is accepted", func(*testing.T) string { return valid }, nil},
		{"a token for another audience", signed(map[string]any{"aud": []string{"account", "grafana"}}), ErrInvalidCredentials},
		{"a token without an audience", signed(map[string]any{"aud": nil}), ErrInvalidCredentials},
		{"an expired token", signed(map[string]any{"exp": oidcEpoch.Add(-time.Second).Unix()}), ErrInvalidCredentials},
		{"a token without an expiry", signed(map[string]any{"exp": nil}), ErrInvalidCredentials},
		{"a token not valid for two more minutes", signed(map[string]any{"nbf": oidcEpoch.Add(2 * time.Minute).Unix()}), ErrInvalidCredentials},
		{"a token from another issuer", signed(map[string]any{"iss": "https://evil.example.org/realms/hospital"}), ErrInvalidCredentials},
		{"a token signed by a key not in the JWKS", func(t *testing.T) string {
			return newIDPRSAKey(t, "rsa-unknown").sign(t, idp.claims(nil))
		}, ErrInvalidCredentials},
		{"a token signed by another key under a published kid", func(t *testing.T) string {
			return newIDPRSAKey(t, key.kid).sign(t, idp.claims(nil))
		}, ErrInvalidCredentials},
		{"a token whose payload was altered after signing", func(t *testing.T) string {
			parts := strings.Split(valid, ".")
			raised := idp.claims(map[string]any{"realm_access": map[string]any{"roles": []string{"admin"}}})
			return parts[0] + "." + b64(mustJSON(t, raised)) + "." + parts[2]
		}, ErrInvalidCredentials},
		{"an unsigned token with alg none", func(t *testing.T) string {
			return b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(mustJSON(t, idp.claims(nil))) + "."
		}, ErrInvalidCredentials},
		{"an HS256 token keyed with the RSA public key", func(t *testing.T) string {
			der, err := x509.MarshalPKIXPublicKey(key.private.Public())
			if err != nil {
				t.Fatal(err)
			}
			secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", key.kid)
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: secret}, opts)
			if err != nil {
				t.Fatal(err)
			}
			token, err := jwt.Signed(signer).Claims(idp.claims(nil)).Serialize()
			if err != nil {
				t.Fatal(err)
			}
			return token
		}, ErrInvalidCredentials},
		{"a correctly signed JWS in JSON serialization", func(t *testing.T) string {
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: key.alg, Key: jose.JSONWebKey{Key: key.private, KeyID: key.kid}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			jws, err := signer.Sign([]byte(mustJSON(t, idp.claims(nil))))
			if err != nil {
				t.Fatal(err)
			}
			return jws.FullSerialize()
		}, ErrInvalidCredentials},
		{"garbage", func(*testing.T) string { return "not a token at all" }, ErrInvalidCredentials},
		{"garbage in the shape of a JWT", func(*testing.T) string { return "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl" }, ErrInvalidCredentials},
		{"an empty token", func(*testing.T) string { return "" }, ErrInvalidCredentials},
		{"a correctly signed token over 16 KiB", signed(map[string]any{"padding": strings.Repeat("x", 16<<10)}), ErrInvalidCredentials},
		{"a valid token without a medimg role", signed(map[string]any{"realm_access": map[string]any{"roles": []string{"offline_access", "uma_authorization"}}}), ErrNoRole},
		{"a valid token without the roles claim", signed(map[string]any{"realm_access": nil}), ErrNoRole},
		{"a valid token with roles of the wrong shape", signed(map[string]any{"realm_access": map[string]any{"roles": map[string]any{"admin": true}}}), ErrNoRole},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := o.Authenticate(t.Context(), tc.token(t))
			if tc.want == nil {
				if err != nil || p.Role != RoleReader {
					t.Fatalf("got %+v, %v; want the reader dr.grey", p, err)
				}
				return
			}
			checkOIDCError(t, p, err, tc.want)
		})
	}
}

func TestOIDCKeyRotation(t *testing.T) {
	old := newIDPRSAKey(t, "2026-01")
	idp := startIDP(t, old)
	o := newTestOIDC(t, idp.issuer, "realm_access.roles", newOIDCClock())
	oldToken := old.sign(t, idp.claims(nil))
	if _, err := o.Authenticate(t.Context(), oldToken); err != nil {
		t.Fatalf("before the rotation: %v", err)
	}
	next := newIDPECKey(t, "2026-03")
	idp.publish(next)
	fetches := idp.jwksFetches.Load()

	t.Run("a token signed with the new key verifies without a restart", func(t *testing.T) {
		p, err := o.Authenticate(t.Context(), next.sign(t, idp.claims(nil)))
		if err != nil || p.Username != "dr.grey" {
			t.Fatalf("got %+v, %v", p, err)
		}
		if idp.jwksFetches.Load() == fetches {
			t.Error("the JWKS was not fetched again")
		}
	})
	t.Run("a token signed with the removed key is refused", func(t *testing.T) {
		p, err := o.Authenticate(t.Context(), oldToken)
		checkOIDCError(t, p, err, ErrInvalidCredentials)
	})
}

func TestOIDCDiscovery(t *testing.T) {
	t.Run("a malformed token is refused without contacting the provider", func(t *testing.T) {
		idp := startIDP(t, newIDPECKey(t, "ec"))
		o := newTestOIDC(t, idp.issuer, "", newOIDCClock())
		p, err := o.Authenticate(t.Context(), b64(`{"alg":"none"}`)+"."+b64(`{"roles":"admin"}`)+".")
		checkOIDCError(t, p, err, ErrInvalidCredentials)
		if n := idp.discoveries.Load(); n != 0 {
			t.Errorf("%d discoveries", n)
		}
	})

	t.Run("concurrent first requests share one discovery", func(t *testing.T) {
		key := newIDPECKey(t, "ec")
		idp := startIDP(t, key)
		o := newTestOIDC(t, idp.issuer, "realm_access.roles", newOIDCClock())
		token := key.sign(t, idp.claims(nil))
		var wg sync.WaitGroup
		errs := make([]error, 16)
		for i := range errs {
			wg.Go(func() { _, errs[i] = o.Authenticate(t.Context(), token) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if n := idp.discoveries.Load(); n != 1 {
			t.Errorf("%d discoveries, want 1", n)
		}
	})

	t.Run("a provider down is unavailable, retried after ten seconds only, then kept", func(t *testing.T) {
		// Reserve an address, then leave it closed: the provider is down.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		key := newIDPRSAKey(t, "rsa")
		idp := &testIDP{issuer: "http://" + addr + idpRealm}
		idp.publish(key)
		clock := newOIDCClock()
		o := newTestOIDC(t, idp.issuer, "realm_access.roles", clock)
		token := key.sign(t, idp.claims(nil))

		p, err := o.Authenticate(t.Context(), token)
		checkOIDCError(t, p, err, ErrUnavailable)

		// The provider comes back on the same address.
		ln, err = net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("the address %s was taken meanwhile: %v", addr, err)
		}
		srv := httptest.NewUnstartedServer(idp)
		srv.Listener.Close()
		srv.Listener = ln
		srv.Start()
		t.Cleanup(srv.Close)

		clock.Advance(9 * time.Second)
		p, err = o.Authenticate(t.Context(), token)
		checkOIDCError(t, p, err, ErrUnavailable)
		if n := idp.discoveries.Load(); n != 0 {
			t.Fatalf("%d discoveries within ten seconds of the failure", n)
		}

		clock.Advance(time.Second)
		for range 2 {
			if p, err = o.Authenticate(t.Context(), token); err != nil || p.Role != RoleReader {
				t.Fatalf("after ten seconds: %+v, %v", p, err)
			}
		}
		if n := idp.discoveries.Load(); n != 1 {
			t.Errorf("%d discoveries, want 1", n)
		}
	})

	t.Run("a key set that cannot be fetched is unavailable until it can", func(t *testing.T) {
		key := newIDPRSAKey(t, "rsa")
		idp := startIDP(t, key)
		idp.failJWKS(http.StatusServiceUnavailable)
		o := newTestOIDC(t, idp.issuer, "realm_access.roles", newOIDCClock())
		token := key.sign(t, idp.claims(nil))

		p, err := o.Authenticate(t.Context(), token)
		checkOIDCError(t, p, err, ErrUnavailable)

		idp.failJWKS(0)
		if p, err = o.Authenticate(t.Context(), token); err != nil || p.Role != RoleReader {
			t.Fatalf("after recovery: %+v, %v", p, err)
		}
	})
}

func TestLooksLikeJWT(t *testing.T) {
	key := newIDPECKey(t, "ec")
	signed := key.sign(t, map[string]any{"sub": "x"})
	opaque := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	if len(opaque) != 43 {
		t.Fatalf("opaque token of %d characters", len(opaque))
	}
	// filler makes a token of n characters: header "eyJh", payload of As, signature "AAAA".
	filler := func(n int) string { return "eyJh." + strings.Repeat("A", n-10) + ".AAAA" }
	for _, tc := range []struct {
		name  string
		token string
		want  bool
	}{
		{"a signed JWT", signed, true},
		{"an unsecured JWT with an empty signature", b64(`{"alg":"none"}`) + "." + b64(`{}`) + ".", true},
		{"a token of exactly 16 KiB", filler(16 << 10), true},
		{"a 43-character base64url opaque token", opaque, false},
		{"a medimg token", "medimg_" + opaque, false},
		{"an empty string", "", false},
		{"a single dot", "eyJhbGciOi.eyJzdWIiOi", false},
		{"three dots", signed + ".AAAA", false},
		{"a leading dot", "." + signed[strings.IndexByte(signed, '.')+1:], false},
		{"an empty payload", "eyJhbGciOi..c2ln", false},
		{"only dots", "..", false},
		{"base64 padding", "eyJhbGciOi==.eyJzdWIiOi.c2ln", false},
		{"standard base64 characters", "eyJhbGc+Oi.eyJzdWIi/i.c2ln", false},
		{"a segment whose length is impossible in base64", "eyJhb.eyJzdWIiOi.c2ln", false},
		{"a space inside", "eyJhbGciOi.eyJzd WIiOi.c2ln", false},
		{"a JSON serialization", `{"payload":"e30","signatures":[{"protected":"eyJhbGciOiJSUzI1NiJ9","signature":"c2ln"}]}`, false},
		{"a token over 16 KiB", filler(16<<10 + 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := LooksLikeJWT(tc.token); got != tc.want {
				t.Errorf("LooksLikeJWT(%.40q…) = %v, want %v", tc.token, got, tc.want)
			}
		})
	}
}

func FuzzLooksLikeJWT(f *testing.F) {
	for _, s := range []string{"", "..", "a.b.c", "eyJh.eyJh.", "eyJh.eyJh.AAAA", "medimg_AAAA", "eyJh.eyJh.AA.AA", "eyJh=.eyJh.AAAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !LooksLikeJWT(s) {
			return
		}
		if len(s) > maxJWTLen || strings.Count(s, ".") != 2 || strings.HasPrefix(s, ".") || strings.Contains(s, "..") {
			t.Fatalf("LooksLikeJWT(%q) = true", s)
		}
		for _, seg := range strings.Split(s, ".") {
			if _, err := base64.RawURLEncoding.DecodeString(seg); err != nil {
				t.Fatalf("LooksLikeJWT(%q) = true, but segment %q: %v", s, seg, err)
			}
		}
	})
}

func FuzzOIDCAuthenticate(f *testing.F) {
	key := newIDPRSAKey(f, "rsa")
	idp := startIDP(f, key)
	o := newTestOIDC(f, idp.issuer, "realm_access.roles", newOIDCClock())
	valid := key.sign(f, idp.claims(nil))
	for _, s := range []string{
		valid,
		valid[:len(valid)-4],
		strings.Replace(valid, ".", "..", 1),
		b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(mustJSON(f, idp.claims(nil))) + ".",
		b64(`{"alg":"HS256","kid":"rsa"}`) + "." + b64(`{"sub":"x"}`) + ".c2ln",
		b64(`{"alg":"RS256","kid":"other"}`) + "." + b64(`{"iss":1,"aud":{},"exp":"x"}`) + ".c2ln",
		"eyJh.eyJh.AAAA",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := o.Authenticate(t.Context(), raw)
		if err == nil {
			if _, ok := ParseRole(string(p.Role)); !ok || p.Method != MethodOIDC || p.Username == "" {
				t.Fatalf("accepted %q as %+v", raw, p)
			}
			return
		}
		if !errors.Is(err, ErrInvalidCredentials) && !errors.Is(err, ErrNoRole) && !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Authenticate(%q): unexpected error %v", raw, err)
		}
	})
}
