package ingest

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/suyashkumar/dicom/pkg/tag"
)

// The parser does not tell where values lie in the file, so a small walker of our own goes over the
// stored bytes once, element by element, reading only headers. It also guards the parser: every
// declared length is checked against the bytes that really exist before the parser, which
// allocates whatever a length field says, ever sees the input.

const (
	undefinedLength = 0xFFFFFFFF
	// maxDepth bounds sequence nesting; real objects nest a handful of levels, hostile ones could
	// nest deep enough to exhaust the stack of a recursive parser.
	maxDepth = 32
	// maxNumericValue bounds binary numeric values (US, SS, FL…), which the parser expands to
	// 8 bytes per element, several times their encoded size.
	maxNumericValue = 16 << 20
)

var (
	tagItem          = tag.Tag{Group: 0xFFFE, Element: 0xE000}
	tagItemDelim     = tag.Tag{Group: 0xFFFE, Element: 0xE00D}
	tagSequenceDelim = tag.Tag{Group: 0xFFFE, Element: 0xE0DD}
)

// walkResult is what the walk learns about the stored bytes.
type walkResult struct {
	// values holds the value range of every binary element (OB, OD, OF, OL, OV, OW, UN, PixelData)
	// by tag path, the same path dcmjson gives to BulkDataURI.
	values map[string]Range
	// pixel describes the top-level PixelData element, nil when absent.
	pixel *pixelData
	// inflatedFrom is, for a deflated file, where its deflate stream starts; pixel then counts
	// from the start of the inflated dataset. 0 otherwise.
	inflatedFrom int64
	// edits turn the walked bytes into the parser's view (view.go): each cut value presented
	// with length 0, each defined-length sequence and item around one shortened to match. Sorted
	// by offset once the walk is done.
	edits []edit
	// cut lists the tag paths of the values the view leaves out; cutBytes is their total size.
	cut      []string
	cutBytes int64
}

// pixelData is the layout of the top-level PixelData value.
type pixelData struct {
	value        Range // native: the value; encapsulated: the items up to the sequence delimiter
	encapsulated bool
	offsetTable  Range      // encapsulated: the Basic Offset Table's value
	fragments    []fragment // encapsulated: the items after the offset table
}

// fragment is one item of encapsulated pixel data.
type fragment struct {
	itemStart int64 // offset of the item tag, what Basic Offset Table entries count from
	value     Range
}

// walker reads element headers of one dataset encoding.
type walker struct {
	r        io.ReaderAt
	size     int64
	bo       binary.ByteOrder
	implicit bool
	path     []byte
	res      walkResult
	hdr      [12]byte
	// cutOver is the size above which a binary value (pixel data aside) is cut from the parser's
	// view; 0 cuts nothing.
	cutOver int64
}

// header is one decoded element header.
type header struct {
	tag    tag.Tag
	vr     string
	length uint32
	value  int64 // offset of the value
}

// walkDataset walks the dataset encoded in r between start and the end of the input (size); binary
// values longer than cutOver (0: none) are cut from the parser's view.
func walkDataset(r io.ReaderAt, start, size int64, bo binary.ByteOrder, implicit bool, cutOver int64) (*walkResult, error) {
	w := &walker{r: r, size: size, bo: bo, implicit: implicit, cutOver: cutOver, res: walkResult{values: map[string]Range{}}}
	if _, err := w.elements(start, size, false, 0); err != nil {
		return nil, err
	}
	slices.SortFunc(w.res.edits, func(a, b edit) int { return cmp.Compare(a.at, b.at) })
	return &w.res, nil
}

