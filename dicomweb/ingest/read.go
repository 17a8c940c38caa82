// Package ingest extracts, once, everything STOW-RS needs from one DICOM Part 10 object: the index
// attributes, the PS3.18 Annex F metadata, the frame index and the byte ranges of bulk data.
//
// Values come from github.com/suyashkumar/dicom; byte offsets, which that parser does not expose,
// come from a walker of our own over the stored bytes (walk.go), which also validates every length
// before the parser is trusted with the input.
package ingest

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/suyashkumar/dicom"

	"github.com/medimg/medimg/dicomweb/dcmjson"
)

// Errors returned by Read, each wrapped with detail.
var (
	// ErrNotDICOM: no "DICM" at offset 128, a meta group that cannot be read, or input the parser
	// chokes on.
	ErrNotDICOM = errors.New("not a DICOM Part 10 object")
	// ErrTruncated: the object ends before an element's declared length.
	ErrTruncated = errors.New("truncated DICOM object")
	// ErrMissingAttribute: a required UID is absent or empty; the message names its keyword.
	ErrMissingAttribute = errors.New("missing required attribute")
	// ErrInvalidUID: a required UID or the transfer syntax is malformed, or the meta group's
	// MediaStorageSOPInstanceUID differs from SOPInstanceUID.
	ErrInvalidUID = errors.New("invalid UID")
	// ErrInvalidValue: an attribute's value is out of what the server can keep (NumberOfFrames
	// above MaxNumberOfFrames); the message names it.
	ErrInvalidValue = errors.New("invalid attribute value")
	// ErrUnsupported: anything else the walker or the parser rejects.
	ErrUnsupported = errors.New("unsupported DICOM encoding")
	// ErrTemporaryStorage: the temporary file a deflated dataset is inflated into could not be
	// written; the server's fault, not the input's.
	ErrTemporaryStorage = errors.New("temporary storage failure")
)

// Options tunes Read.
type Options struct {
	// InlineBinaryMax is passed to dcmjson: binary values up to this size are written inline.
	InlineBinaryMax int
	// TempDir is where a deflated dataset is inflated, in a file removed before Read returns;
	// empty means os.TempDir().
	TempDir string

	// cutOver, for tests, replaces the size above which binary values are cut from the parser's
	// view (see cutOver); below the inline size it sends inline values to bulk data.
	cutOver int64
}

// Read parses a DICOM Part 10 object (128-byte preamble + "DICM" + meta group required) from r,
// size bytes. It never panics and never allocates more than the input size because a length
// field says so. It holds in memory the walker's index and values up to LargeValueMin (or
// InlineBinaryMax when larger), never larger binary values nor a deflated dataset.
func Read(r io.ReaderAt, size int64, opts Options) (inst *Instance, err error) {
	m, err := readMeta(r, size)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	if m.transferSyntax == "" {
		return nil, fmt.Errorf("ingest: TransferSyntaxUID (0002,0010): %w", ErrMissingAttribute)
	}
	if err := validateUID("TransferSyntaxUID", m.transferSyntax); err != nil {
		return nil, err
	}
	bo, implicit, deflated, err := datasetEncoding(m.transferSyntax)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	src, srcSize := r, size
	if deflated {
		f, n, err := inflate(r, size, m, opts.TempDir)
		if err != nil {
			return nil, fmt.Errorf("ingest: %w", err)
		}
		defer func() {
			f.Close()
			os.Remove(f.Name())
		}()
		src, srcSize = f, n
	}
	walked, err := walkDataset(src, m.datasetStart, srcSize, bo, implicit, cutOver(opts))
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	ds, err := parse(newView(src, srcSize, walked))
	if err != nil {
		return nil, err
	}
	markCut(&ds, walked.cut, opts.InlineBinaryMax)
	if deflated {
		walked.inflated(m.datasetStart)
	}
	inst = &Instance{TransferSyntaxUID: m.transferSyntax}
	if err := inst.setAttributes(&ds); err != nil {
		return nil, err
	}
	if err := inst.setMetadata(&ds, walked, opts); err != nil {
		return nil, err
	}
	inst.setFrames(r, &ds, walked)
	return inst, nil
}

// inflated turns the walk of an inflated file (see inflate) into what a deflated file's instance
// keeps: the values, which do not address the stored file, go; the pixel data counts from the
// start of the inflated stream, which starts at datasetStart in the stored file (frames are served
// by inflating up to them).
func (w *walkResult) inflated(datasetStart int64) {
	w.values = map[string]Range{}
	w.inflatedFrom = datasetStart
	if w.pixel != nil {
		w.pixel.value.Offset -= datasetStart
	}
}

// parse runs the parser, which can panic on hostile input; the walk has already checked every
// length, so what is left to catch is the parser's own inconsistencies.
func parse(r io.Reader, size int64) (ds dicom.Dataset, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("ingest: parser panic: %v: %w", p, ErrNotDICOM)
		}
	}()
	ds, err = dicom.Parse(r, size, nil, dicom.SkipPixelData())
	if err != nil {
		return dicom.Dataset{}, fmt.Errorf("ingest: parsing: %v: %w", err, ErrUnsupported)
	}
	return ds, nil
}

// setMetadata writes the dataset's JSON with relative BulkDataURIs and keeps, for each of them,
// the byte range the walker found.
func (inst *Instance) setMetadata(ds *dicom.Dataset, walked *walkResult, opts Options) error {
	var paths []string
	md, err := dcmjson.Marshal(ds, dcmjson.Options{
		InlineBinaryMax: opts.InlineBinaryMax,
		BulkDataURI: func(path string) string {
			paths = append(paths, path)
			return "bulkdata/" + path
		},
	})
	if err != nil {
		return fmt.Errorf("ingest: metadata: %v: %w", err, ErrUnsupported)
	}
	inst.Metadata = md
	inst.BulkData = make(map[string]Range, len(paths))
	for _, p := range paths {
		if rg, ok := walked.values[p]; ok {
			inst.BulkData[p] = rg
		}
	}
	return nil
}
