package uids

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		uid  string
		ok   bool
	}{
		{"typical", "1.2.840.10008.5.1.4.1.1.2", true},
		{"zero_component", "1.2.0.3", true},
		{"single_component", "2", true},
		{"max_length", "1." + strings.Repeat("9", 62), true},
		{"empty", "", false},
		{"too_long", "1." + strings.Repeat("9", 63), false},
		{"letter", "1.2.a", false},
		{"path_traversal", "../../etc", false},
		{"leading_dot", ".1.2", false},
		{"trailing_dot", "1.2.", false},
		{"double_dot", "1..2", false},
		{"leading_zero", "1.02.3", false},
		{"space", "1.2 ", false},
		{"null_padding", "1.2\x00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.uid)
			if (err == nil) != tt.ok {
				t.Fatalf("Validate(%q) = %v, want ok=%v", tt.uid, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func FuzzValidate(f *testing.F) {
	f.Add("1.2.3")
	f.Add("1.02")
	f.Fuzz(func(t *testing.T, s string) {
		if Valid(s) {
			for _, c := range s {
				if c != '.' && (c < '0' || c > '9') {
					t.Fatalf("accepted %q with character %q", s, c)
				}
			}
			if len(s) > MaxLength {
				t.Fatalf("accepted %d characters", len(s))
			}
		}
	})
}
