package users

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// A checker's result is "" for valid input; the tables name a fragment the message must
// contain otherwise, so that a case fails for the reason it is about.

func TestCheckUsername(t *testing.T) {
	const allowed = "only the letters A-Z and a-z, the digits 0-9 and . _ @ -"
	tests := []struct{ name, username, want string }{
		{"a plain name is valid", "alice", ""},
		{"one character is valid", "a", ""},
		{"every allowed character is valid", "Dr.J_Smith-2@example.org", ""},
		{"64 characters are valid", strings.Repeat("a", 64), ""},
		{"65 characters are too many", strings.Repeat("a", 65), "1 to 64 characters"},
		{"an empty name is too short", "", "1 to 64 characters"},
		{"a space is refused", "alice smith", allowed},
		{"a leading space is refused", " alice", allowed},
		{"a trailing newline is refused", "alice\n", allowed},
		{"a NUL byte is refused", "alice\x00", allowed},
		{"SQL meta-characters are refused", "alice'; DROP TABLE users;--", allowed},
		{"a percent sign is refused", "alice%", allowed},
		{"a slash is refused", "../alice", allowed},
		{"a non-ASCII letter is refused", "élodie", allowed},
		{"a full-width letter is refused", "ａlice", allowed},
		{"non-UTF-8 bytes are refused", "ali\xffce", allowed},
		{"64 multi-byte characters name the characters, not the length", strings.Repeat("é", 64), allowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkMessage(t, CheckUsername(tt.username), tt.want)
		})
	}
}

func TestCheckEmail(t *testing.T) {
	const single = "a single address"
	local := strings.Repeat("a", 64)
	domain := func(n int) string { // a name of n characters ending in .org
		return strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", n-63-1-63-1-4) + ".org"
	}
	tests := []struct{ name, email, want string }{
		{"a plain address is valid", "alice@example.org", ""},
		{"a sub-address on a sub-domain is valid", "alice.smith+pacs@radiology.example.co.uk", ""},
		{"254 characters are valid", local + "@" + domain(254-65), ""},
		{"255 characters are too many", local + "@" + domain(255-65), "at most 254"},
		{"an empty address is refused", "", single},
		{"a display name is refused", "Alice Smith <alice@example.org>", single},
		{"angle brackets are refused", "<alice@example.org>", single},
		{"a comment is refused", "alice@example.org (work)", single},
		{"two addresses are refused", "alice@example.org, bob@example.org", single},
		{"a quoted local part is refused", `"alice smith"@example.org`, single},
		{"a leading space is refused", " alice@example.org", single},
		{"a missing @ is refused", "alice.example.org", single},
		{"a missing local part is refused", "@example.org", single},
		{"a missing domain is refused", "alice@", single},
		{"non-UTF-8 bytes are refused", "al\xffce@example.org", single},
		{"a domain without a dot is refused", "alice@localhost", "with a dot"},
		{"an address literal is refused", "alice@[192.0.2.1]", "with a dot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkMessage(t, CheckEmail(tt.email), tt.want)
		})
	}
}

func TestCheckPassword(t *testing.T) {
	const (
		length = "8 to 256 characters"
		common = "most commonly used"
	)
	tests := []struct{ name, password, username, want string }{
		{"a long passphrase is valid", "correct horse battery staple", "alice", ""},
		{"8 characters are valid", "k3#vQ9!z", "alice", ""},
		{"7 characters are too few", "k3#vQ9!", "alice", length},
		{"8 two-byte characters are valid though 16 bytes", strings.Repeat("é", 8), "alice", ""},
		{"7 four-byte characters are too few though 28 bytes", strings.Repeat("😀", 7), "alice", length},
		{"256 characters are valid", strings.Repeat("ab", 128), "alice", ""},
		{"256 three-byte characters are valid though 768 bytes", strings.Repeat("密", 256), "alice", ""},
		{"257 characters are too many", strings.Repeat("ab", 128) + "c", "alice", length},
		{"an empty password is too short", "", "alice", length},
		{"non-UTF-8 bytes are refused", "k3#vQ9!z\xff", "alice", "UTF-8"},
		{"spaces and symbols are allowed", " ' OR 1=1; -- ", "alice", ""},
		{"the username is refused", "radiographer", "radiographer", "username"},
		{"the username in other case is refused", "RadioGrapher", "radiographer", "username"},
		{"a password containing the username is allowed", "radiographer-on-call", "radiographer", ""},
		{"a common password is refused", "password1", "alice", common},
		{"a common password in upper case is refused", "PASSWORD1", "alice", common},
		{"a common password in mixed case is refused", "QwErTyUiOp", "alice", common},
		{"the last common password of the list is refused", "patient@123", "alice", common},
		{"a product word with a suffix is refused", "Medimg2026", "alice", common},
		{"a common password with a character more is allowed", "password1x", "alice", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckPassword(tt.password, tt.username)
			checkMessage(t, got, tt.want)
			if tt.password != "" && strings.Contains(got, tt.password) {
				t.Errorf("message %q quotes the password", got)
			}
		})
	}
}

func checkMessage(t *testing.T, got, want string) {
	t.Helper()
	switch {
	case want == "" && got != "":
		t.Errorf("refused with %q, want valid", got)
	case want != "" && !strings.Contains(got, want):
		t.Errorf("message %q, want one containing %q", got, want)
	}
}

// TestCommonPasswordsFile checks the list as the header says it is: every entry a lower-case
// password of 8 characters or more, once, and enough of them.
func TestCommonPasswordsFile(t *testing.T) {
	seen := map[string]bool{}
	for line := range strings.Lines(commonPasswordsFile) {
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "#"):
			continue
		case line != strings.ToLower(strings.TrimSpace(line)):
			t.Errorf("entry %q is not lower-case and trimmed", line)
		case utf8.RuneCountInString(line) < 8:
			t.Errorf("entry %q is shorter than 8 characters: the length rule refuses it anyway", line)
		case seen[line]:
			t.Errorf("entry %q is listed twice", line)
		}
		seen[line] = true
	}
	if len(seen) < 300 || len(commonPasswords()) != len(seen) {
		t.Errorf("%d entries in the file, %d in the set; want the same, at least 300", len(seen), len(commonPasswords()))
	}
}
