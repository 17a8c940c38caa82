package pixels

import (
	"encoding/binary"
	"image"
	"image/color"
)

// renderColor arranges the samples as opaque RGBA, expanding YBR_FULL_422 chroma and converting
// YBR_FULL with the JFIF equations, which are those of PS3.3 C.7.6.3.1.2.
func renderColor(native []byte, f Format) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, f.Columns, f.Rows))
	s := samples8(native, f)
	n := f.Rows * f.Columns
	pix := img.Pix
	switch {
	case f.Photometric == YBRFull422:
		// Y1 Y2 Cb Cr for each pair of pixels.
		for p := 0; p+1 < n; p += 2 {
			q := s[2*p : 2*p+4]
			pix[4*p], pix[4*p+4] = q[0], q[1]
			pix[4*p+1], pix[4*p+5] = q[2], q[2]
			pix[4*p+2], pix[4*p+6] = q[3], q[3]
		}
	case f.PlanarConfiguration == 1:
		for p := range n {
			pix[4*p], pix[4*p+1], pix[4*p+2] = s[p], s[n+p], s[2*n+p]
		}
	default:
		for p := range n {
			pix[4*p], pix[4*p+1], pix[4*p+2] = s[3*p], s[3*p+1], s[3*p+2]
		}
	}
	ybr := f.Photometric != RGB
	for p := 0; p < len(pix); p += 4 {
		if ybr {
			pix[p], pix[p+1], pix[p+2] = color.YCbCrToRGB(pix[p], pix[p+1], pix[p+2])
		}
		pix[p+3] = 0xff
	}
	return img
}

// samples8 returns every sample reduced to its top 8 stored bits (or scaled up to 8 bits), in the
// stored order.
func samples8(native []byte, f Format) []byte {
	if f.BitsAllocated == 8 && f.BitsStored == 8 {
		return native
	}
	bps := f.bytesPerSample()
	out := make([]byte, len(native)/bps)
	shift := uint(f.HighBit + 1 - f.BitsStored)
	mask := uint32(1)<<f.BitsStored - 1
	for i := range out {
		var u uint32
		switch bps {
		case 1:
			u = uint32(native[i])
		case 2:
			u = uint32(binary.LittleEndian.Uint16(native[2*i:]))
		default:
			u = binary.LittleEndian.Uint32(native[4*i:])
		}
		u = u >> shift & mask
		if f.BitsStored >= 8 {
			out[i] = uint8(u >> (f.BitsStored - 8))
		} else {
			out[i] = uint8(u * 255 / mask)
		}
	}
	return out
}
