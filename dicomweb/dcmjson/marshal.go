// Package dcmjson writes the PS3.18 Annex F "DICOM JSON Model" of a parsed dataset.
//
// The encoder appends to one byte slice instead of building maps for encoding/json: metadata is
// produced once per stored instance and again for every large /metadata response, so it is a hot
// path, and the model's rules (sorted keys, per-VR value shapes) are simple enough to write by hand.
//
// Decisions where PS3.18 leaves room or where the parser's representation forces a choice:
//   - An IS or DS value that does not parse as a number is written as null (F.2.3 has no string
//     form for them, and dropping the value would shift the positions of the others).
//   - An empty value inside a multi-valued attribute is null; an attribute whose only value is
//     empty has no "Value" at all (F.2.5).
//   - FL/FD/DS values that are NaN or ±Inf are null: JSON has no literal for them.
//   - UN of undefined length, which the parser reads as a sequence, is written with "vr":"SQ".
//   - Private Creator elements left as UN by implicit VR files are written as LO text (PS3.5 §7.8.1).
//   - PixelData (7FE0,0010) is always a BulkDataURI, whatever its size and even when the parser
//     skipped its value.
package dcmjson

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// DefaultInlineBinaryMax is the largest binary value, in bytes, written inline when
// Options.InlineBinaryMax is 0.
const DefaultInlineBinaryMax = 256

// Options controls how binary values are written.
type Options struct {
	// InlineBinaryMax is the largest binary value written as "InlineBinary"; larger values are
	// written as "BulkDataURI". 0 means DefaultInlineBinaryMax; a negative value sends every
	// non-empty binary value to BulkDataURI.
	InlineBinaryMax int
	// BulkDataURI returns the URI written for the value at path, the tag path from the top of the
	// dataset: "7FE00010", or "00540016/0/00181072" for tag / item index / tag. When nil, the path
	// itself is written.
	BulkDataURI func(path string) string
}

// ErrUnsupportedValue is returned for an element whose value has a type the model cannot express.
var ErrUnsupportedValue = errors.New("dcmjson: unsupported value")

// Marshal returns the JSON object of ds: one key per element, sorted by tag, without group 0002
// (file meta information) and without group lengths (gggg,0000).
func Marshal(ds *dicom.Dataset, opts Options) ([]byte, error) {
	if ds == nil {
		return []byte("{}"), nil
	}
	return MarshalElements(ds.Elements, opts)
}

// MarshalElements is Marshal for a bare list of elements, such as the items of a sequence.
func MarshalElements(elems []*dicom.Element, opts Options) ([]byte, error) {
	if opts.InlineBinaryMax == 0 {
		opts.InlineBinaryMax = DefaultInlineBinaryMax
	}
	e := encoder{opts: opts, buf: make([]byte, 0, 64+len(elems)*48)}
	if err := e.object(elems); err != nil {
		return nil, err
	}
	return e.buf, nil
}

// encoder carries the output and the current tag path; the path is kept as bytes and only turned
// into a string when a BulkDataURI is written, which is rare.
type encoder struct {
	buf  []byte
	path []byte
	opts Options
}

// included reports whether an element belongs in the model at all.
func included(t tag.Tag) bool {
	switch {
	case t.Group == 0x0002: // file meta information belongs to the file, not the dataset
		return false
	case t.Element == 0x0000: // group lengths depend on the encoding, not the content
		return false
	case t.Group == 0xFFFE: // stray item or delimiter, structure rather than data
		return false
	}
	return true
}

func tagLess(a, b *dicom.Element) int {
	if c := cmp.Compare(a.Tag.Group, b.Tag.Group); c != 0 {
		return c
	}
	return cmp.Compare(a.Tag.Element, b.Tag.Element)
}

