package users

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/internal/httperr"
	"github.com/medimg/medimg/queries"
)

// Kinds of token.
const (
	kindSession = "session" // from POST /auth/token; expires after --token-ttl
	kindDevice  = "device"  // made by POST /users/{id}/tokens for a device or script
)

// maxDeviceTokenLife bounds expires_in of a device token (ten years).
const maxDeviceTokenLife = 10 * 365 * 24 * time.Hour

// tokenJSON is the answer of POST /auth/token (RFC 6749 §5.1).
type tokenJSON struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// createSessionToken is POST /auth/token: the OAuth2 password grant, as a form
// (grant_type=password&username=…&password=…, what FastAPI's OAuth2PasswordRequestForm speaks) or
// the same fields as JSON.
func (s *Service) createSessionToken(c *gin.Context) error {
	if !s.cfg.Local {
		return httperr.New(http.StatusNotFound, "not_found", "sign-in with a password needs --auth local; this server accepts tokens of its identity provider")
	}
	var req struct {
		GrantType *string `json:"grant_type"`
		Username  *string `json:"username"`
		Password  *string `json:"password"`
		Scope     *string `json:"scope"`
		ClientID  *string `json:"client_id"`
	}
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded":
		form, err := readForm(c)
		if err != nil {
			return err
		}
		for name, values := range form {
			v := values[0]
			switch name {
			case "grant_type":
				req.GrantType = &v
			case "username":
				req.Username = &v
			case "password":
				req.Password = &v
			case "scope", "client_id", "client_secret": // sent by OAuth2 clients; nothing to do with them
			default:
				return badJSON("unknown form field " + strconv.Quote(name))
			}
		}
	case "application/json":
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	default:
		return httperr.New(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"send application/x-www-form-urlencoded (grant_type=password&username=…&password=…) or application/json")
	}
	if req.GrantType != nil && *req.GrantType != "password" {
		return httperr.New(http.StatusBadRequest, "unsupported_grant_type", "grant_type must be password")
	}
	if req.Username == nil || req.Password == nil || *req.Username == "" {
		return httperr.New(http.StatusBadRequest, "invalid_request", "username and password are required")
	}
	c.Set(attemptKey, clip(*req.Username, maxAuditField))
	ctx := c.Request.Context()
	u, err := s.auth.signIn(ctx, *req.Username, *req.Password, c.ClientIP())
	if err != nil {
		return signInError(c, err)
	}
	c.Set(attemptKey, u.Username)
	token, hash := newToken()
	expires := s.now().Add(s.cfg.TokenTTL)
	if _, err := s.store.CreateToken(ctx, queries.NewToken{UserID: u.ID, Kind: kindSession, Hash: hash, ExpiresAt: &expires}); err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	c.JSON(http.StatusOK, tokenJSON{AccessToken: token, TokenType: "bearer", ExpiresIn: int64(s.cfg.TokenTTL / time.Second)})
	return nil
}

// readForm reads a small urlencoded body; a field given twice is refused (which one would count?).
func readForm(c *gin.Context) (url.Values, error) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody)
	if err := c.Request.ParseForm(); err != nil {
		return nil, badJSON("malformed form body")
	}
	form := c.Request.PostForm
	for name, values := range form {
		if len(values) > 1 {
			return nil, badJSON("form field " + strconv.Quote(name) + " given more than once")
		}
	}
	return form, nil
}

// signInError is the client's view of a failed password check.
func signInError(c *gin.Context, err error) error {
	var throttled *ThrottledError
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		return &httperr.Error{Status: http.StatusUnauthorized, Code: "invalid_grant", Message: "wrong username or password", Cause: err}
	case errors.As(err, &throttled):
		c.Header("Retry-After", throttled.retryAfter())
		return &httperr.Error{Status: http.StatusTooManyRequests, Code: "too_many_requests", Message: throttled.Error(), Cause: err}
	}
	return err
}

