// Package users is who may do what: user accounts and their REST API, password hashing, bearer and
// device tokens, HTTP Basic, OpenID Connect, the route access table, and the audit trail.
package users

import "errors"

// Role is what a user may do. Each user has exactly one.
type Role string

// The roles, from least to most privileged (sender is not below reader: it may store but not read).
const (
	// RoleSender may only store (STOW-RS): a modality pushes images but cannot browse the archive.
	RoleSender Role = "sender"
	// RoleReader may search and retrieve (QIDO-RS, WADO-RS, WADO-URI).
	RoleReader Role = "reader"
	// RoleEditor is a reader who may also store and delete.
	RoleEditor Role = "editor"
	// RoleAdmin may do everything: users, everyone's tokens, the audit trail, metrics.
	RoleAdmin Role = "admin"
)

// Roles lists every role.
var Roles = []Role{RoleSender, RoleReader, RoleEditor, RoleAdmin}

// ParseRole returns the role named s, or false.
func ParseRole(s string) (Role, bool) {
	for _, r := range Roles {
		if string(r) == s {
			return r, true
		}
	}
	return "", false
}

// How a principal authenticated.
const (
	MethodBearer = "bearer" // a medimg session or device token
	MethodBasic  = "basic"  // HTTP Basic with a username and password
	MethodOIDC   = "oidc"   // a JWT of the external identity provider
	MethodNone   = "none"   // --auth none: no checks
)

// Principal is who made a request.
type Principal struct {
	// UserID is the local user's id; 0 for an OIDC subject or with --auth none.
	UserID   int64
	Username string
	Role     Role
	// TokenID and TokenName identify the medimg token used (MethodBearer); TokenName is empty
	// for session tokens.
	TokenID   int64
	TokenName string
	Method    string
}

// Errors of authentication. The client sees the same answer for each (401), so that it cannot
// tell an unknown user from a wrong password; the log sees the wrapped reason.
var (
	// ErrInvalidCredentials: the credentials are malformed, unknown, wrong, expired or revoked.
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrNoRole: the credentials are valid but carry no medimg role (an OIDC token without one).
	ErrNoRole = errors.New("no medimg role")
	// ErrUnavailable: the identity provider could not be reached to check the credentials.
	ErrUnavailable = errors.New("identity provider unavailable")
)
