package users

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

const (
	// maxJWTLen bounds a bearer JWT before any parsing; real access tokens stay below 8 KiB.
	maxJWTLen = 16 << 10
	// oidcRetryAfter is how long a failed discovery makes later requests fail fast, so that a
	// provider outage does not turn every request into a slow, doomed round trip.
	oidcRetryAfter = 10 * time.Second
	// oidcNotBeforeLeeway tolerates clock skew on nbf; go-oidc allows 5 minutes, which is too lax.
	oidcNotBeforeLeeway = time.Minute
)

// oidcAlgorithms are the accepted signature algorithms: asymmetric only, so that "none" and the
// HMAC key-confusion attack (HS256 keyed with the provider's public key) cannot apply.
var oidcAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// rolesByPriority orders the roles an identity provider may grant, most privileged first. Sender
// comes last: a reader may not store, but a sender may not read, and reading is what people log
// in for.
var rolesByPriority = []Role{RoleAdmin, RoleEditor, RoleReader, RoleSender}

// OIDCConfig configures the verification of an identity provider's JWTs.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL (--oidc-issuer), e.g.
	// https://keycloak.example.org/realms/hospital; discovery is at
	// Issuer + "/.well-known/openid-configuration" and the token's iss must equal it.
	Issuer string
	// Audience must be among the token's aud (--oidc-audience). Required.
	Audience string
	// RolesClaim is the dotted path to the roles (--oidc-roles-claim), e.g. "realm_access.roles"
	// or "resource_access.medimg.roles"; default "roles". A top-level claim whose name itself
	// contains dots (Auth0's "https://example.org/roles") is found too. The value may be a JSON
	// array of strings or one string.
	RolesClaim string
	// Client fetches discovery and keys; nil means a client with a 10 s timeout.
	Client *http.Client
	// Now is the clock for expiry and the discovery retry; nil means time.Now.
	Now func() time.Time
}

// OIDC verifies bearer JWTs issued by an external OpenID Connect provider.
type OIDC struct {
	issuer     string
	audience   string
	rolesClaim string
	client     *http.Client
	now        func() time.Time

	mu       sync.Mutex // guards the fields below and serialises discovery
	verifier *oidc.IDTokenVerifier
	tried    time.Time // when discovery last failed
	failure  error     // why
}

// NewOIDC checks the configuration (absolute https or http issuer URL, audience set) without
// touching the network: the provider may be down when medimg starts.
func NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("users: oidc issuer %q: want an absolute https or http URL without query or fragment", cfg.Issuer)
	}
	if cfg.Audience == "" {
		return nil, errors.New("users: oidc audience is required")
	}
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = "roles"
	}
	if slices.Contains(strings.Split(cfg.RolesClaim, "."), "") {
		return nil, fmt.Errorf("users: oidc roles claim %q: empty path segment", cfg.RolesClaim)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &OIDC{
		issuer:     cfg.Issuer,
		audience:   cfg.Audience,
		rolesClaim: cfg.RolesClaim,
		client:     cfg.Client,
		now:        cfg.Now,
	}, nil
}

// Authenticate verifies a raw JWT and returns its principal: Method MethodOIDC, UserID 0,
// Username from preferred_username, else email, else sub, and Role the most privileged medimg
// role named in the roles claim (admin, editor, reader, sender; other values are ignored).
//
// It returns ErrInvalidCredentials for a token that does not verify, ErrNoRole for a valid token
// without a medimg role, and ErrUnavailable when discovery or the key set cannot be fetched; each
// is wrapped with the reason for the log.
func (o *OIDC) Authenticate(ctx context.Context, rawToken string) (Principal, error) {
	// Refuse what cannot be a signed compact JWT before the network is involved: garbage must
	// neither trigger discovery nor be reported as an outage.
	if !LooksLikeJWT(rawToken) {
		return Principal{}, oidcInvalid(errors.New("not a bounded JWS compact serialization"))
	}
	if _, err := jose.ParseSignedCompact(rawToken, oidcAlgorithms); err != nil {
		return Principal{}, oidcInvalid(err)
	}
	verifier, err := o.discover(ctx)
	if err != nil {
		return Principal{}, err
	}
	var fetchErr error
	token, err := verifier.Verify(context.WithValue(ctx, keyFetchErrorKey{}, &fetchErr), rawToken)
	if fetchErr != nil {
		return Principal{}, fmt.Errorf("users: oidc keys: %w: %w", ErrUnavailable, fetchErr)
	}
	if err != nil {
		return Principal{}, oidcInvalid(err)
	}
	var claims map[string]any
	if err := token.Claims(&claims); err != nil {
		return Principal{}, oidcInvalid(err)
	}
	// go-oidc checks nbf with a 5-minute leeway; hold it to ours.
	if nbf, ok := claims["nbf"].(float64); ok {
		if notBefore := time.Unix(int64(nbf), 0); o.now().Add(oidcNotBeforeLeeway).Before(notBefore) {
			return Principal{}, oidcInvalid(fmt.Errorf("not valid before %s", notBefore.UTC().Format(time.RFC3339)))
		}
	}
	return o.principal(claims)
}

