package pixels

import (
	"bytes"
	"fmt"
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

// TestConstantBlockMatchesDCT checks that a block of one grey level written without the DCT is
// the block the DCT path writes, bit for bit: every level, qualities from 1 to 100, DC
// differences of both signs.
func TestConstantBlockMatchesDCT(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	for _, quality := range []int{1, 10, 50, 75, 90, 95, 100} {
		_, recip := grayQuant(quality)
		for v := range 256 {
			for _, prevDC := range []int32{0, -700, 900} {
				for i := range img.Pix {
					img.Pix[i] = uint8(v)
				}
				var block [64]float32
				loadBlock(img, 0, 0, &block)
				fdct(&block)
				var general, constant jpegWriter
				wantDC := general.block(&block, &recip, prevDC)
				gotDC := constant.constantBlock(uint8(v), &recip, prevDC)
				general.flush()
				constant.flush()
				if gotDC != wantDC || !bytes.Equal(constant.out, general.out) {
					t.Fatalf("quality %d, level %d, previous DC %d: DC %d, bits %x; DCT path: DC %d, bits %x",
						quality, v, prevDC, gotDC, constant.out, wantDC, general.out)
				}
			}
		}
	}
}

// TestEncodeGrayJPEGUniformBlocks checks whole images with uniform blocks (every level, blocks cut
// by the right and bottom edges, a sub-image) against an encoder that sends every block through the
// DCT: the output must be identical.
func TestEncodeGrayJPEGUniformBlocks(t *testing.T) {
	for _, size := range []image.Point{{64, 64}, {61, 35}, {13, 9}, {8, 8}, {1, 1}, {7, 300}, {300, 7}} {
		img := image.NewGray(image.Rect(0, 0, size.X, size.Y))
		for y := range size.Y {
			for x := range size.X {
				// Uniform 8×8 tiles of changing levels, and a noisy tile now and then.
				v := uint8((x/8*37 + y/8*101) % 256)
				if (x/8+y/8)%5 == 3 {
					v += uint8(x * y % 7)
				}
				img.Pix[y*img.Stride+x] = v
			}
		}
		images := map[string]*image.Gray{"whole": img}
		if size.X > 5 && size.Y > 3 {
			images["sub_image"] = img.SubImage(image.Rect(3, 1, size.X, size.Y)).(*image.Gray)
		}
		if size.X >= 16 {
			images["aligned_sub_image"] = img.SubImage(image.Rect(0, 0, size.X-size.X%8-8, size.Y)).(*image.Gray)
		}
		for name, im := range images {
			for _, quality := range []int{1, 50, 90, 100} {
				t.Run(fmt.Sprintf("%dx%d_%s_q%d", size.X, size.Y, name, quality), func(t *testing.T) {
					var got bytes.Buffer
					if err := encodeGrayJPEG(&got, im, quality); err != nil {
						t.Fatal(err)
					}
					if want := encodeEveryBlockWithDCT(im, quality); !bytes.Equal(got.Bytes(), want) {
						t.Errorf("%d bytes differ from the DCT path's %d", got.Len(), len(want))
					}
				})
			}
		}
	}
}

// encodeEveryBlockWithDCT is encodeGrayJPEG without the uniform block shortcut: the reference.
func encodeEveryBlockWithDCT(img *image.Gray, quality int) []byte {
	b := img.Bounds()
	quant, recip := grayQuant(quality)
	var e jpegWriter
	e.headers(b.Dx(), b.Dy(), &quant)
	var block [64]float32
	var prevDC int32
	for y := 0; y < b.Dy(); y += 8 {
		for x := 0; x < b.Dx(); x += 8 {
			loadBlock(img, b.Min.X+x, b.Min.Y+y, &block)
			fdct(&block)
			prevDC = e.block(&block, &recip, prevDC)
		}
	}
	e.flush()
	return append(e.out, 0xFF, 0xD9)
}
