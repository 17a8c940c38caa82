package pixels

import (
	"encoding/binary"
	"fmt"
)

// losslessDecoder holds what the markers of one JPEG lossless frame (ITU-T T.81 process 14,
// Huffman coded, non-hierarchical) have said so far, and the frame being decoded.
type losslessDecoder struct {
	f         Format
	precision int
	comps     []losslessComponent
	tables    [4]*huffmanTable
	restart   int // MCUs per restart interval, 0 for none
	dataLen   int
	out       []byte
}

// losslessComponent is one component of the frame header, in frame order.
type losslessComponent struct {
	id      byte
	decoded bool
}

// decodeJPEGLossless decodes one JPEG lossless frame, any predictor, to interleaved little endian
// samples of BitsAllocated bits, each shifted left by the point transform: the inverse of what a
// lossless encoder read. Signed samples come out as the encoder's bit patterns, without the sign
// extension above BitsStored that a native original may have; Render masks both alike.
func decodeJPEGLossless(f Format, data []byte) ([]byte, Format, error) {
	if err := f.check(); err != nil {
		return nil, f, err
	}
	if f.Photometric == YBRFull422 {
		return nil, f, fmt.Errorf("%w: JPEG lossless with YBR_FULL_422 (subsampled chroma)", ErrUnsupported)
	}
	if len(data) < 2 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, f, fmt.Errorf("%w: JPEG lossless frame does not start with SOI", ErrCorrupt)
	}
	d := losslessDecoder{f: f, dataLen: len(data)}
	if err := d.segments(data, 2); err != nil {
		return nil, f, err
	}
	f.PlanarConfiguration, f.BigEndian = 0, false
	return d.out, f, nil
}

// segments reads the markers from pos to EOI (or the end of data), decoding each scan.
func (d *losslessDecoder) segments(data []byte, pos int) error {
	for pos < len(data) {
		marker, body, next, err := readSegment(data, pos)
		if err != nil {
			return err
		}
		switch {
		case marker == 0xD9: // EOI
			return d.complete()
		case marker == 0xC3:
			err = d.frameHeader(body)
		case marker == 0xC4:
			err = d.huffmanTables(body)
		case marker == 0xDD:
			err = d.restartInterval(body)
		case marker == 0xDA:
			next, err = d.scan(body, data, next)
		default:
			err = unexpectedMarker(marker)
		}
		if err != nil {
			return err
		}
		pos = next
	}
	return d.complete()
}

// complete checks that every component of the frame has been decoded.
func (d *losslessDecoder) complete() error {
	if d.out == nil {
		return fmt.Errorf("%w: JPEG lossless frame without a frame header (SOF3)", ErrCorrupt)
	}
	for _, c := range d.comps {
		if !c.decoded {
			return fmt.Errorf("%w: JPEG lossless frame ends before component %d is decoded", ErrCorrupt, c.id)
		}
	}
	return nil
}

// unexpectedMarker sorts the markers a lossless decoder does not expect: other JPEG processes
// are ErrUnsupported, markers that cannot be here ErrCorrupt, anything else (APPn, COM, DQT) nil.
func unexpectedMarker(m byte) error {
	switch {
	case m == 0xC0 || m == 0xC1 || m == 0xC2:
		return fmt.Errorf("%w: DCT JPEG (SOF%d) in a lossless transfer syntax", ErrUnsupported, m-0xC0)
	case m >= 0xC5 && m <= 0xCF && m != 0xC8 && m != 0xCC:
		return fmt.Errorf("%w: JPEG process SOF%d (hierarchical or arithmetic coded)", ErrUnsupported, m-0xC0)
	case m == 0xCC || m == 0xDE || m == 0xDF || m == 0xDC:
		return fmt.Errorf("%w: JPEG marker %#02x (arithmetic coding, hierarchical, DNL)", ErrUnsupported, m)
	case m == 0xD8 || m >= 0xD0 && m <= 0xD7 || m == 0x01:
		return fmt.Errorf("%w: JPEG marker %#02x outside a scan", ErrCorrupt, m)
	}
	return nil
}

