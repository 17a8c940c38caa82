// Package uids validates DICOM Unique Identifiers (PS3.5 §9.1) before they reach SQL or a blob key.
package uids

import (
	"errors"
	"fmt"
)

// MaxLength is the longest UID PS3.5 §9.1 allows.
const MaxLength = 64

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid UID")

// Validate reports why s is not a valid UID: digits and dots only, at most 64 characters, no empty
// component and no component with a leading zero (except the component "0" itself).
func Validate(s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty", ErrInvalid)
	}
	if len(s) > MaxLength {
		return fmt.Errorf("%w: %d characters, at most %d allowed", ErrInvalid, len(s), MaxLength)
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			if s[i] < '0' || s[i] > '9' {
				return fmt.Errorf("%w: %q has the character %q; only digits and dots are allowed", ErrInvalid, s, s[i])
			}
			continue
		}
		switch {
		case i == start:
			return fmt.Errorf("%w: %q has an empty component", ErrInvalid, s)
		case s[start] == '0' && i-start > 1:
			return fmt.Errorf("%w: %q has a component with a leading zero", ErrInvalid, s)
		}
		start = i + 1
	}
	return nil
}

// Valid reports whether s is a valid UID.
func Valid(s string) bool { return Validate(s) == nil }