// readHeader decodes the element header at pos; end is the end of the enclosing container.
func (w *walker) readHeader(pos, end int64) (header, error) {
	if end-pos < 8 {
		return header{}, w.overrun(pos, 8, end, "element header")
	}
	b := w.hdr[:8]
	if _, err := w.r.ReadAt(b, pos); err != nil {
		return header{}, fmt.Errorf("reading element header at %d: %v: %w", pos, err, ErrTruncated)
	}
	h := header{tag: tag.Tag{Group: w.bo.Uint16(b[0:]), Element: w.bo.Uint16(b[2:])}}
	switch {
	case h.tag.Group == 0xFFFE: // items and delimiters never carry a VR (PS3.5 §7.5)
		h.length, h.value = w.bo.Uint32(b[4:]), pos+8
	case w.implicit:
		h.vr, h.length, h.value = implicitVR(h.tag), w.bo.Uint32(b[4:]), pos+8
	default:
		h.vr = string(b[4:6])
		switch h.vr {
		case "OV", "SV", "UV":
			// The parser reads these with a 2-byte length (it predates them) and would misread
			// everything after; refuse rather than store a silently garbled dataset.
			return header{}, fmt.Errorf("element %s at %d has VR %s, which the parser cannot read: %w", h.tag, pos, h.vr, ErrUnsupported)
		case "OB", "OD", "OF", "OL", "OW", "SQ", "UC", "UN", "UR", "UT":
			if end-pos < 12 {
				return header{}, w.overrun(pos, 12, end, "element header")
			}
			if _, err := w.r.ReadAt(w.hdr[8:12], pos+8); err != nil {
				return header{}, fmt.Errorf("reading element header at %d: %v: %w", pos, err, ErrTruncated)
			}
			h.length, h.value = w.bo.Uint32(w.hdr[8:12]), pos+12
		default:
			h.length, h.value = uint32(w.bo.Uint16(b[6:])), pos+8
		}
	}
	return h, nil
}

// implicitVR looks the VR up in the parser's dictionary, exactly as the parser does, so that both
// agree on which elements are sequences.
func implicitVR(t tag.Tag) string {
	if t == tag.PixelData || t == tag.OverlayData {
		return "OW"
	}
	if info, err := tag.Find(t); err == nil && len(info.VRs) > 0 {
		return info.VRs[0]
	}
	return "UN"
}

// overrun builds the error for n bytes needed at pos that do not fit before end: truncation when
// the input itself ends, a structure error when only the enclosing container does.
func (w *walker) overrun(pos, n, end int64, what string) error {
	if end >= w.size {
		return fmt.Errorf("%s at offset %d needs %d bytes, input ends at %d: %w", what, pos, n, w.size, ErrTruncated)
	}
	return fmt.Errorf("%s at offset %d needs %d bytes, its container ends at %d: %w", what, pos, n, end, ErrUnsupported)
}

// elements walks the elements of a dataset or item from pos. With delimited set (an item of
// undefined length) it stops after the item delimiter; otherwise it stops at end. It returns the
// offset after the last byte it consumed.
func (w *walker) elements(pos, end int64, delimited bool, depth int) (int64, error) {
	for pos < end {
		h, err := w.readHeader(pos, end)
		if err != nil {
			return 0, err
		}
		if h.tag.Group == 0xFFFE {
			if h.tag == tagItemDelim && delimited {
				return h.value, nil
			}
			if h.tag != tagItem && h.length == 0 {
				pos = h.value // a stray empty delimiter: harmless, the parser skips it too
				continue
			}
			return 0, fmt.Errorf("unexpected %s at offset %d: %w", h.tag, pos, ErrUnsupported)
		}
		if pos, err = w.element(h, end, depth); err != nil {
			return 0, err
		}
	}
	if delimited {
		return 0, w.overrun(pos, 8, end, "item delimiter")
	}
	return pos, nil
}

// element skips one element's value, descending into sequences, and returns the offset after it.
func (w *walker) element(h header, end int64, depth int) (int64, error) {
	mark := len(w.path)
	if mark > 0 {
		w.path = append(w.path, '/')
	}
	w.path = appendTagHex(w.path, h.tag)
	defer func() { w.path = w.path[:mark] }()

	isPixel := h.tag == tag.PixelData
	if h.length == undefinedLength {
		switch {
		case h.vr == "SQ" || h.vr == "UN":
			return w.sequence(h.value, end, true, depth)
		case isPixel || h.vr == "OB" || h.vr == "OW":
			next, err := w.encapsulated(h, end, isPixel && depth == 0)
			if err == nil && !isPixel {
				w.cutValue(h, next)
			}
			return next, err
		default:
			return 0, fmt.Errorf("element %s (VR %q) has undefined length: %w", h.tag, h.vr, ErrUnsupported)
		}
	}
	next := h.value + int64(h.length)
	if next > end {
		return 0, w.overrun(h.value, int64(h.length), end, "value of "+h.tag.String())
	}
	switch h.vr {
	case "SQ":
		cutBefore := w.res.cutBytes
		if _, err := w.sequence(h.value, next, false, depth); err != nil {
			return 0, err
		}
		w.shorten(h, cutBefore)
		return next, nil
	case "OB", "OD", "OF", "OL", "OW", "UN":
		w.res.values[string(w.path)] = Range{Offset: h.value, Length: int64(h.length)}
		if !isPixel {
			w.cutValue(h, next)
		}
	case "US", "SS", "UL", "SL", "FL", "FD", "AT":
		if h.length > maxNumericValue {
			return 0, fmt.Errorf("element %s: %d bytes of %s is more than the %d supported: %w", h.tag, h.length, h.vr, maxNumericValue, ErrUnsupported)
		}
	}
	if isPixel {
		r := Range{Offset: h.value, Length: int64(h.length)}
		w.res.values[string(w.path)] = r
		if depth == 0 {
			w.res.pixel = &pixelData{value: r}
		}
	}
	return next, nil
}

