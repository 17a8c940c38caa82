package transcode

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

const (
	preambleLength = 128 + 4 // preamble + "DICM"
	// maxMetaGroup bounds the meta group, which is read whole: real ones are a few hundred bytes.
	maxMetaGroup = 1 << 20
)

// meta is the file meta information group of the source.
type meta struct {
	transferSyntax string
	// elements holds each meta element but the group length and the transfer syntax, encoded as
	// read (explicit VR little endian), in file order.
	elements []metaElement
	// datasetStart is the offset of the dataset in the source.
	datasetStart int64
}

type metaElement struct {
	element    uint16
	raw, value []byte // the whole element; its value
}

// readMeta checks the Part 10 header and reads the meta group, always explicit VR little endian.
func readMeta(r io.ReaderAt, size int64) (meta, error) {
	if size < preambleLength+12 {
		return meta{}, fmt.Errorf("%w: %d bytes is shorter than a Part 10 header", ErrTruncated, size)
	}
	var head [16]byte
	if _, err := r.ReadAt(head[:], 128); err != nil {
		return meta{}, fmt.Errorf("%w: reading the Part 10 header: %v", ErrTruncated, err)
	}
	le := binary.LittleEndian
	if string(head[:4]) != "DICM" {
		return meta{}, fmt.Errorf("%w: no DICM prefix at offset 128", ErrMalformed)
	}
	if le.Uint16(head[4:]) != 2 || le.Uint16(head[6:]) != 0 || string(head[8:10]) != "UL" || le.Uint16(head[10:]) != 4 {
		return meta{}, fmt.Errorf("%w: the meta group does not start with its group length (0002,0000)", ErrMalformed)
	}
	var gl [4]byte
	if _, err := r.ReadAt(gl[:], preambleLength+8); err != nil {
		return meta{}, fmt.Errorf("%w: reading the meta group length: %v", ErrTruncated, err)
	}
	start := int64(preambleLength + 12)
	n := int64(le.Uint32(gl[:]))
	if n > maxMetaGroup {
		return meta{}, fmt.Errorf("%w: meta group of %d bytes", ErrMalformed, n)
	}
	if start+n > size {
		return meta{}, fmt.Errorf("%w: the meta group of %d bytes runs past the end of the input", ErrTruncated, n)
	}
	group := make([]byte, n)
	if _, err := r.ReadAt(group, start); err != nil {
		return meta{}, fmt.Errorf("%w: reading the meta group: %v", ErrTruncated, err)
	}
	m := meta{datasetStart: start + n}
	for pos := 0; pos < len(group); {
		el, next, err := metaElementAt(group, pos)
		if err != nil {
			return meta{}, err
		}
		switch el.element {
		case 0x0000:
		case 0x0010:
			m.transferSyntax = strings.Trim(string(el.value), " \x00")
		default:
			m.elements = append(m.elements, el)
		}
		pos = next
	}
	return m, nil
}

// metaElementAt decodes the meta element at pos and returns it with the offset after it.
func metaElementAt(group []byte, pos int) (metaElement, int, error) {
	le := binary.LittleEndian
	if len(group)-pos < 8 {
		return metaElement{}, 0, fmt.Errorf("%w: meta element header at %d overruns the group", ErrMalformed, pos)
	}
	if g := le.Uint16(group[pos:]); g != 2 {
		return metaElement{}, 0, fmt.Errorf("%w: element of group %04X in the meta group", ErrMalformed, g)
	}
	hdr, length := 8, int(le.Uint16(group[pos+6:]))
	if longLength(string(group[pos+4 : pos+6])) {
		if len(group)-pos < 12 {
			return metaElement{}, 0, fmt.Errorf("%w: meta element header at %d overruns the group", ErrMalformed, pos)
		}
		hdr, length = 12, int(le.Uint32(group[pos+8:]))
	}
	if length < 0 || length > len(group)-pos-hdr {
		return metaElement{}, 0, fmt.Errorf("%w: meta element at %d overruns the group", ErrMalformed, pos)
	}
	next := pos + hdr + length
	return metaElement{element: le.Uint16(group[pos+2:]), raw: group[pos:next], value: group[pos+hdr : next]}, next, nil
}

// writeMeta writes a zero preamble, "DICM" and the meta group with TransferSyntaxUID set to ts.
func writeMeta(w io.Writer, m meta, ts string) error {
	uid := []byte(ts)
	if len(uid)%2 == 1 {
		uid = append(uid, 0)
	}
	tsElement := metaElement{element: 0x0010, raw: binary.LittleEndian.AppendUint16([]byte{2, 0, 0x10, 0, 'U', 'I'}, uint16(len(uid)))}
	tsElement.raw = append(tsElement.raw, uid...)

	elements := make([]metaElement, 0, len(m.elements)+1)
	placed := false
	for _, el := range m.elements {
		if !placed && el.element > 0x0010 {
			elements, placed = append(elements, tsElement), true
		}
		elements = append(elements, el)
	}
	if !placed {
		elements = append(elements, tsElement)
	}
	var n int
	for _, el := range elements {
		n += len(el.raw)
	}
	out := make([]byte, preambleLength, preambleLength+12+n)
	copy(out[128:], "DICM")
	out = append(out, 2, 0, 0, 0, 'U', 'L', 4, 0)
	out = binary.LittleEndian.AppendUint32(out, uint32(n))
	for _, el := range elements {
		out = append(out, el.raw...)
	}
	_, err := w.Write(out)
	return err
}
