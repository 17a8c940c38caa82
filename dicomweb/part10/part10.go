// Package part10 reads the header of a DICOM Part 10 file (PS3.10 §7.1): the 128-byte preamble,
// the "DICM" prefix and the File Meta Information group (0002), which is always explicit VR little
// endian whatever the dataset's transfer syntax. Ingest and transcode both start here, so that a
// file one of them accepts the other reads the same way.
package part10

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/suyashkumar/dicom/pkg/tag"
)

// PreambleLength is the length of the preamble and the "DICM" prefix: the meta group starts here.
const PreambleLength = 128 + 4

// MaxGroupLength bounds the meta group, which is read whole: real ones are a few hundred bytes.
const MaxGroupLength = 1 << 20

var (
	// ErrNotPart10 is wrapped when the input is not a Part 10 object: no "DICM" prefix, or a meta
	// group that does not start with its group length or cannot be walked.
	ErrNotPart10 = errors.New("not a DICOM Part 10 object")
	// ErrTruncated is wrapped when the input ends inside the header or the meta group.
	ErrTruncated = errors.New("truncated DICOM Part 10 header")
)

// Error is the error of Read: Reason says what is wrong, for callers that wrap it in their own
// sentinel; it wraps ErrNotPart10 or ErrTruncated. An input shorter than the preamble wraps both:
// a caller reading client input calls it not DICOM, one reading a stored file calls it truncated.
type Error struct {
	Reason string
	errs   []error
}

func (e *Error) Error() string { return e.Reason + ": " + e.errs[0].Error() }

// Unwrap returns the sentinels the error wraps.
func (e *Error) Unwrap() []error { return e.errs }

// Reason returns what is wrong without the sentinel's text, for callers that wrap err in a
// sentinel of their own.
func Reason(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Reason
	}
	return err.Error()
}

func notPart10(format string, args ...any) error {
	return &Error{Reason: fmt.Sprintf(format, args...), errs: []error{ErrNotPart10}}
}

func truncated(format string, args ...any) error {
	return &Error{Reason: fmt.Sprintf(format, args...), errs: []error{ErrTruncated}}
}

// Header is what a Part 10 file says before its dataset.
type Header struct {
	TransferSyntaxUID          string // (0002,0010), padding trimmed
	MediaStorageSOPClassUID    string // (0002,0002), padding trimmed
	MediaStorageSOPInstanceUID string // (0002,0003), padding trimmed
	// Elements are the meta elements after the group length, in file order, as read. An element of
	// another group is kept: the group length decides what the meta group is.
	Elements []Element
	// DatasetStart is the offset of the dataset: the first byte after the meta group.
	DatasetStart int64
}

// Element is one element of the meta group.
type Element struct {
	Tag   tag.Tag
	VR    string
	Raw   []byte // the whole element, header included, explicit VR little endian
	Value []byte
}

var groupLength = tag.Tag{Group: 0x0002, Element: 0x0000}

// Read reads the header of the Part 10 object in r, size bytes long. Its errors are *Error.
func Read(r io.ReaderAt, size int64) (*Header, error) {
	if size < PreambleLength {
		return nil, &Error{Reason: fmt.Sprintf("%d bytes is shorter than the preamble", size), errs: []error{ErrNotPart10, ErrTruncated}}
	}
	var magic [4]byte
	if _, err := r.ReadAt(magic[:], 128); err != nil || string(magic[:]) != "DICM" {
		return nil, notPart10("no DICM prefix at offset 128")
	}
	start, n, err := readGroupLength(r, size)
	if err != nil {
		return nil, err
	}
	if start+n > size {
		return nil, truncated("meta group of %d bytes runs past the end of the input", n)
	}
	if n > MaxGroupLength {
		return nil, notPart10("meta group of %d bytes is over %d", n, MaxGroupLength)
	}
	group := make([]byte, n)
	if _, err := r.ReadAt(group, start); err != nil {
		return nil, truncated("reading the meta group: %v", err)
	}
	h := &Header{DatasetStart: start + n}
	atEnd := start+n == size // an element cut by the end of the input is truncated, not malformed
	for pos := 0; pos < len(group); {
		el, err := elementAt(group, pos, atEnd)
		if err != nil {
			return nil, err
		}
		h.Elements = append(h.Elements, el)
		pos += len(el.Raw)
		switch el.Tag {
		case tag.TransferSyntaxUID:
			h.TransferSyntaxUID = trimUID(el.Value)
		case tag.MediaStorageSOPClassUID:
			h.MediaStorageSOPClassUID = trimUID(el.Value)
		case tag.MediaStorageSOPInstanceUID:
			h.MediaStorageSOPInstanceUID = trimUID(el.Value)
		}
	}
	return h, nil
}

