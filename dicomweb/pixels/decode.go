package pixels

import (
	"fmt"

	"github.com/medimg/medimg/dicomweb/ts"
)

// Transfer syntaxes Decode reads (the values live in package ts).
const (
	ImplicitVRLittleEndian     = ts.ImplicitVRLittleEndian
	ExplicitVRLittleEndian     = ts.ExplicitVRLittleEndian
	EncapsulatedUncompressedLE = ts.EncapsulatedUncompressedLE
	ExplicitVRBigEndian        = ts.ExplicitVRBigEndian
	RLELossless                = ts.RLELossless
	JPEGBaseline8Bit           = ts.JPEGBaseline8Bit
	JPEGExtended12Bit          = ts.JPEGExtended12Bit
	JPEGLossless               = ts.JPEGLossless
	JPEGLosslessSV1            = ts.JPEGLosslessSV1
)

// unsupportedSyntaxes names the common syntaxes Decode refuses, for the error message.
var unsupportedSyntaxes = map[string]string{
	ts.DeflatedExplicitVRLittleEndian: "Deflated Explicit VR Little Endian",
	ts.JPEGLSLossless:                 "JPEG-LS Lossless",
	ts.JPEGLSNearLossless:             "JPEG-LS Near-Lossless",
	ts.JPEG2000Lossless:               "JPEG 2000 Lossless",
	ts.JPEG2000:                       "JPEG 2000",
	ts.HTJ2KLossless:                  "HTJ2K Lossless",
	ts.HTJ2KLosslessRPCL:              "HTJ2K Lossless RPCL",
	ts.HTJ2K:                          "HTJ2K",
}

// Decode turns one frame as stored into native little-endian pixel data: BitsAllocated bits per
// sample, color interleaved (PlanarConfiguration 0) — the bytes of an Explicit VR Little Endian
// frame. fragments are the frame's fragment values in order (one element for native data; several
// are concatenated). The returned Format describes the result: BigEndian false, and for lossy JPEG
// the photometric interpretation of what image/jpeg produced (RGB for color, 8 bits). JPEG
// lossless keeps the Format's depth and photometric interpretation, as RLE does.
//
// Native data keeps its bits as stored (no masking of the bits above HighBit) and YBR_FULL_422
// stays subsampled; Render interprets both. The result may share memory with fragments for little
// endian native data.
func Decode(transferSyntax string, f Format, fragments [][]byte) ([]byte, Format, error) {
	if name, ok := unsupportedSyntaxes[transferSyntax]; ok {
		return nil, f, fmt.Errorf("%w: transfer syntax %s (%s)", ErrUnsupported, transferSyntax, name)
	}
	switch transferSyntax {
	case ImplicitVRLittleEndian, ExplicitVRLittleEndian, EncapsulatedUncompressedLE, ExplicitVRBigEndian:
		f.BigEndian = f.BigEndian || transferSyntax == ExplicitVRBigEndian
		return decodeNative(f, join(fragments))
	case RLELossless:
		return decodeRLE(f, join(fragments))
	case JPEGBaseline8Bit, JPEGExtended12Bit:
		return decodeJPEG(f, join(fragments))
	case JPEGLossless, JPEGLosslessSV1:
		return decodeJPEGLossless(f, join(fragments))
	}
	return nil, f, fmt.Errorf("%w: transfer syntax %s", ErrUnsupported, transferSyntax)
}

// join returns the fragments as one slice, without copying when there is only one.
func join(fragments [][]byte) []byte {
	if len(fragments) == 1 {
		return fragments[0]
	}
	var n int
	for _, b := range fragments {
		n += len(b)
	}
	out := make([]byte, 0, n)
	for _, b := range fragments {
		out = append(out, b...)
	}
	return out
}

// decodeNative checks the length and swaps big endian samples into a new slice.
func decodeNative(f Format, data []byte) ([]byte, Format, error) {
	if err := f.check(); err != nil {
		return nil, f, err
	}
	n := f.nativeSize()
	if len(data) < n {
		return nil, f, fmt.Errorf("%w: native frame of %d bytes, want %d", ErrCorrupt, len(data), n)
	}
	data = data[:n]
	if !f.BigEndian {
		return data, f, nil
	}
	out := swapped(data, f.bytesPerSample())
	f.BigEndian = false
	return out, f, nil
}

// swapped returns a copy of data with the bytes of each size-byte sample reversed.
func swapped(data []byte, size int) []byte {
	out := make([]byte, len(data))
	switch size {
	case 2:
		for i := 0; i+1 < len(data); i += 2 {
			out[i], out[i+1] = data[i+1], data[i]
		}
	case 4:
		for i := 0; i+3 < len(data); i += 4 {
			out[i], out[i+1], out[i+2], out[i+3] = data[i+3], data[i+2], data[i+1], data[i]
		}
	default:
		copy(out, data)
	}
	return out
}
