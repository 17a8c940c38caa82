package pixels

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// diffStats returns the mean and largest absolute difference of two equally long byte slices.
func diffStats(t *testing.T, a, b []byte) (mean float64, largest int) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("length %d, want %d", len(a), len(b))
	}
	var sum int
	for i := range a {
		d := int(a[i]) - int(b[i])
		d = max(d, -d)
		sum += d
		largest = max(largest, d)
	}
	return float64(sum) / float64(len(a)), largest
}

func TestDecodeJPEGBaseline(t *testing.T) {
	tests := []struct {
		name, file, reference string
		wantPhotometric       string
		wantSamples           int
		// Bounds on the difference to the reference: another decoder's output for grayscale, the
		// uncompressed source for color (lossy chroma subsampling makes edges differ most).
		maxMean    float64
		maxLargest int
	}{
		{"grayscale_within_2_of_dcmtk_decode", "mr_jpeg_baseline.dcm", "mr_jpeg_baseline_dcmdjpeg.dcm", Monochrome2, 1, 0.5, 2},
		{"ybr_full_422_becomes_rgb_close_to_the_source", "rgb_jpeg_baseline.dcm", "rgb_native.dcm", RGB, 3, 2, 24},
		{"rgb_without_color_transform_close_to_the_source", "rgb_jpeg_baseline_rgb.dcm", "rgb_native.dcm", RGB, 3, 2, 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := load(t, variant(t, tt.file))
			ref := load(t, variant(t, tt.reference))
			if in.syntax != JPEGBaseline8Bit {
				t.Fatalf("%s has transfer syntax %s", tt.file, in.syntax)
			}
			got, f, err := Decode(in.syntax, in.format, in.frames[:1])
			if err != nil {
				t.Fatal(err)
			}
			want := Format{
				Rows: in.format.Rows, Columns: in.format.Columns, SamplesPerPixel: tt.wantSamples,
				BitsAllocated: 8, BitsStored: 8, HighBit: 7, Photometric: tt.wantPhotometric,
				RescaleSlope: in.format.RescaleSlope, RescaleIntercept: in.format.RescaleIntercept,
				WindowCenter: in.format.WindowCenter, WindowWidth: in.format.WindowWidth,
			}
			if diff := cmp.Diff(want, f); diff != "" {
				t.Errorf("format (-want +got):\n%s", diff)
			}
			mean, largest := diffStats(t, got, ref.frames[0])
			t.Logf("against %s: mean difference %.2f, largest %d", tt.reference, mean, largest)
			if mean > tt.maxMean || largest > tt.maxLargest {
				t.Errorf("mean difference %.2f (at most %.2f), largest %d (at most %d)", mean, tt.maxMean, largest, tt.maxLargest)
			}
			if img, err := jpeg.Decode(bytes.NewReader(in.frames[0])); err == nil {
				if g, ok := img.(*image.Gray); ok && !bytes.Equal(g.Pix, got) {
					t.Error("grayscale differs from image/jpeg's decode of the same fragment")
				}
			}
		})
	}
}

func TestDecodeJPEGPhotometricRGBMeansNoColorTransform(t *testing.T) {
	// A JFIF (YCbCr) stream labelled RGB: DICOM says the components are R, G and B as they are.
	src := image.NewYCbCr(image.Rect(0, 0, 16, 16), image.YCbCrSubsampleRatio444)
	for i := range src.Y {
		src.Y[i], src.Cb[i], src.Cr[i] = uint8(i), uint8(255-i), uint8(i*7)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	decoded, err := jpeg.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	ycc := decoded.(*image.YCbCr)
	var raw, converted []byte
	for y := range 16 {
		for x := range 16 {
			yy, cb, cr := ycc.Y[ycc.YOffset(x, y)], ycc.Cb[ycc.COffset(x, y)], ycc.Cr[ycc.COffset(x, y)]
			raw = append(raw, yy, cb, cr)
			r, g, b := color.YCbCrToRGB(yy, cb, cr)
			converted = append(converted, r, g, b)
		}
	}
	f := Format{Rows: 16, Columns: 16, SamplesPerPixel: 3, BitsAllocated: 8, BitsStored: 8, HighBit: 7}
	for _, tt := range []struct {
		photometric string
		want        []byte
	}{{RGB, raw}, {YBRFull422, converted}, {YBRFull, converted}} {
		t.Run(tt.photometric, func(t *testing.T) {
			f.Photometric = tt.photometric
			got, _, err := Decode(JPEGBaseline8Bit, f, [][]byte{buf.Bytes()})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(tt.want, got) {
				t.Error("pixels differ")
			}
		})
	}
}

func TestDecodeJPEGChecksTheSize(t *testing.T) {
	mr := load(t, variant(t, "mr_jpeg_baseline.dcm"))
	f := mr.format
	f.Rows++
	if _, _, err := Decode(mr.syntax, f, mr.frames[:1]); err == nil {
		t.Error("a JPEG of another size decoded without error")
	}
}