func (e *encoder) object(elems []*dicom.Element) error {
	elems = slices.DeleteFunc(slices.Clone(elems), func(el *dicom.Element) bool {
		return el == nil || el.Value == nil || !included(el.Tag)
	})
	// Files are almost always sorted already; a stable sort keeps the first of duplicate tags first.
	if !slices.IsSortedFunc(elems, tagLess) {
		slices.SortStableFunc(elems, tagLess)
	}
	e.buf = append(e.buf, '{')
	for i, el := range elems {
		if i > 0 && el.Tag == elems[i-1].Tag {
			continue // duplicate keys would make the object ambiguous; the first one wins
		}
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendKey(e.buf, el.Tag)
		mark := len(e.path)
		if mark > 0 {
			e.path = append(e.path, '/')
		}
		e.path = appendTag(e.path, el.Tag)
		err := e.element(el)
		e.path = e.path[:mark]
		if err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

func (e *encoder) element(el *dicom.Element) error {
	vr := el.RawValueRepresentation
	switch v := el.Value.GetValue().(type) {
	case dicom.PixelDataInfo:
		e.bulk(pixelVR(vr))
		return nil
	case []*dicom.SequenceItemValue:
		return e.sequence(v)
	case []byte:
		if creator, ok := privateCreator(el, v); ok {
			e.strings("LO", []string{creator})
			return nil
		}
		e.binary(vr, v)
		return nil
	case []int:
		e.ints(vr, v)
		return nil
	case []float64:
		e.floats(vr, v)
		return nil
	case []string:
		e.strings(vr, v)
		return nil
	default:
		return fmt.Errorf("%w: %T in element %s", ErrUnsupportedValue, v, string(e.path))
	}
}

// privateCreator reads a Private Creator element (gggg,0010-00FF, odd group) that an implicit VR
// file left as UN bytes: PS3.5 §7.8.1 gives them the VR LO, so they are written as text.
func privateCreator(el *dicom.Element, v []byte) (string, bool) {
	t := el.Tag
	if t.Group%2 == 0 || t.Element < 0x0010 || t.Element > 0x00FF || (el.RawValueRepresentation != "UN" && el.RawValueRepresentation != "") {
		return "", false
	}
	s := strings.TrimRight(string(v), " \x00")
	if len(s) > 64 || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' }) {
		return "", false
	}
	return s, true
}

func pixelVR(vr string) string {
	if vr == "OB" || vr == "OW" {
		return vr
	}
	return "OW" // implicit VR files carry no VR; OW is what PS3.5 §8.2 specifies for native data
}

func (e *encoder) sequence(items []*dicom.SequenceItemValue) error {
	e.openValues("SQ", len(items))
	for i, item := range items {
		e.comma(i)
		mark := len(e.path)
		e.path = append(e.path, '/')
		e.path = strconv.AppendInt(e.path, int64(i), 10)
		var elems []*dicom.Element
		if item != nil {
			elems, _ = item.GetValue().([]*dicom.Element)
		}
		err := e.object(elems)
		e.path = e.path[:mark]
		if err != nil {
			return err
		}
	}
	e.closeValues(len(items))
	return nil
}

// bulk writes a BulkDataURI for the value at the current path.
func (e *encoder) bulk(vr string) {
	p := string(e.path)
	uri := p
	if e.opts.BulkDataURI != nil {
		uri = e.opts.BulkDataURI(p)
	}
	e.buf = appendVR(e.buf, vr)
	e.buf = append(e.buf, `,"BulkDataURI":`...)
	e.buf = appendString(e.buf, uri)
	e.buf = append(e.buf, '}')
}

const hexDigits = "0123456789ABCDEF"

// appendKey writes the key of an attribute in an object: its tag as eight upper-case hex digits.
func appendKey(b []byte, t tag.Tag) []byte {
	b = append(b, '"')
	b = appendTag(b, t)
	return append(b, `":`...)
}

func appendTag(b []byte, t tag.Tag) []byte {
	return appendHex16(appendHex16(b, t.Group), t.Element)
}

func appendHex16(b []byte, v uint16) []byte {
	return append(b, hexDigits[v>>12], hexDigits[v>>8&0xF], hexDigits[v>>4&0xF], hexDigits[v&0xF])
}

// appendVR opens the attribute object; callers close it.
func appendVR(b []byte, vr string) []byte {
	b = append(b, `{"vr":`...)
	return appendString(b, vr)
}
