package transcode

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestTranscodeRefusesUnsupportedPairs(t *testing.T) {
	src := realFile(t, "3.dcm")
	tests := []struct{ name, from, to string }{
		{"to_RLE", ExplicitVRLittleEndian, RLELossless},
		{"to_JPEG_baseline", ExplicitVRLittleEndian, JPEGBaseline8Bit},
		{"from_JPEG_LS", "1.2.840.10008.1.2.4.80", ExplicitVRLittleEndian},
		{"from_JPEG_2000", "1.2.840.10008.1.2.4.90", ImplicitVRLittleEndian},
		{"to_an_unknown_syntax", ExplicitVRLittleEndian, "1.2.3.4"},
		{"from_nothing", "", ExplicitVRLittleEndian},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if Supported(tt.from, tt.to) {
				t.Errorf("Supported(%q, %q) = true", tt.from, tt.to)
			}
			err := Transcode(io.Discard, bytes.NewReader(src.data), int64(len(src.data)), tt.from, tt.to)
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v, want ErrUnsupported", err)
			}
			for _, ts := range []string{tt.from, tt.to} {
				if !strings.Contains(err.Error(), ts) {
					t.Errorf("error %q does not name %q", err, ts)
				}
			}
		})
	}
}

func TestSupported(t *testing.T) {
	for _, from := range []string{ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLE, RLELossless, JPEGBaseline8Bit, JPEGLossless, JPEGLosslessSV1} {
		for _, to := range nativeSyntaxes {
			if !Supported(from, to) {
				t.Errorf("Supported(%s, %s) = false", shortName[from], shortName[to])
			}
		}
	}
}

func TestTranscodeRejectsMalformedInput(t *testing.T) {
	src := realFile(t, "3.dcm")
	tests := []struct {
		name string
		data []byte
		from string
		want error
	}{
		{"not_DICOM", bytes.Repeat([]byte("x"), 400), ExplicitVRLittleEndian, ErrMalformed},
		{"empty", nil, ExplicitVRLittleEndian, ErrTruncated},
		{"wrong_from", src.data, ImplicitVRLittleEndian, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Transcode(io.Discard, bytes.NewReader(tt.data), int64(len(tt.data)), tt.from, ExplicitVRLittleEndian)
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

// TestTranscodeTruncated cuts real files everywhere (a cut between two top-level elements is a
// valid shorter object) and inside their last element, where it must be reported.
func TestTranscodeTruncated(t *testing.T) {
	for _, name := range []string{
		"3.dcm", "5.dcm", "6.dcm", "testdata/mr_implicit_little_endian.dcm", "testdata/mr_explicit_big_endian.dcm",
		"testdata/mr_rle.dcm", "testdata/rgb_jpeg_baseline.dcm", "testdata/ct_multiframe_jpeg_baseline_bot_fragments.dcm",
	} {
		src := realFile(t, name)
		t.Run(name, func(t *testing.T) {
			step := max(1, len(src.data)/500)
			for cut := 0; cut < len(src.data); cut += step {
				err := Transcode(io.Discard, bytes.NewReader(src.data[:cut]), int64(cut), src.ts, ExplicitVRLittleEndian)
				if err != nil && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
					t.Errorf("cut at %d: error %v is none of ours", cut, err)
				}
			}
			cuts := []int{len(src.data) - 20, len(src.data) - 100}
			if src.ts != DeflatedExplicitVRLE { // 6.dcm has 8 bytes after its deflate stream
				cuts = append(cuts, len(src.data)-1, len(src.data)-2)
			}
			for _, cut := range cuts {
				err := Transcode(io.Discard, bytes.NewReader(src.data[:cut]), int64(cut), src.ts, ExplicitVRLittleEndian)
				if !errors.Is(err, ErrTruncated) {
					t.Errorf("cut at %d of %d: error %v, want ErrTruncated", cut, len(src.data), err)
				}
			}
		})
	}
}
