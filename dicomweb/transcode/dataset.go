package transcode

import (
	"errors"
	"fmt"

	"github.com/suyashkumar/dicom/pkg/tag"
)

// maxDepth bounds sequence nesting: real objects nest a handful of levels, hostile ones could nest
// deep enough to exhaust the stack.
const maxDepth = 32

// copyBuffer is the size of the chunks values are copied in; a multiple of every swap width.
const copyBuffer = 32 << 10

// transcoder re-encodes one dataset from src to dst.
type transcoder struct {
	src  *source
	dst  *target
	from string
	// ctx is what implicit VRs depend on; saved and restored around each item, so that an item's
	// own Image Pixel attributes (an icon image) apply only inside it.
	ctx   context
	attrs pixelAttrs
	// plan is set for an encapsulated source: how pixel data and its attributes change.
	plan    *pixelPlan
	pending []replacement // plan.replace not yet written, in tag order
	// scan makes the pixel data stop the run after decoding the first frame (see planPixels).
	scan  bool
	first *firstFrame
	buf   []byte
}

func (t *transcoder) run() error {
	if t.plan != nil {
		t.pending = append([]replacement(nil), t.plan.replace...)
	}
	if err := t.elements(t.src.end, false, 0); err != nil {
		return err
	}
	return t.flushInserts(tag.Tag{Group: 0xFFFF, Element: 0xFFFF})
}

// elements re-encodes the elements of a dataset or item up to end; with delimited set (an item of
// undefined length) up to and including the item delimiter.
func (t *transcoder) elements(end int64, delimited bool, depth int) error {
	for {
		if !delimited && t.src.atEnd(end) {
			return nil
		}
		h, err := t.src.header(end)
		if err != nil {
			return err
		}
		if h.tag.Group == 0xFFFE {
			switch {
			case h.tag == tagItemDelim && delimited:
				return nil
			case h.tag != tagItem && h.length == 0:
				continue // a stray empty delimiter: harmless, dropped
			}
			return fmt.Errorf("%w: %s at byte %d where an element was expected", ErrMalformed, h.tag, t.src.pos-8)
		}
		if depth == 0 {
			if err := t.flushInserts(h.tag); err != nil {
				return err
			}
		}
		if err := t.element(h, end, depth); err != nil {
			return err
		}
	}
}

// element re-encodes one element whose header has been read.
func (t *transcoder) element(h header, end int64, depth int) error {
	vr := h.vr
	if t.src.implicit {
		vr = implicitVR(h.tag, t.ctx)
	}
	if h.length == undefinedLength {
		return t.undefinedLength(h, vr, end, depth)
	}
	if err := t.src.fits(int64(h.length), end, "value of "+h.tag.String()); err != nil {
		return err
	}
	if vr == "SQ" {
		seqEnd := t.src.pos + int64(h.length)
		return t.sequence(h.tag, seqEnd, false, depth, false)
	}
	if h.tag.Element == 0x0000 {
		return t.src.skip(int64(h.length)) // group lengths would have to be recomputed; dropped
	}
	if depth == 0 {
		if r := t.replacement(h.tag); r != nil {
			if err := t.src.skip(int64(h.length)); err != nil {
				return err
			}
			return t.dst.element(r.tag, r.vr, r.value)
		}
	}
	dstVR := vr
	if h.tag == tag.PixelData {
		dstVR = "OW"
		if t.ctx.bitsAllocated > 0 && t.ctx.bitsAllocated <= 8 {
			dstVR = "OB"
		}
	}
	if !t.dst.implicit && !longLength(dstVR) && h.length > 0xFFFF {
		dstVR = "UN" // too long for a 2-byte length (PS3.5 §6.2.2)
	}
	if h.length <= maxCaptured && captured(h.tag) {
		return t.capturedValue(h, vr, dstVR, depth)
	}
	if err := t.dst.header(h.tag, dstVR, h.length); err != nil {
		return err
	}
	return t.copyValue(int64(h.length), swapWidth(vr), swapWidth(dstVR))
}