// readSegment reads the marker at pos (after any fill bytes) and, unless it stands alone, its
// length-prefixed body; next is the position after it.
func readSegment(data []byte, pos int) (marker byte, body []byte, next int, err error) {
	if data[pos] != 0xFF {
		return 0, nil, 0, fmt.Errorf("%w: JPEG byte %#02x at %d where a marker should be", ErrCorrupt, data[pos], pos)
	}
	for pos < len(data) && data[pos] == 0xFF {
		pos++
	}
	if pos+1 > len(data) {
		return 0, nil, 0, fmt.Errorf("%w: JPEG data ends in a marker", ErrCorrupt)
	}
	marker, pos = data[pos], pos+1
	if marker == 0xD8 || marker == 0xD9 || marker == 0x01 || marker >= 0xD0 && marker <= 0xD7 {
		return marker, nil, pos, nil
	}
	if pos+2 > len(data) {
		return 0, nil, 0, fmt.Errorf("%w: JPEG segment %#02x cut short", ErrCorrupt, marker)
	}
	n := int(binary.BigEndian.Uint16(data[pos:]))
	if n < 2 || pos+n > len(data) {
		return 0, nil, 0, fmt.Errorf("%w: JPEG segment %#02x of %d bytes with %d left", ErrCorrupt, marker, n, len(data)-pos)
	}
	return marker, data[pos+2 : pos+n], pos + n, nil
}

// frameHeader reads SOF3 and allocates the frame, once its size has been checked against both
// the Format and the length of the data.
func (d *losslessDecoder) frameHeader(b []byte) error {
	if d.out != nil {
		return fmt.Errorf("%w: JPEG lossless frame with two frame headers", ErrCorrupt)
	}
	if len(b) < 6 || len(b) != 6+3*int(b[5]) {
		return fmt.Errorf("%w: JPEG frame header of %d bytes", ErrCorrupt, len(b))
	}
	f := d.f
	p, rows, cols, n := int(b[0]), int(binary.BigEndian.Uint16(b[1:])), int(binary.BigEndian.Uint16(b[3:])), int(b[5])
	switch {
	case p < 2 || p > 16:
		return fmt.Errorf("%w: JPEG lossless precision %d (T.81 allows 2–16)", ErrCorrupt, p)
	case p > f.BitsAllocated:
		return fmt.Errorf("%w: JPEG lossless precision %d with BitsAllocated %d", ErrCorrupt, p, f.BitsAllocated)
	case rows != f.Rows || cols != f.Columns || n != f.SamplesPerPixel:
		return fmt.Errorf("%w: JPEG of %d×%d pixels of %d components in a %d×%d image of %d samples",
			ErrCorrupt, cols, rows, n, f.Columns, f.Rows, f.SamplesPerPixel)
	}
	for i := range n {
		c := b[6+3*i:]
		if n > 1 && c[1] != 0x11 {
			return fmt.Errorf("%w: JPEG lossless with sampling factors %#02x", ErrUnsupported, c[1])
		}
		for _, prev := range d.comps {
			if prev.id == c[0] {
				return fmt.Errorf("%w: JPEG component %d defined twice", ErrCorrupt, c[0])
			}
		}
		d.comps = append(d.comps, losslessComponent{id: c[0]})
	}
	d.precision = p
	return d.allocate()
}

// allocate makes the output once the data is known to be long enough: every sample takes at
// least one bit (the shortest Huffman code), so a frame cannot claim more samples than that.
func (d *losslessDecoder) allocate() error {
	samples := d.f.Rows * d.f.Columns * d.f.SamplesPerPixel
	if d.dataLen*8 < samples {
		return fmt.Errorf("%w: JPEG lossless frame of %d bytes cannot hold %d samples", ErrCorrupt, d.dataLen, samples)
	}
	d.out = make([]byte, d.f.nativeSize())
	return nil
}

// huffmanTables reads DHT: the DC tables a lossless scan uses; AC tables are read and ignored.
func (d *losslessDecoder) huffmanTables(b []byte) error {
	for len(b) > 0 {
		if len(b) < 17 {
			return fmt.Errorf("%w: JPEG Huffman table cut short", ErrCorrupt)
		}
		class, id := b[0]>>4, b[0]&0x0F
		var counts [16]byte
		copy(counts[:], b[1:17])
		n := 0
		for _, c := range counts {
			n += int(c)
		}
		if class > 1 || id > 3 || n > 256 || 17+n > len(b) {
			return fmt.Errorf("%w: JPEG Huffman table class %d, id %d, %d codes in %d bytes", ErrCorrupt, class, id, n, len(b)-17)
		}
		if class == 0 {
			t, err := newHuffmanTable(counts, b[17:17+n])
			if err != nil {
				return err
			}
			d.tables[id] = t
		}
		b = b[17+n:]
	}
	return nil
}

// restartInterval reads DRI.
func (d *losslessDecoder) restartInterval(b []byte) error {
	if len(b) != 2 {
		return fmt.Errorf("%w: JPEG restart interval segment of %d bytes", ErrCorrupt, len(b))
	}
	d.restart = int(binary.BigEndian.Uint16(b))
	return nil
}
