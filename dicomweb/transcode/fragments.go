package transcode

import (
	"encoding/binary"
	"fmt"
	"io"
)

// fragments reads encapsulated pixel data item by item and groups fragments into frames (PS3.5
// §A.4): by the Basic Offset Table when it has one entry per frame, all of them when there is one
// frame, else one per fragment for RLE (PS3.5 §A.4.2) and by start-of-image markers for JPEG. Only
// one frame (and the first fragment of the next) is held at a time.
type fragments struct {
	src       *source
	end       int64
	jpeg      bool
	frames    int
	offsets   []uint32 // from the Basic Offset Table; nil when unusable
	firstItem int64    // stream position of the first fragment's item header; -1 before it
	frame     int      // index of the frame being read
	pending   []byte   // a fragment read ahead, the first of the next frame
	done      bool
}

func newFragments(src *source, end int64, jpeg bool, frames int) (*fragments, error) {
	f := &fragments{src: src, end: end, jpeg: jpeg, frames: frames, firstItem: -1}
	h, err := src.header(end)
	if err != nil {
		return nil, err
	}
	if h.tag != tagItem || h.length == undefinedLength {
		return nil, fmt.Errorf("%w: encapsulated pixel data starts with %s, not the Basic Offset Table item", ErrMalformed, h.tag)
	}
	if err := src.fits(int64(h.length), end, "Basic Offset Table"); err != nil {
		return nil, err
	}
	table := make([]byte, h.length) // bounded by the input, checked just above
	if err := src.read(table); err != nil {
		return nil, err
	}
	if len(table) == 4*frames {
		offsets := make([]uint32, frames)
		for i := range offsets {
			offsets[i] = binary.LittleEndian.Uint32(table[4*i:])
		}
		if usableOffsets(offsets) {
			f.offsets = offsets
		}
	}
	return f, nil
}

// usableOffsets reports whether a Basic Offset Table starts at 0 and increases.
func usableOffsets(o []uint32) bool {
	for i := range o {
		if i == 0 && o[0] != 0 || i > 0 && o[i] <= o[i-1] {
			return false
		}
	}
	return len(o) > 0
}

// next returns the fragments of the next frame, or io.EOF after the last.
func (f *fragments) next() ([][]byte, error) {
	var frame [][]byte
	if f.pending != nil {
		frame, f.pending = append(frame, f.pending), nil
	}
	for !f.done {
		itemPos := f.src.pos
		h, err := f.src.header(f.end)
		if err != nil {
			return nil, err
		}
		if h.tag == tagSequenceDelim {
			f.done = true
			break
		}
		if h.tag != tagItem || h.length == undefinedLength {
			return nil, fmt.Errorf("%w: %s (length %d) inside encapsulated pixel data", ErrMalformed, h.tag, h.length)
		}
		if err := f.src.fits(int64(h.length), f.end, "fragment"); err != nil {
			return nil, err
		}
		data := make([]byte, h.length) // bounded by the input, checked just above
		if err := f.src.read(data); err != nil {
			return nil, err
		}
		if f.firstItem < 0 {
			f.firstItem = itemPos
		}
		if len(frame) > 0 && f.startsFrame(itemPos-f.firstItem, data) {
			f.pending = data
			break
		}
		frame = append(frame, data)
	}
	if len(frame) == 0 {
		return nil, io.EOF
	}
	f.frame++
	return frame, nil
}

// startsFrame tells whether the fragment at offset (from the first fragment's item) with data
// begins a new frame, given that the current frame already has a fragment.
func (f *fragments) startsFrame(offset int64, data []byte) bool {
	switch {
	case f.offsets != nil:
		return f.frame+1 < len(f.offsets) && offset == int64(f.offsets[f.frame+1])
	case f.frames == 1:
		return false
	case f.jpeg:
		return len(data) >= 2 && data[0] == 0xFF && data[1] == 0xD8
	}
	return true
}
