package pixels

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// gray16 builds a 1-row frame of signed or unsigned 16-bit values.
func gray16(signed bool, values ...int) ([]byte, Format) {
	f := Format{Rows: 1, Columns: len(values), SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 16, HighBit: 15, Photometric: Monochrome2}
	if signed {
		f.PixelRepresentation = 1
	}
	var b []byte
	for _, v := range values {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b, f
}

func render(t *testing.T, native []byte, f Format, opts RenderOptions) image.Image {
	t.Helper()
	img, err := Render(native, f, opts)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func grayPix(t *testing.T, img image.Image) []uint8 {
	t.Helper()
	g, ok := img.(*image.Gray)
	if !ok {
		t.Fatalf("rendered %T, want *image.Gray", img)
	}
	return g.Pix
}

// clearGarbage zeroes the bits outside the stored ones of native little-endian samples.
func clearGarbage(native []byte, f Format) {
	size := f.BitsAllocated / 8
	keep := (uint64(1)<<f.BitsStored - 1) << (f.HighBit + 1 - f.BitsStored)
	for p := 0; p+size <= len(native); p += size {
		for i := range size {
			native[p+i] &= byte(keep >> (8 * i))
		}
	}
}

func TestRenderMasksAndSignExtendsStoredValues(t *testing.T) {
	// With no window the frame's min/max span 0–255, so each output is fixed by the true value;
	// the garbage written above and below the stored bits must not show.
	// Without garbage the 8- and 16-bit path fills its table from the stored values alone.
	for _, c := range storedCases {
		for _, variant := range []string{Monochrome2, Monochrome1, "no_garbage"} {
			t.Run(c.name+"_"+variant, func(t *testing.T) {
				native, f, err := Decode(ExplicitVRBigEndian, c.format(), [][]byte{c.encode(true)})
				if err != nil {
					t.Fatal(err)
				}
				photometric := variant
				if variant == "no_garbage" {
					photometric = Monochrome2
					clearGarbage(native, f)
				}
				f.Photometric = photometric
				lo, hi := slicesMinMax(c.values)
				var want []uint8
				for _, v := range c.values {
					y := math.Round(float64(v-lo) / float64(hi-lo) * 255)
					if photometric == Monochrome1 {
						y = 255 - y
					}
					want = append(want, uint8(y))
				}
				if diff := cmp.Diff(want, grayPix(t, render(t, native, f, RenderOptions{}))); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			})
		}
	}
}

func slicesMinMax(v []int64) (lo, hi int64) {
	lo, hi = v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

func TestRenderWindow(t *testing.T) {
	// Values from c-w/2-10 to c+w/2+10 around center 1000, width 201.
	c, w := 1000.0, 201.0
	var values []int
	for v := int(c - w/2 - 10); v <= int(c+w/2+10); v++ {
		values = append(values, v)
	}
	native, f := gray16(false, values...)
	at := func(pix []uint8, v float64) int { return int(pix[int(v)-values[0]]) }
	tests := []struct {
		function                string
		atLow, atCenter, atHigh int // the outputs at c-w/2 (rounded up), c, c+w/2 (rounded down)
	}{
		{Linear, 0, 128, 255},
		{"", 0, 128, 255},
		{LinearExact, 1, 128, 254},
		{Sigmoid, 31, 128, 224},
	}
	for _, tt := range tests {
		t.Run("function_"+tt.function, func(t *testing.T) {
			pix := grayPix(t, render(t, native, f, RenderOptions{Window: &Window{Center: c, Width: w, Function: tt.function}}))
			got := []int{at(pix, c-w/2+0.5), at(pix, c), at(pix, c+w/2-0.5)}
			want := []int{tt.atLow, tt.atCenter, tt.atHigh}
			if d := cmp.Diff(want, got, cmp.Comparer(func(a, b int) bool { return a-b <= 1 && b-a <= 1 })); d != "" {
				t.Errorf("outputs at c-w/2, c, c+w/2 (-want +got):\n%s", d)
			}
			if tt.function != Sigmoid && (pix[0] != 0 || pix[len(pix)-1] != 255) {
				t.Errorf("outside the window: %d and %d, want 0 and 255", pix[0], pix[len(pix)-1])
			}
			for i := 1; i < len(pix); i++ {
				if pix[i] < pix[i-1] {
					t.Fatalf("output falls from %d to %d at value %d", pix[i-1], pix[i], values[i])
				}
			}
		})
	}
}

func TestRenderModalityAndVOI(t *testing.T) {
	// HU -200, 40 and 240 under a 40/400 soft-tissue window render as 0, ~128 and 255.
	tests := []struct {
		name   string
		signed bool
		values []int
		slope  float64
		inter  float64
		window *Window
		stored []float64 // the Format's window, used when window is nil
		want   []uint8
	}{
		{"rescale_intercept_before_window", false, []int{824, 1064, 1264}, 1, -1024, &Window{Center: 40, Width: 400}, nil, []uint8{0, 128, 255}},
		{"rescale_slope_before_window", false, []int{412, 532, 632}, 2, -1024, &Window{Center: 40, Width: 400}, nil, []uint8{0, 128, 255}},
		{"zero_slope_means_one", false, []int{824, 1064, 1264}, 0, -1024, &Window{Center: 40, Width: 400}, nil, []uint8{0, 128, 255}},
		{"signed_values", true, []int{-200, 40, 240}, 1, 0, &Window{Center: 40, Width: 400}, nil, []uint8{0, 128, 255}},
		{"stored_window_when_none_asked", true, []int{-200, 40, 240}, 1, 0, nil, []float64{40, 400}, []uint8{0, 128, 255}},
		{"min_max_when_no_window", true, []int{-200, 40, 240, -1000}, 1, 0, nil, nil, []uint8{165, 214, 255, 0}},
		{"min_max_when_stored_width_is_0", true, []int{-200, 40, 240, -1000}, 1, 0, nil, []float64{40, 0}, []uint8{165, 214, 255, 0}},
		{"a_flat_frame_is_black", false, []int{7, 7, 7}, 1, 0, nil, nil, []uint8{0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			native, f := gray16(tt.signed, tt.values...)
			f.RescaleSlope, f.RescaleIntercept = tt.slope, tt.inter
			if tt.stored != nil {
				f.WindowCenter, f.WindowWidth = tt.stored[:1], tt.stored[1:]
			}
			got := grayPix(t, render(t, native, f, RenderOptions{Window: tt.window}))
			if d := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b uint8) bool { return max(a, b)-min(a, b) <= 1 })); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestRenderMatchesDCMTKWindowing(t *testing.T) {
	// dcmj2pnm +Wi 1 applies the MR's stored window (378/465 over a 7.84 slope) as we do.
	mr := load(t, realFile(t, "3.dcm"))
	pgm, err := os.ReadFile(variant(t, "mr_window_dcmj2pnm.pgm"))
	if err != nil {
		t.Fatal(err)
	}
	header := fmt.Sprintf("P5\n%d %d\n255\n", mr.format.Columns, mr.format.Rows)
	if !bytes.HasPrefix(pgm, []byte(header)) {
		t.Fatalf("PGM header %q, want %q", pgm[:len(header)], header)
	}
	got := grayPix(t, render(t, mr.frames[0], mr.format, RenderOptions{}))
	mean, largest := diffStats(t, got, pgm[len(header):])
	if mean > 0.5 || largest > 1 { // dcmtk rounds differently: never more than 1 apart
		t.Errorf("against dcmtk: mean difference %.3f, largest %d; want within 1", mean, largest)
	}
}

func TestRenderColor(t *testing.T) {
	// Two pixels: a saturated orange and a dark blue-green, in each layout.
	rgbPix := []uint8{250, 120, 10, 20, 90, 110}
	ybr := func(r, g, b float64) []uint8 {
		y := 0.299*r + 0.587*g + 0.114*b
		cb := -0.168736*r - 0.331264*g + 0.5*b + 128
		cr := 0.5*r - 0.418688*g - 0.081312*b + 128
		return []uint8{uint8(math.Round(y)), uint8(math.Round(cb)), uint8(math.Round(cr))}
	}
	ybrPix := append(ybr(250, 120, 10), ybr(20, 90, 110)...)
	f := Format{Rows: 1, Columns: 2, SamplesPerPixel: 3, BitsAllocated: 8, BitsStored: 8, HighBit: 7, Photometric: RGB}
	tests := []struct {
		name        string
		photometric string
		planar      int
		bits        int
		data        []uint8
		tolerance   uint8
	}{
		{"rgb_interleaved", RGB, 0, 8, rgbPix, 0},
		{"rgb_planar", RGB, 1, 8, []uint8{250, 20, 120, 90, 10, 110}, 0},
		{"rgb_16_bit_keeps_the_top_8_bits", RGB, 0, 16, nil, 0},
		{"ybr_full_within_1_of_the_formula", YBRFull, 0, 8, ybrPix, 1},
		{"ybr_full_planar", YBRFull, 1, 8, []uint8{ybrPix[0], ybrPix[3], ybrPix[1], ybrPix[4], ybrPix[2], ybrPix[5]}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := f
			f.Photometric, f.PlanarConfiguration = tt.photometric, tt.planar
			data := tt.data
			if tt.bits == 16 {
				f.BitsAllocated, f.BitsStored, f.HighBit = 16, 12, 11
				for _, v := range rgbPix {
					data = binary.LittleEndian.AppendUint16(data, uint16(v)<<4|0xf00f) // garbage above bit 11, noise below
				}
			}
			rgba, ok := render(t, data, f, RenderOptions{}).(*image.RGBA)
			if !ok {
				t.Fatal("not RGBA")
			}
			want := []uint8{250, 120, 10, 255, 20, 90, 110, 255}
			if d := cmp.Diff(want, rgba.Pix, cmp.Comparer(func(a, b uint8) bool { return max(a, b)-min(a, b) <= tt.tolerance })); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestRenderYBRFull422SharesChroma(t *testing.T) {
	// Y1 Y2 Cb Cr: two pixels of different brightness and the same color.
	f := Format{Rows: 1, Columns: 2, SamplesPerPixel: 3, BitsAllocated: 8, BitsStored: 8, HighBit: 7, Photometric: YBRFull422}
	native, _, err := Decode(ExplicitVRLittleEndian, f, [][]byte{{60, 200, 100, 170}})
	if err != nil {
		t.Fatal(err)
	}
	rgba := render(t, native, f, RenderOptions{}).(*image.RGBA)
	var want []uint8
	for _, y := range []uint8{60, 200} {
		r, g, b := color.YCbCrToRGB(y, 100, 170)
		want = append(want, r, g, b, 255)
	}
	if d := cmp.Diff(want, rgba.Pix); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestRenderViewport(t *testing.T) {
	tests := []struct {
		name         string
		w, h, vw, vh int
		wantW, wantH int
	}{
		{"no_viewport_keeps_the_size", 512, 256, 0, 0, 512, 256},
		{"wide_image_in_a_square", 512, 256, 64, 64, 64, 32},
		{"tall_image_in_a_square", 100, 400, 64, 64, 16, 64},
		{"width_only", 512, 256, 128, 0, 128, 64},
		{"height_only", 512, 256, 0, 128, 256, 128},
		{"small_image_is_enlarged", 16, 8, 64, 64, 64, 32},
		{"never_below_one_pixel", 1000, 1, 10, 10, 10, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Left half 0, right half 1000, so the halves must stay black and white.
			values := make([]int, tt.w*tt.h)
			for i := range values {
				if i%tt.w >= tt.w/2 {
					values[i] = 1000
				}
			}
			native, f := gray16(false, values...)
			f.Rows, f.Columns = tt.h, tt.w
			img := render(t, native, f, RenderOptions{ViewportWidth: tt.vw, ViewportHeight: tt.vh})
			if got := img.Bounds().Size(); got != image.Pt(tt.wantW, tt.wantH) {
				t.Fatalf("size %v, want %dx%d", got, tt.wantW, tt.wantH)
			}
			g := img.(*image.Gray)
			if first, last := g.GrayAt(0, tt.wantH-1).Y, g.GrayAt(tt.wantW-1, 0).Y; first != 0 || last != 255 {
				t.Errorf("corners %d and %d, want 0 and 255", first, last)
			}
		})
	}
}

func TestRenderAreaAverages(t *testing.T) {
	// A 4×4 checkerboard of 0 and 255 shrunk to 2×2 is uniform mid-gray.
	var values []int
	for i := range 16 {
		values = append(values, 1000*((i+i/4)%2))
	}
	native, f := gray16(false, values...)
	f.Rows, f.Columns = 4, 4
	got := grayPix(t, render(t, native, f, RenderOptions{ViewportWidth: 2, ViewportHeight: 2}))
	if d := cmp.Diff([]uint8{128, 128, 128, 128}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestRenderErrors(t *testing.T) {
	native, f := gray16(false, 1, 2, 3, 4)
	tests := []struct {
		name   string
		native []byte
		opts   RenderOptions
		want   error
	}{
		{"short_data", native[:7], RenderOptions{}, ErrCorrupt},
		{"window_width_0", native, RenderOptions{Window: &Window{Center: 1, Width: 0}}, ErrBadOptions},
		{"window_width_negative", native, RenderOptions{Window: &Window{Center: 1, Width: -5}}, ErrBadOptions},
		{"window_center_nan", native, RenderOptions{Window: &Window{Center: math.NaN(), Width: 5}}, ErrBadOptions},
		{"unknown_function", native, RenderOptions{Window: &Window{Center: 1, Width: 5, Function: "CUBIC"}}, ErrBadOptions},
		{"negative_viewport", native, RenderOptions{ViewportWidth: -1}, ErrBadOptions},
		{"viewport_above_the_maximum", native, RenderOptions{ViewportHeight: MaxViewport + 1}, ErrBadOptions},
		{"quality_above_100", native, RenderOptions{Quality: 101}, ErrBadOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Render(tt.native, f, tt.opts); !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	ct := load(t, realFile(t, "5.dcm"))
	rgb := load(t, variant(t, "rgb_native.dcm"))
	gray := render(t, ct.frames[1], ct.format, RenderOptions{ViewportWidth: 100, ViewportHeight: 100})
	color := render(t, rgb.frames[0], rgb.format, RenderOptions{})
	decoders := map[string]func(io.Reader) (image.Image, error){"image/jpeg": jpeg.Decode, "image/png": png.Decode}
	for _, img := range []image.Image{gray, color} {
		for _, media := range []string{"image/jpeg", "image/png"} {
			t.Run(fmt.Sprintf("%T_as_%s", img, media), func(t *testing.T) {
				var buf bytes.Buffer
				if err := Encode(&buf, img, media, 0); err != nil {
					t.Fatal(err)
				}
				back, err := decoders[media](&buf)
				if err != nil {
					t.Fatal(err)
				}
				if back.Bounds() != img.Bounds() {
					t.Errorf("decoded %v, want %v", back.Bounds(), img.Bounds())
				}
				if media == "image/png" {
					for _, p := range []image.Point{{0, 0}, {17, 23}, {img.Bounds().Dx() - 1, img.Bounds().Dy() - 1}} {
						r1, g1, b1, _ := img.At(p.X, p.Y).RGBA()
						r2, g2, b2, _ := back.At(p.X, p.Y).RGBA()
						if [3]uint32{r1, g1, b1} != [3]uint32{r2, g2, b2} {
							t.Errorf("PNG pixel %v changed", p)
						}
					}
				}
			})
		}
	}
	if err := Encode(io.Discard, gray, "image/gif", 0); !errors.Is(err, ErrUnsupported) {
		t.Errorf("image/gif: %v, want ErrUnsupported", err)
	}
}

func BenchmarkRenderCT(b *testing.B) {
	// The real CT frame as signed 16-bit with a rescale and a soft-tissue window, to JPEG.
	ct := load(b, realFile(b, "5.dcm"))
	f := ct.format
	f.PixelRepresentation, f.RescaleSlope, f.RescaleIntercept = 1, 1, -1024
	opts := RenderOptions{Window: &Window{Center: 40, Width: 400}}
	rendered, err := Render(ct.frames[0], f, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("render_and_jpeg", func(b *testing.B) {
		defer threadCPU(b)()
		for b.Loop() {
			img, err := Render(ct.frames[0], f, opts)
			if err != nil {
				b.Fatal(err)
			}
			if err := Encode(io.Discard, img, "image/jpeg", 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("render_only", func(b *testing.B) {
		defer threadCPU(b)()
		for b.Loop() {
			if _, err := Render(ct.frames[0], f, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jpeg_only", func(b *testing.B) {
		defer threadCPU(b)()
		for b.Loop() {
			if err := Encode(io.Discard, rendered, "image/jpeg", 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRenderCTThumbnail(b *testing.B) {
	ct := load(b, realFile(b, "5.dcm"))
	opts := RenderOptions{ViewportWidth: 128, ViewportHeight: 128}
	defer threadCPU(b)()
	for b.Loop() {
		img, err := Render(ct.frames[0], ct.format, opts)
		if err != nil {
			b.Fatal(err)
		}
		if err := Encode(io.Discard, img, "image/jpeg", 0); err != nil {
			b.Fatal(err)
		}
	}
}

// threadCPU pins the benchmark to its thread and returns a function that reports the thread's CPU
// time per operation (cpu-ns/op): on a machine shared with other work, wall time also counts the
// time the benchmark waited for a core, CPU time does not.
func threadCPU(b *testing.B) func() {
	runtime.LockOSThread()
	start, ok := threadTime()
	return func() {
		if end, ok2 := threadTime(); ok && ok2 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
		runtime.UnlockOSThread()
	}
}

// threadTime is the calling thread's CPU time (RUSAGE_THREAD, Linux); false where there is none.
func threadTime() (time.Duration, bool) {
	const rusageThread = 1
	var ru syscall.Rusage
	if syscall.Getrusage(rusageThread, &ru) != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
