package storage

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestFSPlaceSmallObjects commits small uploads both ways they can reach their key (an unnamed
// O_TMPFILE file linked into place, and where there is no O_TMPFILE a temp file renamed), each to a
// new key and over an existing one: the content, the mode, and nothing left in .uploads.
func TestFSPlaceSmallObjects(t *testing.T) {
	for name, tmpfile := range map[string]bool{"tmpfile": true, "named": false} {
		t.Run(name, func(t *testing.T) {
			f, err := NewFS(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if tmpfile && !f.tmpfile {
				if runtime.GOOS == "linux" {
					t.Fatal("no O_TMPFILE on this Linux filesystem: small objects take the slower named path")
				}
				t.Skip("O_TMPFILE is Linux's")
			}
			f.tmpfile = tmpfile
			const key = "studies/1.2/series/3.4/5.6.dcm"
			dst := f.path(key)
			for _, content := range []string{"first", "second, longer"} {
				up, err := f.NewUpload(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := up.Write([]byte(content)); err != nil {
					t.Fatal(err)
				}
				if err := up.Commit(t.Context(), key); err != nil {
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