// undefinedLength re-encodes an element of undefined length: a sequence, or the encapsulated
// pixel data of a compressed source.
func (t *transcoder) undefinedLength(h header, vr string, end int64, depth int) error {
	switch {
	case h.tag == tag.PixelData && depth == 0 && (t.plan != nil || t.scan):
		return t.pixels(end)
	case vr == "SQ" || t.src.implicit && h.tag != tag.PixelData:
		return t.sequence(h.tag, end, true, depth, false)
	case vr == "UN" && h.tag != tag.PixelData:
		// An undefined-length UN is a sequence whose content is implicit VR little endian
		// (PS3.5 §6.2.2).
		return t.sequence(h.tag, end, true, depth, true)
	}
	return fmt.Errorf("%w: element %s (VR %s) of undefined length in %s", ErrUnsupported, h.tag, vr, describe(t.from))
}

// sequence re-encodes the items of a sequence, written with undefined lengths. A defined-length
// sequence ends at end; an undefined-length (delimited) one at its delimiter, before end.
func (t *transcoder) sequence(tg tag.Tag, end int64, delimited bool, depth int, implicitLE bool) error {
	if depth+1 > maxDepth {
		return fmt.Errorf("%w: sequences nested deeper than %d", ErrUnsupported, maxDepth)
	}
	if err := t.dst.header(tg, "SQ", undefinedLength); err != nil {
		return err
	}
	if implicitLE && !t.src.implicit {
		bigEndian := t.src.bigEndian
		t.src.implicit = true
		t.src.setOrder(false)
		defer func() { t.src.implicit = false; t.src.setOrder(bigEndian) }()
	}
	for {
		if !delimited && t.src.pos >= end {
			break
		}
		h, err := t.src.header(end)
		if err != nil {
			return err
		}
		if h.tag == tagSequenceDelim && delimited {
			break
		}
		if h.tag != tagItem {
			return fmt.Errorf("%w: %s at byte %d where a sequence item was expected", ErrMalformed, h.tag, t.src.pos-8)
		}
		if err := t.item(h, end, depth); err != nil {
			return err
		}
	}
	return t.dst.header(tagSequenceDelim, "", 0)
}

// item re-encodes one item whose header has been read.
func (t *transcoder) item(h header, end int64, depth int) error {
	if err := t.dst.header(tagItem, "", undefinedLength); err != nil {
		return err
	}
	saved := t.ctx
	defer func() { t.ctx = saved }()
	if h.length == undefinedLength {
		if err := t.elements(end, true, depth+1); err != nil {
			return err
		}
	} else {
		if err := t.src.fits(int64(h.length), end, "sequence item"); err != nil {
			return err
		}
		if err := t.elements(t.src.pos+int64(h.length), false, depth+1); err != nil {
			return err
		}
	}
	return t.dst.header(tagItemDelim, "", 0)
}

// copyValue copies n value bytes, swapping units of srcWidth from a big endian source and units
// of dstWidth for a big endian target.
func (t *transcoder) copyValue(n int64, srcWidth, dstWidth int) error {
	if t.buf == nil {
		t.buf = make([]byte, copyBuffer)
	}
	for n > 0 {
		b := t.buf[:min(n, int64(len(t.buf)))]
		if err := t.src.read(b); err != nil {
			return err
		}
		if t.src.bigEndian {
			swap(b, srcWidth)
		}
		if t.dst.bigEndian {
			swap(b, dstWidth)
		}
		if err := t.dst.write(b); err != nil {
			return err
		}
		n -= int64(len(b))
	}
	return nil
}

// flushInserts writes the pending replacements that are inserted when absent and sort before tg.
func (t *transcoder) flushInserts(tg tag.Tag) error {
	for len(t.pending) > 0 && less(t.pending[0].tag, tg) {
		r := t.pending[0]
		t.pending = t.pending[1:]
		if r.insert {
			if err := t.dst.element(r.tag, r.vr, r.value); err != nil {
				return err
			}
		}
	}
	return nil
}

// replacement returns the pending replacement for tg, if any, and removes it.
func (t *transcoder) replacement(tg tag.Tag) *replacement {
	if len(t.pending) > 0 && t.pending[0].tag == tg {
		r := t.pending[0]
		t.pending = t.pending[1:]
		return &r
	}
	return nil
}

func less(a, b tag.Tag) bool {
	return a.Group < b.Group || a.Group == b.Group && a.Element < b.Element
}

// errScanDone stops the scan run once the first frame is decoded.
var errScanDone = errors.New("transcode: scan done")
