package transcode

import (
	"bufio"
	"compress/flate"
	"encoding/binary"
	"io"

	"github.com/suyashkumar/dicom/pkg/tag"
)

// target writes the dataset in the output syntax.
type target struct {
	w         *bufio.Writer
	zw        *flate.Writer // nil unless deflated
	bo        binary.AppendByteOrder
	bigEndian bool
	implicit  bool
	hdr       [12]byte
}

func newTarget(w io.Writer, s syntax) *target {
	t := &target{implicit: s.implicit, bigEndian: s.bigEndian, bo: binary.AppendByteOrder(binary.LittleEndian)}
	if s.bigEndian {
		t.bo = binary.BigEndian
	}
	if s.deflated {
		// The level is fixed and valid, so NewWriter cannot fail.
		t.zw, _ = flate.NewWriter(w, flate.DefaultCompression)
		w = t.zw
	}
	t.w = bufio.NewWriterSize(w, 64<<10)
	return t
}

// header writes an element header; vr is ignored in implicit VR.
func (t *target) header(tg tag.Tag, vr string, length uint32) error {
	b := t.bo.AppendUint16(t.hdr[:0], tg.Group)
	b = t.bo.AppendUint16(b, tg.Element)
	switch {
	case t.implicit || tg.Group == 0xFFFE:
		b = t.bo.AppendUint32(b, length)
	case longLength(vr):
		b = append(b, vr[0], vr[1], 0, 0)
		b = t.bo.AppendUint32(b, length)
	default:
		b = append(b, vr[0], vr[1])
		b = t.bo.AppendUint16(b, uint16(length))
	}
	_, err := t.w.Write(b)
	return err
}

// element writes a whole element whose value is given little endian.
func (t *target) element(tg tag.Tag, vr string, value []byte) error {
	if err := t.header(tg, vr, uint32(len(value))); err != nil {
		return err
	}
	if t.bigEndian {
		value = swap(append([]byte(nil), value...), swapWidth(vr))
	}
	_, err := t.w.Write(value)
	return err
}

func (t *target) write(b []byte) error {
	_, err := t.w.Write(b)
	return err
}

// close flushes the output and ends the deflate stream.
func (t *target) close() error {
	if err := t.w.Flush(); err != nil {
		return err
	}
	if t.zw != nil {
		return t.zw.Close()
	}
	return nil
}

// swap reverses, in place, the bytes of each width-byte unit of b; a tail shorter than a unit (an
// odd length, which the standard does not allow) is left alone.
func swap(b []byte, width int) []byte {
	switch width {
	case 2:
		for i := 0; i+1 < len(b); i += 2 {
			b[i], b[i+1] = b[i+1], b[i]
		}
	case 4:
		for i := 0; i+3 < len(b); i += 4 {
			b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
		}
	case 8:
		for i := 0; i+7 < len(b); i += 8 {
			b[i], b[i+1], b[i+2], b[i+3], b[i+4], b[i+5], b[i+6], b[i+7] = b[i+7], b[i+6], b[i+5], b[i+4], b[i+3], b[i+2], b[i+1], b[i]
		}
	}
	return b
}
