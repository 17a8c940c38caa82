package users

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/internal/httperr"
	"github.com/medimg/medimg/queries"
)

// Keys of values handlers leave in the gin context for the middleware.
const (
	principalKey = "users.principal"
	// targetKey is the user a users-API request concerned (its username when known).
	targetKey = "users.target"
	// attemptKey is the username a sign-in attempted.
	attemptKey = "users.attempt"
	// detailKey overrides the audit record's detail.
	detailKey = "users.detail"
)

// Challenge is the WWW-Authenticate header of every 401: both schemes the server accepts.
const Challenge = `Bearer realm="medimg", Basic realm="medimg"`

// scriptChallenge is the header for a request marked X-Requested-With: XMLHttpRequest (the
// bundled viewer marks its requests): without the Basic scheme, which would make the browser open
// its own password dialog over the page's sign-in form.
const scriptChallenge = `Bearer realm="medimg"`

// challenge sets WWW-Authenticate on a 401.
func challenge(c *gin.Context) {
	if c.GetHeader("X-Requested-With") == "XMLHttpRequest" {
		c.Header("WWW-Authenticate", scriptChallenge)
		return
	}
	c.Header("WWW-Authenticate", Challenge)
}

// PrincipalOf returns who made the request (set by Middleware).
func PrincipalOf(c *gin.Context) Principal {
	p, _ := c.Get(principalKey)
	principal, _ := p.(Principal)
	return principal
}

// Middleware authenticates every request and lets it through only when table allows its route for
// the principal's role; it then records the request in the audit trail. Handlers never check roles.
// Unrouted requests (404, 405) and CORS preflights pass untouched.
func (s *Service) Middleware(table Table) gin.HandlerFunc {
	return func(c *gin.Context) {
		route := c.FullPath()
		if route == "" || c.Request.Method == http.MethodOptions {
			c.Next()
			return
		}
		access, ok := table[c.Request.Method+" "+route]
		if !ok {
			httperr.Write(c, s.log, fmt.Errorf("users: %s %s has no entry in the access table", c.Request.Method, route))
			return
		}
		var p Principal // nobody, on a public route
		switch {
		case access.Public:
		case !s.checksCredentials():
			p = Principal{Username: "anonymous", Role: RoleAdmin, Method: MethodNone}
		default:
			var err error
			if p, err = s.auth.authenticate(c.Request.Context(), c.GetHeader("Authorization"), c.ClientIP()); err != nil {
				s.refuse(c, err)
				s.auditRefusal(c, access, err)
				return
			}
		}
		if !access.allows(p, c.Param("id")) {
			httperr.Write(c, s.log, httperr.New(http.StatusForbidden, "forbidden",
				"role %s may not %s %s", p.Role, c.Request.Method, route))
			s.auditRequest(c, access.Action, p)
			return
		}
		c.Set(principalKey, p)
		c.Next()
		s.auditRequest(c, access.Action, p)
	}
}

// refuse answers a request whose credentials did not pass.
func (s *Service) refuse(c *gin.Context, err error) {
	var throttled *ThrottledError
	switch {
	case errors.Is(err, errNoCredentials):
		challenge(c)
		err = httperr.New(http.StatusUnauthorized, "unauthorized",
			"credentials required: send Authorization: Bearer <token from POST /auth/token> or Basic")
	case errors.Is(err, ErrInvalidCredentials):
		challenge(c)
		err = &httperr.Error{Status: http.StatusUnauthorized, Code: "unauthorized",
			Message: "invalid, expired or revoked credentials", Cause: err}
	case errors.As(err, &throttled):
		c.Header("Retry-After", throttled.retryAfter())
		err = &httperr.Error{Status: http.StatusTooManyRequests, Code: "too_many_requests", Message: throttled.Error(), Cause: err}
	case errors.Is(err, ErrNoRole):
		err = &httperr.Error{Status: http.StatusForbidden, Code: "forbidden", Message: "the token carries no medimg role", Cause: err}
	case errors.Is(err, ErrUnavailable):
		err = &httperr.Error{Status: http.StatusServiceUnavailable, Code: "unavailable",
			Message: "the identity provider cannot be reached to check the token", Cause: err}
	}
	if e := httperr.From(err); e.Status < 500 {
		s.log.DebugContext(c.Request.Context(), "credentials refused", "request_id", c.GetString("request_id"),
			"remote", c.ClientIP(), "status", e.Status, "reason", err.Error())
	}
	httperr.Write(c, s.log, err)
}

// auditRefusal records a request refused for its credentials: a failed Basic sign-in under the
// username tried, other refusals under the route's action.
func (s *Service) auditRefusal(c *gin.Context, access Access, err error) {
	cred, _ := parseAuthorization(c.GetHeader("Authorization"))
	if cred.username != "" && !errors.Is(err, ErrUnavailable) {
		s.auditRequest(c, ActionSignInFailed, Principal{Username: cred.username})
		return
	}
	s.auditRequest(c, access.Action, Principal{})
}

// Limits of audit fields taken from the request, so that a hostile client cannot store megabytes.
const (
	maxAuditField  = 128
	maxAuditDetail = 1024
)

// auditRequest queues the audit record of a finished request; action "" records nothing. A STOW
// gives one record per study it stored into.
func (s *Service) auditRequest(c *gin.Context, action string, p Principal) {
	if action == "" {
		return
	}
	status := c.Writer.Status()
	if action == ActionSignIn {
		p = Principal{Username: c.GetString(attemptKey)}
		if status != http.StatusOK {
			action = ActionSignInFailed
		}
	}
	r := queries.AuditRecord{
		Time:        s.now(),
		Username:    clip(p.Username, maxAuditField),
		TokenName:   clip(p.TokenName, maxAuditField),
		Action:      action,
		StudyUID:    clip(c.Param("study"), maxAuditField),
		SeriesUID:   clip(c.Param("series"), maxAuditField),
		InstanceUID: clip(c.Param("instance"), maxAuditField),
		TargetUser:  clip(c.GetString(targetKey), maxAuditField),
		Outcome:     status,
		Client:      c.ClientIP(),
		RequestID:   c.GetString("request_id"),
		Detail:      clip(c.GetString(detailKey), maxAuditDetail),
	}
	if r.Username == "" {
		r.Username = "anonymous"
	}
	if p.Method != MethodNone {
		r.Role = string(p.Role)
	}
	if r.Detail == "" && c.Request.Method == http.MethodGet {
		r.Detail = clip(c.Request.URL.RequestURI(), maxAuditDetail)
	}
	if r.TargetUser == "" && c.Param("id") != "" {
		r.TargetUser = "id " + clip(c.Param("id"), maxAuditField)
	}
	if action == ActionStore && r.StudyUID == "" {
		for _, study := range s.cfg.StoredStudies(c) {
			r.StudyUID = study
			s.audit.record(r)
		}
		if r.StudyUID != "" {
			return
		}
	}
	s.audit.record(r)
}

// clip makes a value from the request safe to store: valid UTF-8 without NUL (PostgreSQL refuses
// both in text, which would fail a whole batch), at most n bytes, cut at a character boundary.
func clip(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	if len(s) > n {
		s = s[:n]
		for !utf8.ValidString(s) { // the cut split a character: drop its first bytes
			s = s[:len(s)-1]
		}
	}
	return s
}