// logout is POST /auth/logout: the bearer token of the request is revoked.
func (s *Service) logout(c *gin.Context) error {
	p := PrincipalOf(c)
	if p.TokenID == 0 {
		return httperr.New(http.StatusBadRequest, "bad_request", "nothing to sign out: the request was not made with a medimg token")
	}
	cred, _ := parseAuthorization(c.GetHeader("Authorization"))
	err := s.store.DeleteTokenByHash(c.Request.Context(), tokenHash(cred.bearer))
	s.auth.forgetToken(p.TokenID)
	if err != nil && !errors.Is(err, queries.ErrNotFound) {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// deviceTokenJSON is a device token as listed; Token is only set in the answer that created it.
type deviceTokenJSON struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Token      string     `json:"token,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
}

func deviceToken(t queries.Token) deviceTokenJSON {
	return deviceTokenJSON{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt.UTC(), LastUsedAt: utc(t.LastUsedAt), ExpiresAt: utc(t.ExpiresAt)}
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// createDeviceToken is POST /users/{id}/tokens {name, expires_in (seconds, optional)}: a long-lived
// token for a device or script, shown once in the answer.
func (s *Service) createDeviceToken(c *gin.Context) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	var req struct {
		Name      *string `json:"name"`
		ExpiresIn *int64  `json:"expires_in"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var v validation
	name := v.required("name", req.Name, checkTokenName)
	if req.ExpiresIn != nil && (*req.ExpiresIn <= 0 || *req.ExpiresIn > int64(maxDeviceTokenLife/time.Second)) {
		v.add("expires_in", "must be a number of seconds from 1 to "+strconv.FormatInt(int64(maxDeviceTokenLife/time.Second), 10)+" (or left out: no expiry)")
	}
	if err := v.err(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		return err
	}
	c.Set(targetKey, u.Username)
	c.Set(detailKey, "token "+name)
	nt := queries.NewToken{UserID: id, Kind: kindDevice, Name: name}
	if req.ExpiresIn != nil {
		at := s.now().Add(time.Duration(*req.ExpiresIn) * time.Second)
		nt.ExpiresAt = &at
	}
	token, hash := newToken()
	nt.Hash = hash
	t, err := s.store.CreateToken(ctx, nt)
	if err != nil {
		return err
	}
	out := deviceToken(t)
	out.Token = token
	c.Header("Cache-Control", "no-store")
	c.Header("Location", "/users/"+strconv.FormatInt(id, 10)+"/tokens/"+strconv.FormatInt(t.ID, 10))
	c.JSON(http.StatusCreated, out)
	return nil
}

// checkTokenName: 1–64 printable characters.
func checkTokenName(name string) string {
	if n := len([]rune(name)); n == 0 || n > 64 || strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return "must be 1 to 64 printable characters"
	}
	return ""
}

// listDeviceTokens is GET /users/{id}/tokens: names, creation, last use and expiry, never a secret.
func (s *Service) listDeviceTokens(c *gin.Context) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	if _, err := s.store.GetUser(ctx, id); err != nil {
		return err
	}
	list, err := s.store.ListTokens(ctx, id, kindDevice)
	if err != nil {
		return err
	}
	out := make([]deviceTokenJSON, len(list))
	for i, t := range list {
		out[i] = deviceToken(t)
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// revokeDeviceToken is DELETE /users/{id}/tokens/{token_id}.
func (s *Service) revokeDeviceToken(c *gin.Context) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	tokenID, err := strconv.ParseInt(c.Param("token"), 10, 64)
	if err != nil || tokenID <= 0 {
		return httperr.New(http.StatusNotFound, "not_found", "no token %.64q", c.Param("token"))
	}
	c.Set(detailKey, "token id "+strconv.FormatInt(tokenID, 10))
	err = s.store.DeleteToken(c.Request.Context(), id, tokenID)
	s.auth.forgetToken(tokenID)
	if err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
