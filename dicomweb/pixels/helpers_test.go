package pixels

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/medimg/medimg/internal/testfiles"
)

// testFile is a DICOM file as the HTTP layer will hand it over: the transfer syntax, the Format and
// each frame's bytes (native: little endian samples as the parser read them; encapsulated: the
// frame's one fragment).
type testFile struct {
	syntax string
	format Format
	frames [][]byte
}

// variant returns a file from the repository's testdata/ (see its README.md).
func variant(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join("..", "..", "testdata", name)
}

// real returns one of the real files shipped with github.com/suyashkumar/dicom.
func realFile(t testing.TB, name string) string { return testfiles.Path(t, name) }

func load(t testing.TB, path string) testFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dicom.Parse(bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	ints := func(tg tag.Tag) int {
		el, err := ds.FindElementByTag(tg)
		if err != nil {
			return 0
		}
		return el.Value.GetValue().([]int)[0]
	}
	strs := func(tg tag.Tag) []string {
		el, err := ds.FindElementByTag(tg)
		if err != nil {
			return nil
		}
		return el.Value.GetValue().([]string)
	}
	floats := func(tg tag.Tag) []float64 {
		var out []float64
		for _, s := range strs(tg) {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				t.Fatalf("%v: %v", tg, err)
			}
			out = append(out, v)
		}
		return out
	}
	first := func(v []float64) float64 {
		if len(v) == 0 {
			return 0
		}
		return v[0]
	}
	tf := testFile{
		syntax: strs(tag.TransferSyntaxUID)[0],
		format: Format{
			Rows: ints(tag.Rows), Columns: ints(tag.Columns), SamplesPerPixel: ints(tag.SamplesPerPixel),
			BitsAllocated: ints(tag.BitsAllocated), BitsStored: ints(tag.BitsStored), HighBit: ints(tag.HighBit),
			PixelRepresentation: ints(tag.PixelRepresentation), PlanarConfiguration: ints(tag.PlanarConfiguration),
			Photometric:  strings.TrimSpace(strs(tag.PhotometricInterpretation)[0]),
			RescaleSlope: first(floats(tag.RescaleSlope)), RescaleIntercept: first(floats(tag.RescaleIntercept)),
			WindowCenter: floats(tag.WindowCenter), WindowWidth: floats(tag.WindowWidth),
		},
	}
	el, err := ds.FindElementByTag(tag.PixelData)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range el.Value.GetValue().(dicom.PixelDataInfo).Frames {
		if f.Encapsulated {
			tf.frames = append(tf.frames, f.EncapsulatedData.Data)
			continue
		}
		var b []byte
		switch raw := f.NativeData.RawDataSlice().(type) {
		case []uint16:
			for _, v := range raw {
				b = append(b, byte(v), byte(v>>8))
			}
		case []uint8:
			b = append(b, raw...)
		default:
			t.Fatalf("unexpected native frame type %T", raw)
		}
		tf.frames = append(tf.frames, b)
	}
	return tf
}
