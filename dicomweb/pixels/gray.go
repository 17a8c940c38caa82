package pixels

import (
	"encoding/binary"
	"image"
	"math"
)

// renderGray maps each stored value through the modality LUT, the VOI window and the presentation
// (inversion for MONOCHROME1).
func renderGray(native []byte, f Format, win *Window) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, f.Columns, f.Rows))
	slope, intercept := f.RescaleSlope, f.RescaleIntercept
	if slope == 0 {
		slope = 1
	}
	if f.BitsAllocated == 32 {
		vals, lo, hi := stored32(native, f, len(img.Pix))
		m := newGrayMap(f, win, slope, intercept, float64(lo), float64(hi))
		mapValues(vals, lo, hi, m, img.Pix)
		return img
	}
	renderGray16(native, f, win, slope, intercept, img.Pix)
	return img
}

// renderGray16 renders 8- and 16-bit samples without an intermediate copy, through a table by raw
// sample (garbage bits included) that makes the per-pixel work one lookup. A stored value read as
// an index that orders like the values (the sign bit flipped for signed data) is where the table
// comes from. With a window (asked for or stored) the table covers every index, and the pixels are
// read once; without one the window is the range present, found first, and the table covers that.
func renderGray16(native []byte, f Format, win *Window, slope, intercept float64, pix []uint8) {
	var byRaw [1 << 16]uint8
	if m, ok := knownWindow(f, win, slope, intercept); ok {
		tableByRaw(f, m, &byRaw)
	} else {
		tableByRange(native, f, win, slope, intercept, len(pix), &byRaw)
	}
	if f.BitsAllocated == 8 {
		for p, b := range native[:len(pix)] {
			pix[p] = byRaw[b]
		}
		return
	}
	lookup16(native[:2*len(pix)], &byRaw, pix)
}

// rawIndex returns how renderGray16 turns a raw sample into an index: the stored bits, with the
// sign bit flipped for signed data (flip), so that indexes order like stored values.
func rawIndex(f Format) (shift uint, mask, flip uint32) {
	shift = uint(f.HighBit+1-f.BitsStored) & 31
	mask = uint32(1)<<f.BitsStored - 1
	if f.PixelRepresentation == 1 {
		flip = 1 << (f.BitsStored - 1)
	}
	return shift, mask, flip
}

// knownWindow returns the grayscale map when its window does not depend on the pixels. Rescale
// values that are not finite take the other path, whose table is computed value by value.
func knownWindow(f Format, win *Window, slope, intercept float64) (grayMap, bool) {
	if win == nil && (len(f.WindowCenter) == 0 || len(f.WindowWidth) == 0 || !(f.WindowWidth[0] > 0)) {
		return grayMap{}, false
	}
	if math.IsNaN(slope) || math.IsInf(slope, 0) || math.IsNaN(intercept) || math.IsInf(intercept, 0) {
		return grayMap{}, false
	}
	return newGrayMap(f, win, slope, intercept, 0, 0), true
}

// tableByRaw fills byRaw for every raw sample of BitsAllocated bits. The table by index is made
// in place at the start of byRaw, rotated by flip into raw order, and repeated for the garbage
// bits above the stored ones; stored bits that do not start at bit 0 take a loop by raw value.
func tableByRaw(f Format, m grayMap, byRaw *[1 << 16]uint8) {
	shift, mask, flip := rawIndex(f)
	size := int(mask) + 1
	byIndex := byRaw[:size]
	if shift != 0 || f.BitsAllocated == 8 {
		byIndex = make([]uint8, size)
	}
	m.fill(byIndex, -float64(flip))
	if shift != 0 || f.BitsAllocated == 8 {
		for raw := range 1 << f.BitsAllocated {
			byRaw[raw] = byIndex[uint32(raw)>>shift&mask^flip]
		}
		return
	}
	if flip != 0 {
		// Raw values below flip are the nonnegative stored values: the upper half of the indexes.
		half := size / 2
		lower, upper := byRaw[:half], byRaw[half:size]
		for i := range lower {
			lower[i], upper[i] = upper[i], lower[i]
		}
	}
	for n := size; n < len(byRaw); n *= 2 {
		copy(byRaw[n:], byRaw[:n])
	}
}

