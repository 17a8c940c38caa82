package users

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxAuthorization bounds the Authorization header we parse: a JWT with many claims fits easily,
// a megabyte of garbage does not reach a decoder.
const maxAuthorization = 16 << 10

// errNoCredentials: the request has no Authorization header.
var errNoCredentials = errors.New("no credentials")

// credentials are the parsed Authorization header: a bearer token, or a Basic username and password.
type credentials struct {
	bearer             string
	username, password string
}

// parseAuthorization reads an Authorization header (RFC 9110 §11.6.2): "Bearer <token>" or
// "Basic <base64(user:password)>", scheme names in any case. Anything else is invalid; the error
// says why for the log and never holds the secret.
func parseAuthorization(h string) (credentials, error) {
	if h == "" {
		return credentials{}, errNoCredentials
	}
	if len(h) > maxAuthorization {
		return credentials{}, fmt.Errorf("%w: Authorization header of %d bytes", ErrInvalidCredentials, len(h))
	}
	scheme, value, ok := strings.Cut(strings.TrimSpace(h), " ")
	value = strings.TrimSpace(value)
	if !ok || value == "" {
		return credentials{}, fmt.Errorf("%w: Authorization header without a scheme and a value", ErrInvalidCredentials)
	}
	switch strings.ToLower(scheme) {
	case "bearer":
		if strings.ContainsFunc(value, func(r rune) bool { return r <= ' ' || r > '~' }) {
			return credentials{}, fmt.Errorf("%w: bearer token with characters outside printable ASCII", ErrInvalidCredentials)
		}
		return credentials{bearer: value}, nil
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return credentials{}, fmt.Errorf("%w: Basic credentials are not base64", ErrInvalidCredentials)
		}
		user, password, ok := strings.Cut(string(raw), ":")
		if !ok || user == "" || !utf8.ValidString(user) || !utf8.ValidString(password) {
			return credentials{}, fmt.Errorf("%w: Basic credentials are not UTF-8 user:password", ErrInvalidCredentials)
		}
		return credentials{username: user, password: password}, nil
	default:
		return credentials{}, fmt.Errorf("%w: unsupported Authorization scheme %.20q", ErrInvalidCredentials, scheme)
	}
}
