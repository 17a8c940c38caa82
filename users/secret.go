package users

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// tokenPrefix marks medimg's opaque tokens, so that secret scanners and people can tell them from
// other credentials (and from JWTs, which never start with it).
const tokenPrefix = "medimg_"

// tokenLen is the length of a token: the prefix and 256 random bits in unpadded base64url.
var tokenLen = len(tokenPrefix) + base64.RawURLEncoding.EncodedLen(32)

// newToken returns a fresh token and the hash under which it is stored; the token itself is shown
// once and never stored.
func newToken() (token, hash string) {
	var b [32]byte
	rand.Read(b[:])
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, tokenHash(token)
}

// tokenHash is the stored form of a token. A plain SHA-256 is enough: the token has 256 bits of
// entropy, so there is nothing to guess and nothing to stretch.
func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// isTokenShaped reports whether s can be one of our tokens, so that a malformed one is refused
// without a database round trip.
func isTokenShaped(s string) bool {
	if len(s) != tokenLen || s[:len(tokenPrefix)] != tokenPrefix {
		return false
	}
	for _, r := range s[len(tokenPrefix):] {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// randomPassword makes the first admin's password when none is configured: 144 random bits.
func randomPassword() string {
	var b [18]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
