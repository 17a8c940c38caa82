package transcode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/medimg/medimg/dicomweb/part10"
)

const preambleLength = part10.PreambleLength

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
	element uint16
	raw     []byte // the whole element
}

// readMeta reads the Part 10 header (dicomweb/part10) in transcode's terms. The meta group must
// hold group 0002 only, since it is written back element by element.
func readMeta(r io.ReaderAt, size int64) (meta, error) {
	h, err := part10.Read(r, size)
	if err != nil {
		sentinel := ErrMalformed
		if errors.Is(err, part10.ErrTruncated) { // also input too short for a preamble: a stored file cut short
			sentinel = ErrTruncated
		}
		return meta{}, fmt.Errorf("%w: %s", sentinel, part10.Reason(err))
	}
	m := meta{transferSyntax: h.TransferSyntaxUID, datasetStart: h.DatasetStart}
	for _, el := range h.Elements {
		switch {
		case el.Tag.Group != 0x0002:
			return meta{}, fmt.Errorf("%w: element of group %04X in the meta group", ErrMalformed, el.Tag.Group)
		case el.Tag.Element == 0x0000, el.Tag.Element == 0x0010: // written anew by writeMeta
		default:
			m.elements = append(m.elements, metaElement{element: el.Tag.Element, raw: el.Raw})
		}
	}
	return m, nil
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
