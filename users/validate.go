package users

import (
	_ "embed"
	"net/mail"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/medimg/medimg/internal/httperr"
)

// FieldError names one invalid field of a request (the 422 body lists them all). It is the
// type of httperr's body, so that the checkers' results go into a response without copying.
type FieldError = httperr.FieldError

// Limits of the input rules.
const (
	maxUsernameLen = 64
	maxEmailLen    = 254 // RFC 5321's limit on a path, in octets
	minPasswordLen = 8   // NIST SP 800-63B's minimum for a password chosen by the user
	maxPasswordLen = 256 // NIST asks to allow at least 64
)

// The checkers' messages are for the client and follow the field's name ({"field": "username",
// "message": "must be 1 to 64 characters long"}).

// CheckUsername returns "" when username is valid, else a message for the client: 1 to 64
// characters of A-Z, a-z, 0-9 and . _ @ -. The characters are checked first so that a
// multi-byte character is not reported as a length.
func CheckUsername(username string) string {
	for i := 0; i < len(username); i++ {
		if !isUsernameByte(username[i]) {
			return "may contain only the letters A-Z and a-z, the digits 0-9 and . _ @ -"
		}
	}
	if len(username) < 1 || len(username) > maxUsernameLen {
		return "must be 1 to 64 characters long"
	}
	return ""
}

func isUsernameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '@' || c == '-'
}

// CheckEmail returns "" when email is one bare address (no display name, angle brackets,
// comments or list) of at most 254 bytes whose domain is a name with a dot, else a message for
// the client. An empty email is invalid: a caller for whom it is optional checks a non-empty one.
func CheckEmail(email string) string {
	if len(email) > maxEmailLen {
		return "must be at most 254 characters long"
	}
	// ParseAddress accepts "Name <a@b.c>", comments and quoted local parts; requiring its
	// Address to be the input leaves only the plain addr-spec.
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" || addr.Address != email {
		return "must be a single address such as name@example.org, without a name or angle brackets"
	}
	domain := email[strings.LastIndexByte(email, '@')+1:]
	if strings.HasPrefix(domain, "[") || !strings.Contains(domain, ".") {
		return "must have a domain name with a dot, such as example.org"
	}
	return ""
}

// CheckPassword returns "" when password may be chosen, else a message for the client that
// never quotes it. The rules are NIST SP 800-63B's: a length, counted in characters, not the
// username, and not a commonly used password; no rules of composition.
func CheckPassword(password, username string) string {
	if !utf8.ValidString(password) {
		return "must be valid UTF-8 text"
	}
	if n := utf8.RuneCountInString(password); n < minPasswordLen || n > maxPasswordLen {
		return "must be 8 to 256 characters long"
	}
	if strings.EqualFold(password, username) {
		return "must not be the username"
	}
	if _, common := commonPasswords()[strings.ToLower(password)]; common {
		return "is one of the most commonly used passwords; choose another"
	}
	return ""
}

//go:embed common_passwords.txt
var commonPasswordsFile string

// commonPasswords is the set of common_passwords.txt, lower-case, built on first use.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 1024)
	for line := range strings.Lines(commonPasswordsFile) {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			set[strings.ToLower(line)] = struct{}{}
		}
	}
	return set
})
