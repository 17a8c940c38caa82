package pixels

import "fmt"

// fastBits is how many bits a huffmanTable resolves with one lookup; longer codes take the slow
// path.
const fastBits = 9

// huffmanTable decodes the codes of one DHT table (T.81 Annex C, F.2.2.3).
type huffmanTable struct {
	// fast maps the next fastBits bits to length<<8 | value; 0 means a longer (or invalid) code.
	fast [1 << fastBits]uint16
	// minCode and maxCode bound the codes of each length (maxCode -1 when there are none);
	// valPtr[l]+code is the index in values of the code of length l.
	minCode, maxCode, valPtr [17]int32
	values                   []byte
}

// newHuffmanTable builds the canonical codes of counts (codes of each length 1–16) and values.
func newHuffmanTable(counts [16]byte, values []byte) (*huffmanTable, error) {
	h := &huffmanTable{values: values}
	code, k := 0, 0
	for l := 1; l <= 16; l++ {
		n := int(counts[l-1])
		if code+n > 1<<l {
			return nil, fmt.Errorf("%w: JPEG Huffman table with more codes of length %d than fit", ErrCorrupt, l)
		}
		h.minCode[l], h.maxCode[l], h.valPtr[l] = int32(code), int32(code+n-1), int32(k-code)
		for range n {
			if l <= fastBits {
				shift := fastBits - l
				for j := code << shift; j < (code+1)<<shift; j++ {
					h.fast[j] = uint16(l<<8) | uint16(values[k])
				}
			}
			code, k = code+1, k+1
		}
		code <<= 1
	}
	return h, nil
}

// bitReader reads the entropy-coded data of a scan, unstuffing FF 00. At a marker or the end of
// the data it appends zero bits, and reading any of those is an error: the data was cut short.
type bitReader struct {
	data []byte
	pos  int
	acc  uint64 // the next n bits, right-aligned (bits above n are stale)
	n    uint
	pad  uint // how many of the last of the n bits are zeros past the end
	err  error
}

// fill tops acc up to at least 57 bits.
func (r *bitReader) fill() {
	for r.n <= 56 {
		if r.pad == 0 && r.pos < len(r.data) {
			b := r.data[r.pos]
			if b != 0xFF {
				r.acc, r.n, r.pos = r.acc<<8|uint64(b), r.n+8, r.pos+1
				continue
			}
			if r.pos+1 < len(r.data) && r.data[r.pos+1] == 0 {
				r.acc, r.n, r.pos = r.acc<<8|0xFF, r.n+8, r.pos+2
				continue
			}
		}
		// A marker or the end: pos stays there for the caller.
		r.acc, r.n, r.pad = r.acc<<8, r.n+8, r.pad+8
	}
}

// diff decodes one difference: a Huffman coded SSSS and SSSS additional bits (F.1.2.1.1), except
// that SSSS 16 means 32768 with no additional bits (H.1.2.2). After an error it returns 0.
func (r *bitReader) diff(h *huffmanTable) int {
	if r.err != nil {
		return 0
	}
	if r.n < 32 {
		r.fill()
	}
	var size, s uint
	if e := h.fast[(r.acc>>(r.n-fastBits))&(1<<fastBits-1)]; e != 0 {
		size, s = uint(e>>8), uint(e&0xFF)
	} else {
		size, s = r.slowCode(h)
	}
	if size == 0 || s > 16 {
		return r.fail(fmt.Errorf("%w: JPEG lossless: invalid Huffman code or difference category", ErrCorrupt))
	}
	extra := s
	if s == 16 {
		extra = 0
	}
	r.n -= size + extra
	if r.n < r.pad {
		return r.fail(fmt.Errorf("%w: JPEG lossless scan cut short", ErrCorrupt))
	}
	switch s {
	case 0:
		return 0
	case 16:
		return 32768
	}
	v := int(r.acc>>r.n) & (1<<s - 1)
	if v < 1<<(s-1) {
		return v - 1<<s + 1
	}
	return v
}

// slowCode finds a code longer than fastBits; size 0 means none matches.
func (r *bitReader) slowCode(h *huffmanTable) (size, value uint) {
	for l := uint(fastBits + 1); l <= 16; l++ {
		code := int32(r.acc>>(r.n-l)) & (1<<l - 1)
		if h.maxCode[l] >= h.minCode[l] && code >= h.minCode[l] && code <= h.maxCode[l] {
			i := h.valPtr[l] + code
			if i < 0 || int(i) >= len(h.values) {
				return 0, 0
			}
			return l, uint(h.values[i])
		}
	}
	return 0, 0
}

// fail records the first error; every later diff returns 0 without reading.
func (r *bitReader) fail(err error) int {
	if r.err == nil {
		r.err = err
	}
	return 0
}

// restart discards the bits left in the restart interval and reads the RSTn marker (n = m) that
// must follow (T.81 F.1.2.3, E.1.4).
func (r *bitReader) restart(m int) {
	if r.err != nil {
		return
	}
	r.acc, r.n, r.pad = 0, 0, 0
	p := r.pos
	for p < len(r.data) && r.data[p] == 0xFF {
		p++
	}
	if p == r.pos || p >= len(r.data) || r.data[p] != 0xD0+byte(m) {
		r.fail(fmt.Errorf("%w: JPEG lossless: RST%d missing at byte %d", ErrCorrupt, m, r.pos))
		return
	}
	r.pos = p + 1
}
