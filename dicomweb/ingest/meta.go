package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"

	"github.com/medimg/medimg/dicomweb/part10"
	"github.com/medimg/medimg/dicomweb/ts"
)

// Transfer syntaxes the walker treats specially.
const (
	tsImplicitLE = ts.ImplicitVRLittleEndian
	tsExplicitLE = ts.ExplicitVRLittleEndian
	tsExplicitBE = ts.ExplicitVRBigEndian
	tsDeflated   = ts.DeflatedExplicitVRLittleEndian
)

const preambleLength = part10.PreambleLength

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

// readMeta reads the Part 10 header (dicomweb/part10) in ingest's terms.
func readMeta(r io.ReaderAt, size int64) (meta, error) {
	h, err := part10.Read(r, size)
	if err == nil {
		return meta{transferSyntax: h.TransferSyntaxUID, datasetStart: h.DatasetStart}, nil
	}
	sentinel := ErrTruncated
	if errors.Is(err, part10.ErrNotPart10) { // also input too short for a preamble: it is not DICOM
		sentinel = ErrNotDICOM
	}
	return meta{}, fmt.Errorf("%s: %w", part10.Reason(err), sentinel)
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