// readGroupLength reads the element that must open the meta group, (0002,0000) UL, and returns
// where the rest of the group starts and its length.
func readGroupLength(r io.ReaderAt, size int64) (start, n int64, err error) {
	var b [12]byte
	avail := min(size-PreambleLength, int64(len(b)))
	if avail < 8 {
		return 0, 0, truncated("element header at offset %d needs 8 bytes, input ends at %d", PreambleLength, size)
	}
	if _, err := r.ReadAt(b[:avail], PreambleLength); err != nil {
		return 0, 0, truncated("reading the meta group length: %v", err)
	}
	le := binary.LittleEndian
	if (tag.Tag{Group: le.Uint16(b[0:]), Element: le.Uint16(b[2:])}) != groupLength || string(b[4:6]) != "UL" || le.Uint16(b[6:]) != 4 {
		return 0, 0, notPart10("meta group does not start with its group length (0002,0000)")
	}
	if avail < 12 {
		return 0, 0, truncated("value of (0002,0000) runs past the end of the input")
	}
	return PreambleLength + 12, int64(le.Uint32(b[8:])), nil
}

// elementAt decodes the meta element at pos. atEnd says the group ends where the input does.
func elementAt(group []byte, pos int, atEnd bool) (Element, error) {
	le := binary.LittleEndian
	overrun := func(n int) error {
		offset := PreambleLength + 12 + pos
		if atEnd {
			return truncated("meta element header at offset %d needs %d bytes, input ends", offset, n)
		}
		return notPart10("meta element header at offset %d needs %d bytes, the meta group ends", offset, n)
	}
	if len(group)-pos < 8 {
		return Element{}, overrun(8)
	}
	el := Element{Tag: tag.Tag{Group: le.Uint16(group[pos:]), Element: le.Uint16(group[pos+2:])}}
	hdr, length := 8, int64(le.Uint16(group[pos+6:]))
	switch el.VR = string(group[pos+4 : pos+6]); {
	case el.Tag.Group == 0xFFFE: // items and delimiters never carry a VR (PS3.5 §7.5)
		el.VR, length = "", int64(le.Uint32(group[pos+4:]))
	case el.VR == "OV" || el.VR == "SV" || el.VR == "UV":
		// No meta element has these VRs, and parsers that predate them misread their header.
		return Element{}, notPart10("meta element %s has VR %s", el.Tag, el.VR)
	case longLength(el.VR):
		if len(group)-pos < 12 {
			return Element{}, overrun(12)
		}
		hdr, length = 12, int64(le.Uint32(group[pos+8:]))
	}
	if length > int64(len(group)-pos-hdr) { // undefined length included
		return Element{}, notPart10("meta element %s overruns the group", el.Tag)
	}
	next := pos + hdr + int(length)
	el.Raw, el.Value = group[pos:next:next], group[pos+hdr:next:next]
	return el, nil
}

// longLength reports whether an explicit VR element has a 4-byte length (PS3.5 §7.1.2).
func longLength(vr string) bool {
	switch vr {
	case "OB", "OD", "OF", "OL", "OW", "SQ", "UC", "UN", "UR", "UT":
		return true
	}
	return false
}

func trimUID(v []byte) string { return strings.Trim(string(v), " \x00") }
