package transcode

import (
	"bufio"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/suyashkumar/dicom/pkg/tag"
)

const undefinedLength = 0xFFFFFFFF

var (
	tagItem          = tag.Tag{Group: 0xFFFE, Element: 0xE000}
	tagItemDelim     = tag.Tag{Group: 0xFFFE, Element: 0xE00D}
	tagSequenceDelim = tag.Tag{Group: 0xFFFE, Element: 0xE0DD}
)

// source reads the dataset as a stream, element header by element header. Positions count bytes of
// the dataset stream (inflated, for a deflated syntax), so that defined lengths can be checked
// against the container they belong to.
type source struct {
	r         *bufio.Reader
	pos       int64
	end       int64 // bytes in the stream; MaxInt64 when unknown (deflated)
	bo        binary.ByteOrder
	bigEndian bool
	implicit  bool
	hdr       [12]byte
}

// header is one element, item or delimiter header.
type header struct {
	tag    tag.Tag
	vr     string // as read; empty in implicit VR and for items and delimiters
	length uint32
}

func newSource(r io.ReaderAt, size, start int64, s syntax) *source {
	var sr io.Reader = io.NewSectionReader(r, start, size-start)
	end := size - start
	if s.deflated {
		sr, end = flate.NewReader(sr), math.MaxInt64
	}
	src := &source{r: bufio.NewReaderSize(sr, 64<<10), end: end, implicit: s.implicit, bigEndian: s.bigEndian}
	src.setOrder(s.bigEndian)
	return src
}

func (s *source) setOrder(bigEndian bool) {
	s.bigEndian = bigEndian
	s.bo = binary.ByteOrder(binary.LittleEndian)
	if bigEndian {
		s.bo = binary.BigEndian
	}
}

// atEnd reports whether the container ending at end has no more bytes.
func (s *source) atEnd(end int64) bool {
	if s.pos >= end {
		return true
	}
	if end == math.MaxInt64 {
		_, err := s.r.Peek(1)
		return err != nil
	}
	return false
}

// read fills b from the stream.
func (s *source) read(b []byte) error {
	n, err := io.ReadFull(s.r, b)
	s.pos += int64(n)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the dataset ends at byte %d, inside a %d-byte read", ErrTruncated, s.pos, len(b))
	}
	var corrupt flate.CorruptInputError
	if errors.As(err, &corrupt) {
		return fmt.Errorf("%w: inflating the dataset: %v", ErrMalformed, err)
	}
	return fmt.Errorf("transcode: reading the dataset at byte %d: %w", s.pos, err)
}

// skip discards n bytes.
func (s *source) skip(n int64) error {
	got, err := s.r.Discard(int(min(n, math.MaxInt32)))
	s.pos += int64(got)
	if err != nil {
		return fmt.Errorf("%w: the dataset ends at byte %d, inside a value", ErrTruncated, s.pos)
	}
	if n > math.MaxInt32 {
		return s.skip(n - math.MaxInt32)
	}
	return nil
}

// fits checks that n bytes are left before end.
func (s *source) fits(n, end int64, what string) error {
	if n <= end-s.pos {
		return nil
	}
	if end >= s.end {
		return fmt.Errorf("%w: %s of %d bytes at byte %d runs past the end of the dataset (%d bytes)", ErrTruncated, what, n, s.pos, s.end)
	}
	return fmt.Errorf("%w: %s of %d bytes at byte %d runs past its container, which ends at %d", ErrMalformed, what, n, s.pos, end)
}

// header reads the next header; end is the end of the enclosing container.
func (s *source) header(end int64) (header, error) {
	if err := s.fits(8, end, "element header"); err != nil {
		return header{}, err
	}
	b := s.hdr[:8]
	if err := s.read(b); err != nil {
		return header{}, err
	}
	h := header{tag: tag.Tag{Group: s.bo.Uint16(b[0:]), Element: s.bo.Uint16(b[2:])}}
	if h.tag.Group == 0xFFFE || s.implicit { // items and delimiters never carry a VR (PS3.5 §7.5)
		h.length = s.bo.Uint32(b[4:])
		return h, nil
	}
	h.vr = string(b[4:6])
	if !knownVR(h.vr) {
		return header{}, fmt.Errorf("%w: element %s at byte %d has VR %q", ErrMalformed, h.tag, s.pos-8, h.vr)
	}
	if !longLength(h.vr) {
		h.length = uint32(s.bo.Uint16(b[6:]))
		return h, nil
	}
	if err := s.fits(4, end, "element header"); err != nil {
		return header{}, err
	}
	if err := s.read(s.hdr[8:12]); err != nil {
		return header{}, err
	}
	h.length = s.bo.Uint32(s.hdr[8:12])
	return h, nil
}
