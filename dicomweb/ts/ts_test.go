package ts

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The transfer syntax UIDs are written once, here: no other Go file of the module spells one.
func TestOneSetOfTransferSyntaxes(t *testing.T) {
	literal := regexp.MustCompile(`"1\.2\.840\.10008\.1\.2(\.[0-9.]*)?"`)
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() && (rel == "viewer" || strings.HasPrefix(d.Name(), ".")) && rel != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
			rel == "dicomweb/ts/ts.go" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if m := literal.Find(b); m != nil {
			t.Errorf("%s spells the transfer syntax %s; use package ts", rel, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
