package clip

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"short_as_is", "PatientName", "PatientName"},
		{"exactly_max_as_is", strings.Repeat("a", Max), strings.Repeat("a", Max)},
		{"long_is_cut", strings.Repeat("a", Max+1), strings.Repeat("a", Max) + Ellipsis},
		{"cut_at_a_character", strings.Repeat("a", Max-1) + "ü", strings.Repeat("a", Max-1) + Ellipsis},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
