package pixels

import (
	"image"
	"math"
)

// resize scales an *image.Gray or *image.RGBA to w×h: an area average when shrinking (every
// source pixel counts, so thin lines survive thumbnails), bilinear when enlarging.
func resize(img image.Image, w, h int) image.Image {
	b := img.Bounds()
	if b.Dx() == w && b.Dy() == h {
		return img
	}
	switch m := img.(type) {
	case *image.Gray:
		out := image.NewGray(image.Rect(0, 0, w, h))
		scale(m.Pix, b.Dx(), b.Dy(), 1, out.Pix, w, h)
		return out
	case *image.RGBA:
		out := image.NewRGBA(image.Rect(0, 0, w, h))
		scale(m.Pix, b.Dx(), b.Dy(), 4, out.Pix, w, h)
		return out
	}
	panic("pixels: resize of an unexpected image type")
}

// taps are the source indexes and weights that make one output sample.
type taps struct {
	first int
	w     []float32
}

// weights computes the taps of each of dn outputs from sn inputs.
func weights(sn, dn int) []taps {
	out := make([]taps, dn)
	ratio := float64(sn) / float64(dn)
	for o := range out {
		if ratio <= 1 {
			x := (float64(o)+0.5)*ratio - 0.5
			i := int(math.Floor(x))
			t := float32(x - float64(i))
			i0, i1 := max(i, 0), min(i+1, sn-1)
			if i0 == i1 || i < 0 {
				out[o] = taps{first: min(i1, i0), w: []float32{1}}
				continue
			}
			out[o] = taps{first: i0, w: []float32{1 - t, t}}
			continue
		}
		start, end := float64(o)*ratio, float64(o+1)*ratio
		first, last := int(start), min(int(math.Ceil(end)), sn)
		t := taps{first: first, w: make([]float32, last-first)}
		for i := first; i < last; i++ {
			cover := min(end, float64(i+1)) - max(start, float64(i))
			t.w[i-first] = float32(cover / ratio)
		}
		out[o] = t
	}
	return out
}

// scale resizes an sw×sh image of c interleaved channels into dst (dw×dh), separably: rows first
// into a float buffer, then columns.
func scale(src []uint8, sw, sh, c int, dst []uint8, dw, dh int) {
	xs, ys := weights(sw, dw), weights(sh, dh)
	tmp := make([]float32, sh*dw*c)
	for y := range sh {
		row, trow := src[y*sw*c:(y+1)*sw*c], tmp[y*dw*c:(y+1)*dw*c]
		for x, t := range xs {
			for k := range c {
				var sum float32
				for j, wt := range t.w {
					sum += wt * float32(row[(t.first+j)*c+k])
				}
				trow[x*c+k] = sum
			}
		}
	}
	for y, t := range ys {
		drow := dst[y*dw*c : (y+1)*dw*c]
		for i := range drow {
			var sum float32
			for j, wt := range t.w {
				sum += wt * tmp[(t.first+j)*dw*c+i]
			}
			drow[i] = uint8(min(max(sum+0.5, 0), 255))
		}
	}
}
