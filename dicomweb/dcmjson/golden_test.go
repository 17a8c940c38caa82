package dcmjson

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/suyashkumar/dicom"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// dicomTestdata returns the testdata directory of the suyashkumar/dicom module in the module cache.
func dicomTestdata(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/suyashkumar/dicom").Output()
	if err != nil {
		t.Fatalf("locating github.com/suyashkumar/dicom (run go mod download): %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "testdata")
	if _, err := os.Stat(filepath.Join(dir, "1.dcm")); err != nil {
		t.Fatalf("real test files are missing: %v", err)
	}
	return dir
}

func parseFile(t testing.TB, path string) dicom.Dataset {
	t.Helper()
	ds, err := dicom.ParseFile(path, nil, dicom.SkipPixelData())
	if err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	return ds
}

func TestMarshalGolden(t *testing.T) {
	dir := dicomTestdata(t)
	for _, name := range []string{"1", "2", "3", "4", "5", "6"} {
		t.Run("file_"+name, func(t *testing.T) {
			ds := parseFile(t, filepath.Join(dir, name+".dcm"))
			got, err := Marshal(&ds, Options{BulkDataURI: func(p string) string { return "bulkdata/" + p }})
			if err != nil {
				t.Fatal(err)
			}
			var decoded map[string]any
			if err := json.Unmarshal(got, &decoded); err != nil {
				t.Fatalf("output is not valid JSON: %v", err)
			}
			var indented bytes.Buffer
			if err := json.Indent(&indented, got, "", " "); err != nil {
				t.Fatal(err)
			}
			indented.WriteByte('\n')
			golden := filepath.Join("testdata", name+".json")
			if *update {
				if err := os.WriteFile(golden, indented.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), indented.String()); diff != "" {
				t.Errorf("JSON differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

func BenchmarkMarshal(b *testing.B) {
	ds := parseFile(b, filepath.Join(dicomTestdata(b), "3.dcm"))
	b.ReportAllocs()
	var n int
	for b.Loop() {
		out, err := Marshal(&ds, Options{})
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.SetBytes(int64(n))
}
