// Package testfiles finds the real DICOM files that tests use: the ones shipped in the testdata of
// github.com/suyashkumar/dicom v1.1.0 (in the module cache after `go mod download`; TCIA data under
// CC BY, cornerstone files under MIT, see that folder's included_licenses.md). A missing file fails
// the test, never skips it.
package testfiles

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
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

// LibraryFrames parses data with pixel data and returns each frame as the parser sees it: native
// samples encoded back in byte order bo, or the raw fragment bytes for encapsulated data (the
// parser gives one "frame" per fragment).
func LibraryFrames(t testing.TB, data []byte, bo binary.AppendByteOrder) [][]byte {
	t.Helper()
	ds, err := dicom.Parse(bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		t.Fatalf("parsing with pixel data: %v", err)
	}
	el, err := ds.FindElementByTag(tag.PixelData)
	if err != nil {
		t.Fatal(err)
	}
	info := el.Value.GetValue().(dicom.PixelDataInfo)
	var frames [][]byte
	for _, f := range info.Frames {
		if f.Encapsulated {
			frames = append(frames, f.EncapsulatedData.Data)
			continue
		}
		var b []byte
		switch raw := f.NativeData.RawDataSlice().(type) {
		case []uint16:
			for _, v := range raw {
				b = bo.AppendUint16(b, v)
			}
		case []uint8:
			b = append(b, raw...)
		default:
			t.Fatalf("unexpected native frame type %T", raw)
		}
		frames = append(frames, b)
	}
	return frames
}
