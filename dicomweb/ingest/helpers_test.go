package ingest

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/medimg/medimg/internal/testfiles"
)

// realFile returns the path of one of the real files shipped with github.com/suyashkumar/dicom.
func realFile(t testing.TB, name string) string { return testfiles.Path(t, name) }

// variantFile returns a file from the repository's testdata/ (see its README.md).
func variantFile(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join("..", "..", "testdata", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test file missing: %v", err)
	}
	return p
}

func readBytes(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readInstance(t testing.TB, data []byte) *Instance {
	t.Helper()
	inst, err := Read(bytes.NewReader(data), int64(len(data)), Options{})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return inst
}

// frameBytes reads frame i of inst through its ranges.
func frameBytes(data []byte, inst *Instance, i int) []byte {
	var b []byte
	for _, r := range inst.Frames.Frame(i) {
		b = append(b, data[r.Offset:r.Offset+r.Length]...)
	}
	return b
}

// libraryFrames is testfiles.LibraryFrames.
func libraryFrames(t testing.TB, data []byte, bo binary.AppendByteOrder) [][]byte {
	return testfiles.LibraryFrames(t, data, bo)
}

// inflatedDataset returns the inflated dataset of a deflated file, whose deflate stream starts at
// start: what the frame index of a deflated file addresses.
func inflatedDataset(t testing.TB, data []byte, start int64) []byte {
	t.Helper()
	b, err := io.ReadAll(flate.NewReader(bytes.NewReader(data[start:])))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
