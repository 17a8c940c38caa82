// Package pixels is the pixel pipeline of WADO-RS: it decodes one stored frame to native pixel data
// (for transcoding and rendering), renders native frames to 8-bit images through the modality LUT,
// the VOI window and the presentation state of PS3.3 C.11, and encodes them as JPEG or PNG.
//
// It works on bytes and attributes only: the caller reads the frame's fragments and the Image Pixel
// module from the index, so no DICOM parser and no I/O happen here.
package pixels

import (
	"errors"
	"fmt"
)

// Photometric interpretations (0028,0004) this package knows.
const (
	Monochrome1  = "MONOCHROME1"
	Monochrome2  = "MONOCHROME2"
	RGB          = "RGB"
	YBRFull      = "YBR_FULL"
	YBRFull422   = "YBR_FULL_422"
	PaletteColor = "PALETTE COLOR"
)

var (
	// ErrUnsupported reports a transfer syntax, photometric interpretation, bit depth or media type
	// this package cannot handle; the wrapping error names which.
	ErrUnsupported = errors.New("pixels: unsupported")
	// ErrCorrupt reports pixel data that does not match its Format (too short, bad RLE header,
	// undecodable JPEG, attributes out of range).
	ErrCorrupt = errors.New("pixels: corrupt pixel data")
	// ErrBadOptions reports render options a client got wrong (a window width of 0, an unknown VOI
	// function, a negative viewport); an HTTP layer answers them with 400.
	ErrBadOptions = errors.New("pixels: bad render options")
)

// Format describes one frame's pixels: the Image Pixel module attributes (PS3.3 C.7.6.3) plus the
// modality LUT and VOI attributes the rendering needs.
type Format struct {
	Rows, Columns, SamplesPerPixel, BitsAllocated, BitsStored, HighBit int
	// PixelRepresentation is 0 for unsigned samples, 1 for two's complement.
	PixelRepresentation int
	// PlanarConfiguration is 0 for interleaved color samples, 1 for one plane per sample.
	PlanarConfiguration int
	// Photometric is the Photometric Interpretation, e.g. MONOCHROME2, RGB, YBR_FULL_422.
	Photometric string
	// RescaleSlope and RescaleIntercept are the modality LUT; a slope of 0 means 1.
	RescaleSlope, RescaleIntercept float64
	// WindowCenter and WindowWidth are the stored VOI windows; the first pair is used, and none (or
	// an invalid one) means the min/max of the frame's modality values.
	WindowCenter, WindowWidth []float64
	// VOILUTFunction is (0028,1056): LINEAR (also when empty or unknown), LINEAR_EXACT or SIGMOID.
	VOILUTFunction string
	// BigEndian says the native samples are in Explicit VR Big Endian order. 8-bit samples are taken
	// as OB (never swapped).
	BigEndian bool
}

// bytesPerSample is BitsAllocated in bytes (1, 2 or 4); 0 for depths this package does not handle.
func (f Format) bytesPerSample() int {
	switch f.BitsAllocated {
	case 8, 16, 32:
		return f.BitsAllocated / 8
	}
	return 0
}

// check validates the attributes that size and interpret a frame.
func (f Format) check() error {
	if f.Rows <= 0 || f.Columns <= 0 || f.Rows > 1<<16 || f.Columns > 1<<16 {
		return fmt.Errorf("%w: %d×%d pixels", ErrCorrupt, f.Columns, f.Rows)
	}
	if f.bytesPerSample() == 0 {
		return fmt.Errorf("%w: BitsAllocated %d", ErrUnsupported, f.BitsAllocated)
	}
	if f.BitsStored < 1 || f.BitsStored > f.BitsAllocated || f.HighBit < f.BitsStored-1 || f.HighBit >= f.BitsAllocated {
		return fmt.Errorf("%w: BitsStored %d, HighBit %d for BitsAllocated %d", ErrCorrupt, f.BitsStored, f.HighBit, f.BitsAllocated)
	}
	switch f.Photometric {
	case Monochrome1, Monochrome2:
		if f.SamplesPerPixel != 1 {
			return fmt.Errorf("%w: %s with %d samples per pixel", ErrCorrupt, f.Photometric, f.SamplesPerPixel)
		}
	case RGB, YBRFull, YBRFull422:
		if f.SamplesPerPixel != 3 {
			return fmt.Errorf("%w: %s with %d samples per pixel", ErrCorrupt, f.Photometric, f.SamplesPerPixel)
		}
		if f.Photometric == YBRFull422 && (f.Columns%2 != 0 || f.PlanarConfiguration != 0) {
			return fmt.Errorf("%w: YBR_FULL_422 needs an even number of columns and planar configuration 0", ErrCorrupt)
		}
	default:
		return fmt.Errorf("%w: photometric interpretation %q", ErrUnsupported, f.Photometric)
	}
	return nil
}

// nativeSize is the length in bytes of one native frame: YBR_FULL_422 keeps two samples per pixel
// (Y Y Cb Cr for each pair of pixels, PS3.3 C.7.6.3.1.2).
func (f Format) nativeSize() int {
	samples := f.SamplesPerPixel
	if f.Photometric == YBRFull422 {
		samples = 2
	}
	return f.Rows * f.Columns * samples * f.bytesPerSample()
}