// sequence walks the items of a sequence starting at pos. A defined-length sequence ends at end; an
// undefined-length one at its sequence delimiter, which must come before end.
func (w *walker) sequence(pos, end int64, delimited bool, depth int) (int64, error) {
	if depth+1 > maxDepth {
		return 0, fmt.Errorf("sequences nested deeper than %d at offset %d: %w", maxDepth, pos, ErrUnsupported)
	}
	for i := 0; ; i++ {
		if !delimited && pos >= end {
			return pos, nil
		}
		h, err := w.readHeader(pos, end)
		if err != nil {
			return 0, err
		}
		switch {
		case h.tag == tagSequenceDelim && delimited:
			return h.value, nil
		case h.tag != tagItem:
			return 0, fmt.Errorf("%s at offset %d where a sequence item was expected: %w", h.tag, pos, ErrUnsupported)
		}
		mark := len(w.path)
		w.path = append(w.path, '/')
		w.path = strconv.AppendInt(w.path, int64(i), 10)
		if h.length == undefinedLength {
			pos, err = w.elements(h.value, end, true, depth+1)
		} else {
			itemEnd := h.value + int64(h.length)
			if itemEnd > end {
				err = w.overrun(h.value, int64(h.length), end, "sequence item")
			} else {
				cutBefore := w.res.cutBytes
				pos, err = w.elements(h.value, itemEnd, false, depth+1)
				w.shorten(h, cutBefore)
			}
		}
		w.path = w.path[:mark]
		if err != nil {
			return 0, err
		}
	}
}

// encapsulated walks an undefined-length binary value made of items (encapsulated pixel data, or
// the rare undefined-length OB/OW): defined-length items up to the sequence delimiter.
func (w *walker) encapsulated(h header, end int64, top bool) (int64, error) {
	var px pixelData
	pos := h.value
	for i := 0; ; i++ {
		item, err := w.readHeader(pos, end)
		if err != nil {
			return 0, err
		}
		if item.tag == tagSequenceDelim {
			px.value = Range{Offset: h.value, Length: pos - h.value}
			w.res.values[string(w.path)] = px.value
			if top {
				px.encapsulated = true
				w.res.pixel = &px
			}
			return item.value, nil
		}
		if item.tag != tagItem || item.length == undefinedLength {
			return 0, fmt.Errorf("%s (length %d) at offset %d inside encapsulated %s: %w", item.tag, item.length, pos, h.tag, ErrUnsupported)
		}
		next := item.value + int64(item.length)
		if next > end {
			return 0, w.overrun(item.value, int64(item.length), end, "fragment")
		}
		r := Range{Offset: item.value, Length: int64(item.length)}
		if top {
			if i == 0 {
				px.offsetTable = r
			} else {
				px.fragments = append(px.fragments, fragment{itemStart: pos, value: r})
			}
		}
		pos = next
	}
}

const hexDigits = "0123456789ABCDEF"

// appendTagHex writes a tag as dcmjson writes it in paths: eight upper-case hex digits.
func appendTagHex(b []byte, t tag.Tag) []byte {
	for _, v := range [2]uint16{t.Group, t.Element} {
		b = append(b, hexDigits[v>>12], hexDigits[v>>8&0xF], hexDigits[v>>4&0xF], hexDigits[v&0xF])
	}
	return b
}
