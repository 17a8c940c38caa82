package transcode

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/medimg/medimg/internal/testfiles"
)

// nativeSources are the real files in native syntaxes: the parser's six and our variants.
var nativeSources = []string{
	"1.dcm", "2.dcm", "3.dcm", "4.dcm", "5.dcm", "6.dcm",
	"testdata/mr_explicit_big_endian.dcm", "testdata/mr_implicit_little_endian.dcm",
	"testdata/rgb_native.dcm", "testdata/mr_jpeg_baseline_dcmdjpeg.dcm",
}

func TestTranscodeNativeSyntaxes(t *testing.T) {
	for _, name := range nativeSources {
		src := realFile(t, name)
		srcInst := read(t, src.data)
		srcFrames := testfiles.LibraryFrames(t, src.data, binary.LittleEndian)
		for _, to := range nativeSyntaxes {
			t.Run(name+"/to_"+shortName[to], func(t *testing.T) {
				out := transcoded(t, src.data, src.ts, to)
				inst := read(t, out)
				if inst.TransferSyntaxUID != to {
					t.Errorf("TransferSyntaxUID %s, want %s", inst.TransferSyntaxUID, to)
				}
				sameMetadata(t, srcInst.Metadata, inst.Metadata)
				sameFrames(t, srcFrames, testfiles.LibraryFrames(t, out, binary.LittleEndian))
				checkDcmdump(t, out)
				for _, via := range nativeSyntaxes {
					roundTrip(t, src, out, to, via)
				}
			})
		}
	}
}

// roundTrip checks that out (in syntax a) sent through syntax b and back is out again. Through
// implicit VR, an explicit object loses the VRs the dictionary cannot restore (private elements,
// UN kept for public tags); the second trip must then be a fixed point.
func roundTrip(t *testing.T, src sample, out []byte, a, b string) {
	t.Helper()
	back := transcoded(t, transcoded(t, out, a, b), b, a)
	if a != ImplicitVRLittleEndian && b == ImplicitVRLittleEndian && src.ts != ImplicitVRLittleEndian {
		out, back = back, transcoded(t, transcoded(t, back, a, b), b, a)
	}
	if !bytes.Equal(out, back) {
		t.Errorf("%s → %s → %s: %d bytes, not the %d of the first %s output", shortName[a], shortName[b], shortName[a], len(back), len(out), shortName[a])
	}
}

func BenchmarkTranscode(b *testing.B) {
	src := realFile(b, "4.dcm")
	r := bytes.NewReader(src.data)
	b.SetBytes(int64(len(src.data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Transcode(discard{}, r, int64(len(src.data)), ImplicitVRLittleEndian, ExplicitVRLittleEndian); err != nil {
			b.Fatal(err)
		}
	}
}

// discard is io.Discard without its ReadFrom, so that the benchmark measures writes as a
// response writer sees them.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
