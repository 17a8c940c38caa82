// Package transcode re-encodes a stored DICOM Part 10 object in another transfer syntax, as
// WADO-RS needs when a client asks for one (PS3.18 §8.7.3.5): the four native syntaxes between
// themselves, and RLE Lossless or JPEG Baseline to a native one (frames decoded by package pixels).
//
// It streams: element values are copied through a small buffer, byte-swapped as their VR requires,
// and only one frame is held in memory when pixel data must be decoded. Sequences and items are
// always written with undefined length, which every syntax allows, so that nothing has to be
// measured before it is written; group lengths outside the meta group are dropped for the same
// reason.
package transcode

import (
	"errors"
	"fmt"
	"io"

	"github.com/medimg/medimg/dicomweb/ts"
)

// Transfer syntaxes Transcode reads or writes (the values live in package ts).
const (
	ImplicitVRLittleEndian = ts.ImplicitVRLittleEndian
	ExplicitVRLittleEndian = ts.ExplicitVRLittleEndian
	ExplicitVRBigEndian    = ts.ExplicitVRBigEndian
	DeflatedExplicitVRLE   = ts.DeflatedExplicitVRLittleEndian
	RLELossless            = ts.RLELossless
	JPEGBaseline8Bit       = ts.JPEGBaseline8Bit
	JPEGLossless           = ts.JPEGLossless
	JPEGLosslessSV1        = ts.JPEGLosslessSV1
)

var (
	// ErrUnsupported reports a pair of transfer syntaxes, or an encoding inside the object, that
	// Transcode cannot handle; the message names which.
	ErrUnsupported = errors.New("transcode: unsupported")
	// ErrTruncated reports an object that ends before an element's declared length.
	ErrTruncated = errors.New("transcode: truncated DICOM object")
	// ErrMalformed reports an object whose structure cannot be read: no Part 10 header, lengths
	// that overrun their container, items where elements belong, undecodable pixel data.
	ErrMalformed = errors.New("transcode: malformed DICOM object")
)

// syntax is how a transfer syntax encodes the dataset.
type syntax struct {
	name         string
	bigEndian    bool
	implicit     bool
	deflated     bool
	encapsulated bool // pixel data is compressed; only readable, through pixels.Decode
	jpeg         bool // frames start with a JPEG SOI marker, which groups fragments into frames
	lossy        bool
}

var syntaxes = map[string]syntax{
	ImplicitVRLittleEndian: {name: "Implicit VR Little Endian", implicit: true},
	ExplicitVRLittleEndian: {name: "Explicit VR Little Endian"},
	ExplicitVRBigEndian:    {name: "Explicit VR Big Endian", bigEndian: true},
	DeflatedExplicitVRLE:   {name: "Deflated Explicit VR Little Endian", deflated: true},
	RLELossless:            {name: "RLE Lossless", encapsulated: true},
	JPEGBaseline8Bit:       {name: "JPEG Baseline (Process 1)", encapsulated: true, jpeg: true, lossy: true},
	JPEGLossless:           {name: "JPEG Lossless (Process 14)", encapsulated: true, jpeg: true},
	JPEGLosslessSV1:        {name: "JPEG Lossless SV1", encapsulated: true, jpeg: true},
}

// Supported reports whether Transcode can re-encode a file stored in from as to.
func Supported(from, to string) bool {
	_, okFrom := syntaxes[from]
	t, okTo := syntaxes[to]
	return okFrom && okTo && !t.encapsulated
}

// Transcode writes the DICOM Part 10 object in r (size bytes, dataset in transfer syntax from) to
// w re-encoded in transfer syntax to: a zero preamble, the meta group rewritten (TransferSyntaxUID
// changed, group length recomputed, other meta elements kept), every data element re-encoded.
// The meta group's TransferSyntaxUID must be from. On error, what was written to w is unusable.
func Transcode(w io.Writer, r io.ReaderAt, size int64, from, to string) error {
	if !Supported(from, to) {
		return fmt.Errorf("%w: transcoding from %s to %s", ErrUnsupported, describe(from), describe(to))
	}
	m, err := readMeta(r, size)
	if err != nil {
		return err
	}
	if m.transferSyntax != from {
		return fmt.Errorf("%w: the meta group says transfer syntax %q, not %s", ErrMalformed, m.transferSyntax, from)
	}
	src, dst := syntaxes[from], syntaxes[to]
	var plan *pixelPlan
	if src.encapsulated {
		if plan, err = planPixels(r, size, m.datasetStart, from, src); err != nil {
			return err
		}
	}
	if err := writeMeta(w, m, to); err != nil {
		return err
	}
	out := newTarget(w, dst)
	t := &transcoder{src: newSource(r, size, m.datasetStart, src), dst: out, from: from, plan: plan}
	if err := t.run(); err != nil {
		return err
	}
	return out.close()
}

// describe names a transfer syntax UID for error messages.
func describe(ts string) string {
	if s, ok := syntaxes[ts]; ok {
		return fmt.Sprintf("%s (%s)", ts, s.name)
	}
	return fmt.Sprintf("%q", ts)
}
