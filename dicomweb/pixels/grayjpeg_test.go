package pixels

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"testing"
)

// TestEncodeGrayJPEG checks that our grayscale encoder's output is a JPEG that image/jpeg decodes
// to the frame it was given, within the error of image/jpeg's own encoder at the same quality: on
// a real CT frame, on noise (every coefficient used, long codes, 0xFF bytes to stuff) and on sizes
// that are not multiples of 8.
func TestEncodeGrayJPEG(t *testing.T) {
	ct := load(t, realFile(t, "5.dcm"))
	f := ct.format
	f.RescaleIntercept = -1024
	rendered, err := Render(ct.frames[0], f, RenderOptions{Window: &Window{Center: 40, Width: 400}})
	if err != nil {
		t.Fatal(err)
	}
	noise := image.NewGray(image.Rect(0, 0, 61, 35))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(i * 7919 % 251)
	}
	tiny := image.NewGray(image.Rect(0, 0, 1, 1))
	tiny.Pix[0] = 200
	sub := noise.SubImage(image.Rect(3, 5, 20, 30)).(*image.Gray) // a Min that is not the origin
	tests := []struct {
		name    string
		img     *image.Gray
		quality int
	}{
		{"real_CT_q90", rendered.(*image.Gray), 90},
		{"real_CT_q50", rendered.(*image.Gray), 50},
		{"real_CT_q100", rendered.(*image.Gray), 100},
		{"noise_odd_size_q90", noise, 90},
		{"noise_odd_size_q1", noise, 1},
		{"one_pixel", tiny, 75},
		{"sub_image", sub, 90},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ours, theirs bytes.Buffer
			if err := encodeGrayJPEG(&ours, tt.img, tt.quality); err != nil {
				t.Fatal(err)
			}
			if err := jpeg.Encode(&theirs, tt.img, &jpeg.Options{Quality: tt.quality}); err != nil {
				t.Fatal(err)
			}
			got, err := jpeg.Decode(bytes.NewReader(ours.Bytes()))
			if err != nil {
				t.Fatalf("decoding our JPEG: %v", err)
			}
			gray, ok := got.(*image.Gray)
			if !ok || gray.Bounds().Size() != tt.img.Bounds().Size() {
				t.Fatalf("decoded a %T of %v, want an *image.Gray of %v", got, got.Bounds().Size(), tt.img.Bounds().Size())
			}
			ref, err := jpeg.Decode(bytes.NewReader(theirs.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			oursErr, theirsErr := rmsError(tt.img, gray), rmsError(tt.img, ref.(*image.Gray))
			t.Logf("%d bytes, RMS error %.3f; image/jpeg: %d bytes, RMS error %.3f", ours.Len(), oursErr, theirs.Len(), theirsErr)
			// Float DCT and libjpeg rounding against image/jpeg's integer DCT: the same error, give
			// or take a few percent, and never a larger file by more than that.
			if oursErr > theirsErr*1.05+0.05 {
				t.Errorf("RMS error %.3f, image/jpeg's %.3f", oursErr, theirsErr)
			}
			if ours.Len() > theirs.Len()*105/100+16 {
				t.Errorf("%d bytes, image/jpeg's %d", ours.Len(), theirs.Len())
			}
		})
	}
}

// rmsError is the root mean square difference of the pixels of a and b (b at the origin).
func rmsError(a, b *image.Gray) float64 {
	r := a.Bounds()
	var sum float64
	for y := range r.Dy() {
		for x := range r.Dx() {
			d := float64(a.GrayAt(r.Min.X+x, r.Min.Y+y).Y) - float64(b.GrayAt(x, y).Y)
			sum += d * d
		}
	}
	return math.Sqrt(sum / float64(r.Dx()*r.Dy()))
}

func TestEncodeGrayJPEGRefusesHugeImages(t *testing.T) {
	img := &image.Gray{Rect: image.Rect(0, 0, 1<<16, 1)} // never read: refused from its bounds
	if err := encodeGrayJPEG(&bytes.Buffer{}, img, 90); err == nil {
		t.Error("a JPEG 65,536 pixels wide: no error")
	}
}
