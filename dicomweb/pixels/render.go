package pixels

import (
	"fmt"
	"image"
)

// RenderOptions are the query parameters of /rendered and /thumbnail (PS3.18 §8.3.5.1).
type RenderOptions struct {
	// Window overrides the stored VOI window; nil uses Format.WindowCenter/Width, else the min/max
	// of the frame's modality values. Color images ignore it.
	Window *Window
	// ViewportWidth and ViewportHeight bound the output; the image keeps its aspect ratio and is
	// scaled (up or down) to fit inside. 0 for both keeps the native size; 0 for one bounds only
	// by the other.
	ViewportWidth, ViewportHeight int
	// Quality is the JPEG quality 1–100 for Encode; 0 means 90. Render only validates it.
	Quality int
}

// Window is a VOI window (PS3.3 C.11.2.1.2) in modality units.
type Window struct {
	Center, Width float64
	// Function is LINEAR (also when empty), LINEAR_EXACT or SIGMOID.
	Function string
}

// MaxViewport is the largest viewport width or height Render accepts: it bounds the memory a
// request can make it allocate (a 4096×4096 RGBA image is 64 MiB).
const MaxViewport = 4096

// VOI LUT functions (0028,1056).
const (
	Linear      = "LINEAR"
	LinearExact = "LINEAR_EXACT"
	Sigmoid     = "SIGMOID"
)

// Render makes an 8-bit *image.Gray (MONOCHROME1/2) or opaque *image.RGBA (RGB, YBR_FULL,
// YBR_FULL_422) from native little-endian pixel data, the output of Decode. Grayscale goes through
// the bits stored (masked, sign-extended), the modality LUT, the VOI window and, for MONOCHROME1,
// inversion; color samples deeper than 8 bits keep their top 8. The result is then scaled to the
// viewport.
func Render(native []byte, f Format, opts RenderOptions) (image.Image, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	if n := f.nativeSize(); len(native) < n {
		return nil, fmt.Errorf("%w: native frame of %d bytes, want %d", ErrCorrupt, len(native), n)
	}
	native = native[:f.nativeSize()]
	if f.BigEndian {
		native = swapped(native, f.bytesPerSample())
	}
	var img image.Image
	if f.SamplesPerPixel == 1 {
		img = renderGray(native, f, opts.Window)
	} else {
		img = renderColor(native, f)
	}
	w, h := fit(f.Columns, f.Rows, opts.ViewportWidth, opts.ViewportHeight)
	return resize(img, w, h), nil
}

func (o RenderOptions) check() error {
	if o.ViewportWidth < 0 || o.ViewportHeight < 0 || o.ViewportWidth > MaxViewport || o.ViewportHeight > MaxViewport {
		return fmt.Errorf("%w: viewport %d,%d", ErrBadOptions, o.ViewportWidth, o.ViewportHeight)
	}
	if o.Quality < 0 || o.Quality > 100 {
		return fmt.Errorf("%w: quality %d", ErrBadOptions, o.Quality)
	}
	if w := o.Window; w != nil {
		if !(w.Width > 0) || w.Center != w.Center || w.Width > 1e300 {
			return fmt.Errorf("%w: window width %g", ErrBadOptions, w.Width)
		}
		switch w.Function {
		case "", Linear, LinearExact, Sigmoid:
		default:
			return fmt.Errorf("%w: VOI LUT function %q", ErrBadOptions, w.Function)
		}
	}
	return nil
}

// fit returns the size of a w×h image scaled to fit inside vw×vh, keeping its aspect ratio.
func fit(w, h, vw, vh int) (int, int) {
	if vw == 0 && vh == 0 {
		return w, h
	}
	scale := float64(vw) / float64(w)
	if s := float64(vh) / float64(h); vw == 0 || (vh != 0 && s < scale) {
		scale = s
	}
	return max(1, int(float64(w)*scale+0.5)), max(1, int(float64(h)*scale+0.5))
}
