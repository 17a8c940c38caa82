package transcode

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/medimg/medimg/dicomweb/ingest"
	"github.com/medimg/medimg/dicomweb/pixels"
	"github.com/medimg/medimg/internal/testfiles"
)

func TestTranscodeEncapsulated(t *testing.T) {
	tests := []struct {
		file string
		// native is the file it was compressed from, for lossless codecs.
		native          string
		wantPhotometric string
	}{
		{file: "testdata/mr_rle.dcm", native: "3.dcm", wantPhotometric: "MONOCHROME2"},
		{file: "testdata/ct_multiframe_rle.dcm", native: "5.dcm", wantPhotometric: "MONOCHROME2"},
		{file: "testdata/rgb_rle.dcm", native: "testdata/rgb_native.dcm", wantPhotometric: "RGB"},
		{file: "testdata/mr_jpeg_baseline.dcm", wantPhotometric: "MONOCHROME2"},
		{file: "testdata/rgb_jpeg_baseline.dcm", wantPhotometric: "RGB"}, // from YBR_FULL_422
		{file: "testdata/rgb_jpeg_baseline_rgb.dcm", wantPhotometric: "RGB"},
		{file: "testdata/ct_multiframe_jpeg_baseline_bot_fragments.dcm", wantPhotometric: "MONOCHROME2"},
		{file: "testdata/ct_multiframe_jpeg_baseline_fragments_no_lossy_flag.dcm", wantPhotometric: "MONOCHROME2"},
		{file: "testdata/mr_jpeg_lossless.dcm", native: "3.dcm", wantPhotometric: "MONOCHROME2"},
		{file: "testdata/mr_jpeg_lossless_sv7.dcm", native: "3.dcm", wantPhotometric: "MONOCHROME2"},
		{file: "testdata/ct_multiframe_jpeg_lossless_fragments.dcm", native: "5.dcm", wantPhotometric: "MONOCHROME2"},
		{file: "testdata/ct_multiframe_jpeg_lossless_bot_fragments.dcm", native: "5.dcm", wantPhotometric: "MONOCHROME2"},
		{file: "testdata/rgb_jpeg_lossless.dcm", native: "testdata/rgb_native.dcm", wantPhotometric: "RGB"},
	}
	for _, tt := range tests {
		src := realFile(t, tt.file)
		lossy := src.ts == JPEGBaseline8Bit
		t.Run(strings.TrimPrefix(tt.file, "testdata/")+"/to_explicit_LE", func(t *testing.T) {
			out := transcoded(t, src.data, src.ts, ExplicitVRLittleEndian)
			inst := read(t, out)
			if inst.TransferSyntaxUID != ExplicitVRLittleEndian {
				t.Errorf("TransferSyntaxUID %s", inst.TransferSyntaxUID)
			}
			got := storedFrames(t, out, inst)
			sameFrames(t, decodedFrames(t, src), got)
			if tt.native != "" {
				sameFrames(t, testfiles.LibraryFrames(t, realFile(t, tt.native).data, binary.LittleEndian), got)
			}
			// Only the attributes that describe the decoded pixels change.
			sameMetadata(t, read(t, src.data).Metadata, inst.Metadata, "00280004", "00280006", "00282110", "7FE00010")
			ds := parseFull(t, out)
			if got := stringValue(t, ds, tag.PhotometricInterpretation); got != tt.wantPhotometric {
				t.Errorf("PhotometricInterpretation %q, want %q", got, tt.wantPhotometric)
			}
			if tt.wantPhotometric == "RGB" {
				if got := stringValue(t, ds, tag.PlanarConfiguration); got != "[0]" {
					t.Errorf("PlanarConfiguration %s, want [0]", got)
				}
			}
			if lossy {
				if got := stringValue(t, ds, tag.LossyImageCompression); got != "01" {
					t.Errorf("LossyImageCompression %q, want 01", got)
				}
			}
			checkDcmdump(t, out)
		})
		t.Run(strings.TrimPrefix(tt.file, "testdata/")+"/to_every_native_syntax", func(t *testing.T) {
			want := testfiles.LibraryFrames(t, transcoded(t, src.data, src.ts, ExplicitVRLittleEndian), binary.LittleEndian)
			for _, to := range nativeSyntaxes {
				out := transcoded(t, src.data, src.ts, to)
				if ts := read(t, out).TransferSyntaxUID; ts != to {
					t.Errorf("TransferSyntaxUID %s, want %s", ts, to)
				}
				sameFrames(t, want, testfiles.LibraryFrames(t, out, binary.LittleEndian))
				checkDcmdump(t, out)
			}
		})
	}
}

// decodedFrames decodes each stored frame of an encapsulated sample with pixels.Decode.
func decodedFrames(t *testing.T, src sample) [][]byte {
	t.Helper()
	inst := read(t, src.data)
	f := formatOf(t, parseFull(t, src.data))
	var frames [][]byte
	for i, ranges := range inst.Frames.All() {
		var frags [][]byte
		for _, r := range ranges {
			frags = append(frags, src.data[r.Offset:r.Offset+r.Length])
		}
		native, _, err := pixels.Decode(src.ts, f, frags)
		if err != nil {
			t.Fatalf("frame %d: %v", i+1, err)
		}
		frames = append(frames, native)
	}
	return frames
}

// storedFrames returns the native frames of an explicit VR little endian object as stored.
func storedFrames(t *testing.T, data []byte, inst *ingest.Instance) [][]byte {
	t.Helper()
	if inst.Frames.Encapsulated || inst.Frames.Len() == 0 {
		t.Fatalf("no native frames: %+v", inst.Frames)
	}
	var frames [][]byte
	for _, ranges := range inst.Frames.All() {
		r := ranges[0]
		frames = append(frames, data[r.Offset:r.Offset+r.Length])
	}
	return frames
}

// formatOf reads the Image Pixel attributes of a parsed dataset.
func formatOf(t *testing.T, ds dicom.Dataset) pixels.Format {
	t.Helper()
	n := func(tg tag.Tag) int {
		el, err := ds.FindElementByTag(tg)
		if err != nil {
			return 0
		}
		v, _ := el.Value.GetValue().([]int)
		if len(v) == 0 {
			return 0
		}
		return v[0]
	}
	return pixels.Format{
		Rows: n(tag.Rows), Columns: n(tag.Columns), SamplesPerPixel: n(tag.SamplesPerPixel),
		BitsAllocated: n(tag.BitsAllocated), BitsStored: n(tag.BitsStored), HighBit: n(tag.HighBit),
		PixelRepresentation: n(tag.PixelRepresentation), PlanarConfiguration: n(tag.PlanarConfiguration),
		Photometric: stringValue(t, ds, tag.PhotometricInterpretation),
	}
}

// stringValue is an element's value as text: its first string, or its values printed.
func stringValue(t *testing.T, ds dicom.Dataset, tg tag.Tag) string {
	t.Helper()
	el, err := ds.FindElementByTag(tg)
	if err != nil {
		t.Fatalf("%s: %v", tg, err)
	}
	if s, ok := el.Value.GetValue().([]string); ok && len(s) > 0 {
		return strings.TrimSpace(s[0])
	}
	return el.Value.String()
}
