package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"

	"github.com/medimg/medimg/dicomweb/ts"
)

// Transfer syntaxes the walker treats specially.
const (
	tsImplicitLE = ts.ImplicitVRLittleEndian
	tsExplicitLE = ts.ExplicitVRLittleEndian
	tsExplicitBE = ts.ExplicitVRBigEndian
	tsDeflated   = ts.DeflatedExplicitVRLittleEndian
)

const preambleLength = 128 + 4 // preamble + "DICM"

var (
	tagMetaGroupLength = tag.Tag{Group: 0x0002, Element: 0x0000}
	tagMediaSOPInst    = tag.Tag{Group: 0x0002, Element: 0x0003}
	tagTransferSyntax  = tag.Tag{Group: 0x0002, Element: 0x0010}
)

// meta is what the file meta information group tells before the dataset is read.
type meta struct {
	transferSyntax string
	datasetStart   int64
}

// readMeta checks the preamble and walks the file meta group, always explicit VR little endian.
func readMeta(r io.ReaderAt, size int64) (meta, error) {
	var magic [4]byte
	if size < preambleLength {
		return meta{}, fmt.Errorf("%d bytes is shorter than the preamble: %w", size, ErrNotDICOM)
	}
	if _, err := r.ReadAt(magic[:], 128); err != nil || string(magic[:]) != "DICM" {
		return meta{}, fmt.Errorf("no DICM prefix at offset 128: %w", ErrNotDICOM)
	}
	w := &walker{r: r, size: size, bo: binary.LittleEndian}
	h, err := w.readHeader(preambleLength, size)
	if err != nil {
		return meta{}, err
	}
	if h.tag != tagMetaGroupLength || h.vr != "UL" || h.length != 4 {
		return meta{}, fmt.Errorf("meta group does not start with its group length (0002,0000): %w", ErrNotDICOM)
	}
	groupLength, err := w.value(h)
	if err != nil {
		return meta{}, err
	}
	start := h.value + 4
	end := start + int64(binary.LittleEndian.Uint32(groupLength))
	if end > size {
		return meta{}, fmt.Errorf("meta group of %d bytes runs past the end of the input: %w", end-start, ErrTruncated)
	}
	m := meta{datasetStart: end}
	for pos := start; pos < end; {
		h, err := w.readHeader(pos, end)
		if err != nil {
			return meta{}, fmt.Errorf("meta group: %w", asNotDICOM(err))
		}
		if h.length == undefinedLength || h.value+int64(h.length) > end {
			return meta{}, fmt.Errorf("meta element %s overruns the group: %w", h.tag, ErrNotDICOM)
		}
		if h.tag == tagTransferSyntax {
			v, err := w.value(h)
			if err != nil {
				return meta{}, err
			}
			m.transferSyntax = trimUID(string(v))
		}
		pos = h.value + int64(h.length)
	}
	return m, nil
}

// asNotDICOM keeps truncation as it is and turns any other structure error into ErrNotDICOM: a
// meta group that cannot be walked means the input is not a Part 10 object.
func asNotDICOM(err error) error {
	if errors.Is(err, ErrTruncated) {
		return err
	}
	return fmt.Errorf("%v: %w", err, ErrNotDICOM)
}

// value reads a small value that the caller has checked lies inside the input.
func (w *walker) value(h header) ([]byte, error) {
	if h.value+int64(h.length) > w.size {
		return nil, fmt.Errorf("value of %s: %w", h.tag, ErrTruncated)
	}
	b := make([]byte, h.length)
	if _, err := w.r.ReadAt(b, h.value); err != nil {
		return nil, fmt.Errorf("reading %s: %v: %w", h.tag, err, ErrTruncated)
	}
	return b, nil
}

// datasetEncoding tells how the dataset after the meta group is encoded.
func datasetEncoding(ts string) (bo binary.ByteOrder, implicit, deflated bool, err error) {
	switch ts {
	case tsImplicitLE:
		return binary.LittleEndian, true, false, nil
	case tsExplicitLE:
		return binary.LittleEndian, false, false, nil
	case tsExplicitBE:
		return binary.BigEndian, false, false, nil
	case tsDeflated:
		return binary.LittleEndian, false, true, nil
	}
	// Every other transfer syntax the parser knows (the compressed ones) is explicit VR little
	// endian with encapsulated pixel data. Unknown ones would make the parser fall over later.
	if e, lerr := uid.Lookup(ts); lerr != nil || e.Type != uid.TypeTransferSyntax {
		return nil, false, false, fmt.Errorf("transfer syntax %q is not known: %w", ts, ErrUnsupported)
	}
	return binary.LittleEndian, false, false, nil
}

// trimUID removes the padding a UI value may carry.
func trimUID(s string) string { return strings.Trim(s, " \x00") }
