package storage

import (
	"path"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"studies/1.2.840.1/series/1.2.840.2/1.2.840.3.dcm", true},
		{"a", true},
		{"A-Z_a-z.0-9", true},
		{"..a/.b/c..", true},
		{strings.Repeat("a", 1024), true},
		{strings.Repeat("a", 1025), false},
		{"", false},
		{"/abs", false},
		{"a/", false},
		{"a//b", false},
		{".", false},
		{"..", false},
		{"../x", false},
		{"a/./b", false},
		{"a/../b", false},
		{"with space", false},
		{`a\b`, false},
		{"a:b", false},
		{"a\x00b", false},
		{"é", false},
	}
	for _, tt := range tests {
		if got := ValidKey(tt.key); got != tt.want {
			t.Errorf("ValidKey(%.40q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestPrefixDir(t *testing.T) {
	tests := []struct {
		prefix, dir string
		ok          bool
	}{
		{"", "", true},
		{"stu", "", true},
		{"studies/", "studies", true},
		{"studies/1.2/se", "studies/1.2", true},
		{"a/..", "a", true}, // "a/..x" is a valid key
		{"/", "", false},
		{"../", "..", false},
		{"a//", "a/", false},
		{"a b", "", false},
	}
	for _, tt := range tests {
		if dir, ok := prefixDir(tt.prefix); ok != tt.ok || ok && dir != tt.dir {
			t.Errorf("prefixDir(%q) = %q, %v; want %q, %v", tt.prefix, dir, ok, tt.dir, tt.ok)
		}
	}
}

// FuzzValidKey checks what the filesystem store relies on: a valid key is a clean, local path, so
// joined to the root it names a file inside the root.
func FuzzValidKey(f *testing.F) {
	for _, k := range []string{"a/b.dcm", "../x", "a/./b", "/abs", "a//b", "...", "a/.."} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if !ValidKey(key) {
			return
		}
		if path.Clean(key) != key || !filepath.IsLocal(filepath.FromSlash(key)) {
			t.Errorf("ValidKey(%q) but the path is not clean and local", key)
		}
		if dir, ok := prefixDir(key); !ok || (dir != "" && !ValidKey(dir)) {
			t.Errorf("a valid key %q is not a valid prefix", key)
		}
	})
}
