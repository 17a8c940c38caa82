package storage

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestFSPlaceSmallObjects checks both ways a small object reaches its key (an unnamed O_TMPFILE
// file linked into place, and a named temp file renamed where there is no O_TMPFILE), each to a
// new key and over an existing one: the content, the mode, and nothing left in .uploads.
func TestFSPlaceSmallObjects(t *testing.T) {
	for name, place := range map[string]func(f *FS, data []byte, dst string) error{
		"tmpfile": (*FS).placeBytes,
		"named":   (*FS).placeNamed,
	} {
		t.Run(name, func(t *testing.T) {
			f, err := NewFS(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if name == "tmpfile" && !f.tmpfile {
				if runtime.GOOS == "linux" {
					t.Fatal("no O_TMPFILE on this Linux filesystem: small objects take the slower named path")
				}
				t.Skip("O_TMPFILE is Linux's")
			}
			dst := f.path("studies/1.2/series/3.4/5.6.dcm")
			for _, content := range []string{"first", "second, longer"} {
				if err := place(f, []byte(content), dst); err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(dst)
				if err != nil || string(got) != content {
					t.Errorf("after placing %q: %q, %v", content, got, err)
				}
				if fi, err := os.Stat(dst); err != nil || fi.Mode().Perm() != 0o640 {
					t.Errorf("mode %v, %v; want 0640", fi.Mode(), err)
				}
				entries, err := os.ReadDir(f.uploads)
				if err != nil {
					t.Fatal(err)
				}
				var left []string
				for _, e := range entries {
					left = append(left, e.Name())
				}
				if len(left) != 0 {
					t.Errorf("left in .uploads: %s", strings.Join(left, ", "))
				}
			}
			if _, err := os.Stat(filepath.Dir(dst)); err != nil {
				t.Error(err)
			}
		})
	}
}