// tableByRange finds the range of stored values present in the n samples of native, chooses the
// window from it when there is none, and fills byRaw for the raw samples of that range.
func tableByRange(native []byte, f Format, win *Window, slope, intercept float64, n int, byRaw *[1 << 16]uint8) {
	shift, mask, flip := rawIndex(f)
	index := func(raw uint32) uint32 { return raw>>shift&mask ^ flip }
	var lo, hi, garbage uint32
	if f.BitsAllocated == 8 {
		lo, hi = mask, 0
		for _, b := range native[:n] {
			i := index(uint32(b))
			lo, hi = min(lo, i), max(hi, i)
			garbage |= uint32(b)
		}
		garbage &^= mask << shift
	} else {
		lo, hi, garbage = indexRange16(native[:2*n], shift, mask, flip)
	}
	// The stored value of index i is i-flip.
	base := float64(lo) - float64(flip)
	m := newGrayMap(f, win, slope, intercept, base, float64(hi)-float64(flip))
	if garbage == 0 {
		// Every sample is its stored value in place: only the raw values of the range occur.
		for i := lo; i <= hi; i++ {
			byRaw[(i^flip)<<shift] = m.apply(base + float64(i-lo))
		}
		return
	}
	byIndex := make([]uint8, hi-lo+1)
	for i := range byIndex {
		byIndex[i] = m.apply(base + float64(i))
	}
	for raw := range uint32(1) << f.BitsAllocated {
		if i := index(raw); i >= lo && i <= hi {
			byRaw[raw] = byIndex[i-lo]
		}
	}
}

// indexRange16 returns the smallest and largest index (as renderGray16 makes them) of the 16-bit
// samples in src, and the bits set in some sample outside the stored bits. It reads four samples
// per load, with two accumulators each so that the minimums do not wait on each other: it is half
// of the per-pixel work.
func indexRange16(src []byte, shift uint, mask, flip uint32) (lo, hi, garbage uint32) {
	lo0, lo1, hi0, hi1 := mask, mask, uint32(0), uint32(0)
	var or uint64
	for len(src) >= 8 {
		v := binary.LittleEndian.Uint64(src)
		src = src[8:]
		or |= v
		a, b := uint32(v)&0xFFFF>>shift&mask^flip, uint32(v>>16)&0xFFFF>>shift&mask^flip
		c, d := uint32(v>>32)&0xFFFF>>shift&mask^flip, uint32(v>>48)>>shift&mask^flip
		lo0, hi0 = min(lo0, a, c), max(hi0, a, c)
		lo1, hi1 = min(lo1, b, d), max(hi1, b, d)
	}
	for len(src) >= 2 {
		raw := uint32(binary.LittleEndian.Uint16(src))
		src = src[2:]
		or |= uint64(raw)
		i := raw>>shift&mask ^ flip
		lo0, hi0 = min(lo0, i), max(hi0, i)
	}
	all := uint32(or | or>>16 | or>>32 | or>>48)
	return min(lo0, lo1), max(hi0, hi1), all & 0xFFFF &^ (mask << shift)
}

// lookup16 maps each 16-bit sample of src through byRaw into pix, four samples per load.
func lookup16(src []byte, byRaw *[1 << 16]uint8, pix []uint8) {
	for len(src) >= 8 && len(pix) >= 4 {
		v := binary.LittleEndian.Uint64(src)
		pix[0], pix[1], pix[2], pix[3] = byRaw[uint16(v)], byRaw[uint16(v>>16)], byRaw[uint16(v>>32)], byRaw[uint16(v>>48)]
		src, pix = src[8:], pix[4:]
	}
	for p := range pix {
		pix[p] = byRaw[binary.LittleEndian.Uint16(src[2*p:])]
	}
}

