// Package testfiles finds the real DICOM files that tests use: the ones shipped in the testdata of
// github.com/suyashkumar/dicom v1.1.0 (in the module cache after `go mod download`; TCIA data under
// CC BY, cornerstone files under MIT, see that folder's included_licenses.md). A missing file fails
// the test, never skips it.
package testfiles

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	once   sync.Once
	dir    string
	dirErr error
)

// Path returns the path of a real file by name ("1.dcm" … "6.dcm").
func Path(tb testing.TB, name string) string {
	tb.Helper()
	once.Do(func() {
		var out []byte
		out, dirErr = exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/suyashkumar/dicom").Output()
		dir = strings.TrimSpace(string(out))
	})
	if dirErr != nil || dir == "" {
		tb.Fatalf("locating github.com/suyashkumar/dicom in the module cache (run go mod download): %v", dirErr)
	}
	p := filepath.Join(dir, "testdata", name)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("real test file missing: %v", err)
	}
	return p
}

// Read returns the bytes of a real file by name.
func Read(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(Path(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