// principal maps verified claims to a medimg principal.
func (o *OIDC) principal(claims map[string]any) (Principal, error) {
	var username string
	for _, name := range []string{"preferred_username", "email", "sub"} {
		if s, ok := claims[name].(string); ok && s != "" {
			username = s
			break
		}
	}
	if username == "" {
		return Principal{}, oidcInvalid(errors.New("no preferred_username, email or sub"))
	}
	role, ok := bestRole(lookupClaim(claims, o.rolesClaim))
	if !ok {
		return Principal{}, fmt.Errorf("users: oidc subject %q: claim %s: %w", username, o.rolesClaim, ErrNoRole)
	}
	return Principal{Username: username, Role: role, Method: MethodOIDC}, nil
}

// discover returns the verifier, running discovery on first use and again after a failure, but
// at most once per oidcRetryAfter. Holding the mutex across the request makes concurrent first
// requests wait for one discovery instead of each starting their own.
func (o *OIDC) discover(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.verifier != nil {
		return o.verifier, nil
	}
	now := o.now()
	if o.failure != nil && now.Sub(o.tried) < oidcRetryAfter {
		return nil, fmt.Errorf("users: oidc discovery of %s failed %s ago, not retrying yet: %w: %w",
			o.issuer, now.Sub(o.tried).Round(time.Millisecond), ErrUnavailable, o.failure)
	}
	// The request's cancellation must not abort a discovery that all later requests wait for;
	// the client's timeout bounds it.
	ctx = oidc.ClientContext(context.WithoutCancel(ctx), o.client)
	verifier, err := o.newVerifier(ctx)
	if err != nil {
		o.tried, o.failure = now, err
		return nil, fmt.Errorf("users: oidc discovery of %s: %w: %w", o.issuer, ErrUnavailable, err)
	}
	o.verifier, o.failure = verifier, nil
	return verifier, nil
}

// newVerifier fetches the discovery document and builds a verifier on the provider's key set.
func (o *OIDC) newVerifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	provider, err := oidc.NewProvider(ctx, o.issuer)
	if err != nil {
		return nil, err
	}
	var meta struct {
		JWKSURL string `json:"jwks_uri"`
	}
	if err := provider.Claims(&meta); err != nil {
		return nil, err
	}
	if u, err := url.Parse(meta.JWKSURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("discovery: jwks_uri %q is not an absolute http(s) URL", meta.JWKSURL)
	}
	// The key set is built here rather than taken from provider.Verifier so that it can be
	// wrapped to tell an unreachable JWKS from a bad signature. RemoteKeySet caches the keys and
	// refetches them when a token's key is unknown, which is how rotation is picked up.
	keys := oidcKeySet{oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), o.client), meta.JWKSURL)}
	algs := make([]string, len(oidcAlgorithms))
	for i, a := range oidcAlgorithms {
		algs[i] = string(a)
	}
	return oidc.NewVerifier(o.issuer, keys, &oidc.Config{
		ClientID:             o.audience,
		SupportedSigningAlgs: algs,
		Now:                  o.now,
	}), nil
}

// keyFetchErrorKey carries, in the context of one Verify call, where oidcKeySet records that the
// JWKS could not be fetched: go-oidc flattens the key set's error into text.
type keyFetchErrorKey struct{}

// oidcKeySet is a RemoteKeySet that reports fetch failures through the context.
type oidcKeySet struct{ remote *oidc.RemoteKeySet }

// VerifySignature verifies with the remote key set and records a fetch failure.
func (k oidcKeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.remote.VerifySignature(ctx, jwt)
	// RemoteKeySet returns a bare error when it has fresh keys and none verifies, and wraps the
	// cause ("fetching keys %w") when the JWKS could not be fetched or the request was cancelled.
	if err != nil && errors.Unwrap(err) != nil {
		if p, ok := ctx.Value(keyFetchErrorKey{}).(*error); ok {
			*p = err
		}
	}
	return payload, err
}

// lookupClaim returns the claim at a dotted path, or nil. A top-level claim named by the whole
// path wins, for providers that name claims with URLs.
func lookupClaim(claims map[string]any, path string) any {
	if v, ok := claims[path]; ok {
		return v
	}
	var v any = claims
	for _, name := range strings.Split(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[name]
	}
	return v
}

// bestRole returns the most privileged role named in a roles claim: a string or an array of them.
func bestRole(claim any) (Role, bool) {
	var names []string
	switch v := claim.(type) {
	case string:
		names = []string{v}
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok {
				names = append(names, s)
			}
		}
	}
	for _, r := range rolesByPriority {
		if slices.Contains(names, string(r)) {
			return r, true
		}
	}
	return "", false
}

func oidcInvalid(reason error) error {
	return fmt.Errorf("users: oidc token: %w: %w", ErrInvalidCredentials, reason)
}

// LooksLikeJWT reports whether a bearer credential has the shape of a JWS compact serialization:
// three base64url segments (the signature may be empty) separated by two dots, at most 16 KiB. It
// tells an identity provider's JWT from medimg's own opaque tokens, which have no dots.
func LooksLikeJWT(token string) bool {
	if len(token) > maxJWTLen || strings.Count(token, ".") != 2 {
		return false
	}
	parts := strings.Split(token, ".")
	for i, p := range parts {
		// A base64 string is never 1 mod 4 long; the header and payload are never empty.
		if (p == "" && i < 2) || len(p)%4 == 1 || !isBase64URL(p) {
			return false
		}
	}
	return true
}

func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