// stored32 extracts the BitsStored-bit values of 32-bit samples (sign-extended when signed; 64 bits
// hold the unsigned ones) with their min and max.
func stored32(native []byte, f Format, n int) (vals []int64, lo, hi int64) {
	vals = make([]int64, n)
	shift := uint(f.HighBit + 1 - f.BitsStored)
	up := uint(64 - f.BitsStored)
	signed := f.PixelRepresentation == 1
	for i := range vals {
		u := uint64(binary.LittleEndian.Uint32(native[4*i:])>>shift) << up
		if signed {
			vals[i] = int64(u) >> up
		} else {
			vals[i] = int64(u >> up)
		}
	}
	lo, hi = vals[0], vals[0]
	for _, v := range vals {
		lo, hi = min(lo, v), max(hi, v)
	}
	return vals, lo, hi
}

// mapValues writes m(v) for each value into pix, through a LUT over [lo, hi] when that is smaller
// than the frame.
func mapValues(vals []int64, lo, hi int64, m grayMap, pix []uint8) {
	if hi-lo >= int64(len(vals)) {
		for i, v := range vals {
			pix[i] = m.apply(float64(v))
		}
		return
	}
	lut := make([]uint8, int(hi-lo)+1)
	for i := range lut {
		lut[i] = m.apply(float64(lo) + float64(i))
	}
	pix = pix[:len(vals)]
	for i, v := range vals {
		pix[i] = lut[v-lo]
	}
}

// grayMap is the whole grayscale pipeline from a stored value to an 8-bit output.
type grayMap struct {
	slope, intercept float64
	win              Window
	invert           bool
}

// newGrayMap chooses the window: the requested one, else the first stored one, else min/max of
// the modality values of the stored range [lo, hi].
func newGrayMap(f Format, win *Window, slope, intercept, lo, hi float64) grayMap {
	m := grayMap{slope: slope, intercept: intercept, invert: f.Photometric == Monochrome1}
	switch {
	case win != nil:
		m.win = *win
	case len(f.WindowCenter) > 0 && len(f.WindowWidth) > 0 && f.WindowWidth[0] > 0:
		m.win = Window{Center: f.WindowCenter[0], Width: f.WindowWidth[0], Function: f.VOILUTFunction}
	default:
		a, b := lo*slope+intercept, hi*slope+intercept
		a, b = min(a, b), max(a, b)
		m.win = Window{Center: (a + b) / 2, Width: b - a, Function: LinearExact}
	}
	return m
}

// fill sets lut[i] to m.apply(base+i) for every i, calling apply at a few hundred points at most.
// The map is monotone in the stored value (a linear rescale, a window that never decreases,
// perhaps inverted, rounded), so a span whose ends map to the same output maps to it throughout.
func (m grayMap) fill(lut []uint8, base float64) {
	if len(lut) == 0 {
		return
	}
	last := len(lut) - 1
	m.fillSpan(lut, base, m.apply(base), m.apply(base+float64(last)))
}

// fillSpan fills lut, whose first entry maps to a and last to b.
func (m grayMap) fillSpan(lut []uint8, base float64, a, b uint8) {
	for {
		if a == b {
			for i := range lut {
				lut[i] = a
			}
			return
		}
		last := len(lut) - 1
		if last <= 1 {
			lut[0], lut[last] = a, b
			return
		}
		mid := last / 2
		v := m.apply(base + float64(mid))
		m.fillSpan(lut[:mid+1], base, a, v)
		lut, base, a = lut[mid:], base+float64(mid), v
	}
}

func (m grayMap) apply(stored float64) uint8 {
	y := voi(stored*m.slope+m.intercept, m.win)
	if m.invert {
		y = 255 - y
	}
	return uint8(math.Round(y))
}

// voi applies a window (PS3.3 C.11.2.1.2 and C.11.2.1.3) with an output range of 0–255.
func voi(x float64, w Window) float64 {
	const ymax = 255
	c, width := w.Center, w.Width
	switch w.Function {
	case LinearExact:
		switch {
		case x <= c-width/2:
			return 0
		case x > c+width/2:
			return ymax
		}
		return ((x-c)/width + 0.5) * ymax
	case Sigmoid:
		return ymax / (1 + math.Exp(-4*(x-c)/width))
	}
	switch {
	case x <= c-0.5-(width-1)/2:
		return 0
	case x > c-0.5+(width-1)/2:
		return ymax
	}
	// Here width > 1: a narrower window is a threshold at c-0.5, handled above.
	return ((x-(c-0.5))/(width-1) + 0.5) * ymax
}
