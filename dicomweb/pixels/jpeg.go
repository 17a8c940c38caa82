package pixels

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
)

// decodeJPEG decodes an 8-bit JPEG (baseline, or extended/progressive with 8-bit precision) with
// image/jpeg. Grayscale stays MONOCHROME1/2; color comes out as interleaved RGB: YCbCr is converted
// as image/jpeg's color model does (JFIF, full range), except when the data set says RGB, which in
// DICOM means the encoder applied no color transform (PS3.5 8.2.1), so the components are copied.
func decodeJPEG(f Format, data []byte) ([]byte, Format, error) {
	// The header first, so a frame claiming another size is refused before its pixels are allocated.
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, f, jpegError(err)
	}
	if cfg.Width != f.Columns || cfg.Height != f.Rows {
		return nil, f, fmt.Errorf("%w: JPEG of %d×%d pixels in a %d×%d image", ErrCorrupt, cfg.Width, cfg.Height, f.Columns, f.Rows)
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, f, jpegError(err)
	}
	out := f
	out.BitsAllocated, out.BitsStored, out.HighBit = 8, 8, 7
	out.PlanarConfiguration, out.BigEndian = 0, false
	switch m := img.(type) {
	case *image.Gray:
		if f.Photometric != Monochrome1 {
			out.Photometric = Monochrome2
		}
		out.SamplesPerPixel = 1
		return grayBytes(m), out, nil
	case *image.YCbCr:
		out.SamplesPerPixel, out.Photometric, out.PixelRepresentation = 3, RGB, 0
		return ycbcrBytes(m, f.Photometric == RGB), out, nil
	case *image.RGBA:
		out.SamplesPerPixel, out.Photometric, out.PixelRepresentation = 3, RGB, 0
		return rgbaBytes(m), out, nil
	}
	return nil, f, fmt.Errorf("%w: JPEG with %T pixels (CMYK?)", ErrUnsupported, img)
}

// jpegError sorts image/jpeg's errors: a feature it lacks (12-bit precision, arithmetic coding)
// is ErrUnsupported, anything else ErrCorrupt.
func jpegError(err error) error {
	if _, ok := errors.AsType[jpeg.UnsupportedError](err); ok {
		return fmt.Errorf("%w: JPEG: %v", ErrUnsupported, err)
	}
	return fmt.Errorf("%w: JPEG: %v", ErrCorrupt, err)
}

func grayBytes(m *image.Gray) []byte {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := make([]byte, 0, w*h)
	for y := range h {
		out = append(out, m.Pix[y*m.Stride:y*m.Stride+w]...)
	}
	return out
}

// ycbcrBytes interleaves the (possibly subsampled) planes, converting to RGB unless raw.
func ycbcrBytes(m *image.YCbCr, raw bool) []byte {
	b := m.Rect
	out := make([]byte, 0, b.Dx()*b.Dy()*3)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			yi, ci := m.YOffset(x, y), m.COffset(x, y)
			yy, cb, cr := m.Y[yi], m.Cb[ci], m.Cr[ci]
			if raw {
				out = append(out, yy, cb, cr)
				continue
			}
			r, g, bl := color.YCbCrToRGB(yy, cb, cr)
			out = append(out, r, g, bl)
		}
	}
	return out
}

func rgbaBytes(m *image.RGBA) []byte {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := make([]byte, 0, w*h*3)
	for y := range h {
		row := m.Pix[y*m.Stride : y*m.Stride+4*w]
		for x := 0; x < len(row); x += 4 {
			out = append(out, row[x], row[x+1], row[x+2])
		}
	}
	return out
}
