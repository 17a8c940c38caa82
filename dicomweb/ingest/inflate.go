package ingest

import (
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/suyashkumar/dicom/pkg/tag"
)

// maxInflated bounds the inflated size of a deflated dataset, which is not bounded by the input
// size: a few kilobytes of deflate stream can claim gigabytes. The inflated dataset goes to a
// temporary file, so the bound is on disk, not memory: 1 GiB lets through a large deflated
// multi-frame or document and keeps a deflate bomb to 1 GiB of temporary disk per part.
const maxInflated = 1 << 30

// inflate writes the object with its dataset inflated to a temporary file in dir (os.TempDir()
// when empty): the preamble and meta group as stored, then the inflated dataset, so that offsets
// in the dataset are the stored file's meta group length plus offsets in the inflated stream.
// The meta group's TransferSyntaxUID is overwritten, in place and padded with NULs, with explicit
// VR little endian, which is what an inflated deflated dataset is (PS3.5 §A.5): the parser then
// reads the file as it reads any other. The caller closes and removes the file.
func inflate(r io.ReaderAt, size int64, m meta, dir string) (_ *os.File, n int64, err error) {
	tsValue, ok := metaValue(r, m, tagTransferSyntax)
	if !ok || tsValue.Length < int64(len(tsExplicitLE)) {
		return nil, 0, fmt.Errorf("transfer syntax value not found in the meta group: %w", ErrNotDICOM)
	}
	f, err := os.CreateTemp(dir, "medimg-inflate-*")
	if err != nil {
		return nil, 0, fmt.Errorf("%v: %w", err, ErrTemporaryStorage)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := io.Copy(f, io.NewSectionReader(r, 0, m.datasetStart)); err != nil {
		return nil, 0, fmt.Errorf("copying the meta group: %v: %w", err, ErrTemporaryStorage)
	}
	explicit := make([]byte, tsValue.Length)
	copy(explicit, tsExplicitLE)
	if _, err := f.WriteAt(explicit, tsValue.Offset); err != nil {
		return nil, 0, fmt.Errorf("%v: %w", err, ErrTemporaryStorage)
	}
	zr := flate.NewReader(io.NewSectionReader(r, m.datasetStart, size-m.datasetStart))
	inflated, err := io.Copy(writerOnly{f}, io.LimitReader(zr, maxInflated+1))
	var we writeErr
	switch {
	case errors.As(err, &we):
		return nil, 0, fmt.Errorf("writing the inflated dataset: %v: %w", we.err, ErrTemporaryStorage)
	case err != nil:
		return nil, 0, fmt.Errorf("inflating the dataset: %v: %w", err, ErrTruncated)
	case inflated > maxInflated:
		return nil, 0, fmt.Errorf("deflated dataset inflates past %d bytes: %w", maxInflated, ErrUnsupported)
	}
	return f, m.datasetStart + inflated, nil
}

// metaValue finds the value of t in the meta group, which readMeta has already walked.
func metaValue(r io.ReaderAt, m meta, t tag.Tag) (Range, bool) {
	w := &walker{r: r, size: m.datasetStart, bo: binary.LittleEndian}
	for pos := int64(preambleLength); pos < m.datasetStart; {
		h, err := w.readHeader(pos, m.datasetStart)
		if err != nil || h.length == undefinedLength {
			return Range{}, false
		}
		if h.tag == t {
			return Range{Offset: h.value, Length: int64(h.length)}, true
		}
		pos = h.value + int64(h.length)
	}
	return Range{}, false
}

// writerOnly tells the temporary file's errors apart from the inflater's in io.Copy (and keeps
// io.Copy from using the file's ReadFrom, which would hide which side failed).
type writerOnly struct{ f *os.File }

type writeErr struct{ err error }

func (e writeErr) Error() string { return e.err.Error() }

func (w writerOnly) Write(b []byte) (int, error) {
	n, err := w.f.Write(b)
	if err != nil {
		return n, writeErr{err}
	}
	return n, nil
}
