package ingest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
)

func FuzzRead(f *testing.F) {
	// Seeds stay small (the minimizer re-runs Read for every byte it tries to drop): real headers
	// with nested sequences, their pixel data emptied.
	for _, name := range []string{"1.dcm", "3.dcm"} {
		f.Add(emptyPixelData(f, readBytes(f, realFile(f, name))))
	}
	f.Add(readBytes(f, realFile(f, "6.dcm")))
	f.Add(emptyPixelData(f, readBytes(f, variantFile(f, "mr_implicit_little_endian.dcm"))))
	f.Add(readBytes(f, variantFile(f, "mr_jpeg_lossless.dcm")))
	f.Add(generate(f, dicomgen.Spec{Rows: 2, Columns: 2, NumberOfFrames: 2}))
	f.Add(generate(f, dicomgen.Spec{Rows: 1, Columns: 1, Omit: []dicomgen.Tag{dicomgen.TagPixelData}}))
	f.Add(nestedLargeValues(tsImplicitLE, binary.LittleEndian, true))
	f.Add(nestedLargeValues(tsExplicitBE, binary.BigEndian, false))
	f.Add(nestedLargeValues(tsDeflated, binary.LittleEndian, false))
	f.Fuzz(func(t *testing.T, data []byte) {
		size := int64(len(data))
		inst, err := Read(bytes.NewReader(data), size, Options{})
		if err != nil {
			if !wrapsSentinel(err) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if !json.Valid(inst.Metadata) {
			t.Fatalf("invalid metadata JSON: %s", inst.Metadata)
		}
		// The parser's view with values cut must read as the input does (where both read at all:
		// a cut value the parser would have refused, such as an odd-length OW, no longer fails).
		cut, cutErr := Read(bytes.NewReader(data), size, cutAll)
		uncut, uncutErr := Read(bytes.NewReader(data), size, noCut)
		if cutErr == nil && uncutErr == nil {
			if diff := cmp.Diff(uncut, cut); diff != "" {
				t.Fatalf("cut values changed the instance (-uncut +cut):\n%s", diff)
			}
		}
		inside := func(r Range) bool { return r.Offset >= 0 && r.Length >= 0 && r.Offset+r.Length <= size }
		for p, r := range inst.BulkData {
			if !inside(r) {
				t.Fatalf("bulk data %s range %v outside %d bytes", p, r, size)
			}
		}
		if inst.Frames.Inflated { // ranges of the inflated dataset, bounded by maxInflated
			inside = func(r Range) bool { return r.Offset >= 0 && r.Length >= 0 && r.Offset+r.Length <= maxInflated }
		}
		for i, fr := range inst.Frames.All() {
			for _, r := range fr {
				if !inside(r) {
					t.Fatalf("frame %d range %v outside %d bytes", i, r, size)
				}
			}
		}
	})
}

// emptyPixelData cuts an explicit or implicit VR little endian object at its top-level pixel
// data and appends an empty PixelData element in place.
func emptyPixelData(tb testing.TB, data []byte) []byte {
	tb.Helper()
	inst := readInstance(tb, data)
	r, ok := inst.BulkData["7FE00010"]
	if !ok || r.Offset+r.Length != int64(len(data)) {
		tb.Fatal("pixel data is not the last element")
	}
	out := bytes.Clone(data[:r.Offset-4]) // keep tag and VR (or the tag only, implicit: 4+4)
	return append(out, 0, 0, 0, 0)
}

// FuzzWalk runs the walker alone on arbitrary bytes in every encoding it knows.
func FuzzWalk(f *testing.F) {
	mr := readBytes(f, realFile(f, "3.dcm"))
	f.Add(mr[1000:4000], uint8(0))
	f.Add([]byte{0xE0, 0x7F, 0x10, 0x00, 'O', 'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0, 0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		var bo binary.ByteOrder = binary.LittleEndian
		if mode&2 != 0 {
			bo = binary.BigEndian
		}
		res, err := walkDataset(bytes.NewReader(data), 0, int64(len(data)), bo, mode&1 != 0, 0)
		if err != nil {
			if !wrapsSentinel(err) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		for p, r := range res.values {
			if r.Offset < 0 || r.Length < 0 || r.Offset+r.Length > int64(len(data)) {
				t.Fatalf("value %s range %v outside %d bytes", p, r, len(data))
			}
		}
	})
}

func BenchmarkRead(b *testing.B) {
	data := readBytes(b, realFile(b, "3.dcm"))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(bytes.NewReader(data), int64(len(data)), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
