// Package ingest extracts, once, everything STOW-RS needs from one DICOM Part 10 object: the index
// attributes, the PS3.18 Annex F metadata, the frame index and the byte ranges of bulk data.
//
// Values come from github.com/suyashkumar/dicom; byte offsets, which that parser does not expose,
// come from a walker of our own over the stored bytes (walk.go), which also validates every length
// before the parser is trusted with the input.
package ingest

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

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
)

// maxInflated bounds the inflated size of a deflated dataset, which is not bounded by the input
// size: a few kilobytes of deflate stream can claim gigabytes.
const maxInflated = 256 << 20

// Options tunes Read.
type Options struct {
	// InlineBinaryMax is passed to dcmjson: binary values up to this size are written inline.
	InlineBinaryMax int
}

// Read parses a DICOM Part 10 object (128-byte preamble + "DICM" + meta group required) from r,
// size bytes. It never panics and never allocates more than the input size because a length
// field says so.
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
	walked, err := walk(r, size, m, bo, implicit, deflated)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	ds, err := parse(r, size)
	if err != nil {
		return nil, err
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

// walk validates the dataset's structure and locates its values. A deflated dataset is inflated
// (boundedly) to validate it; its offsets do not address the stored file, so only the pixel data's
// place in the inflated stream is kept (frames are served by inflating up to them).
func walk(r io.ReaderAt, size int64, m meta, bo binary.ByteOrder, implicit, deflated bool) (*walkResult, error) {
	if !deflated {
		return walkDataset(r, m.datasetStart, size, bo, implicit)
	}
	zr := flate.NewReader(io.NewSectionReader(r, m.datasetStart, size-m.datasetStart))
	inflated, err := io.ReadAll(io.LimitReader(zr, maxInflated+1))
	if err != nil {
		return nil, fmt.Errorf("inflating the dataset: %v: %w", err, ErrTruncated)
	}
	if len(inflated) > maxInflated {
		return nil, fmt.Errorf("deflated dataset inflates past %d bytes: %w", maxInflated, ErrUnsupported)
	}
	w, err := walkDataset(bytes.NewReader(inflated), 0, int64(len(inflated)), bo, implicit)
	if err != nil {
		return nil, err
	}
	return &walkResult{values: map[string]Range{}, pixel: w.pixel, inflatedFrom: m.datasetStart}, nil
}

// parse runs the parser, which can panic on hostile input; the walk has already checked every
// length, so what is left to catch is the parser's own inconsistencies.
func parse(r io.ReaderAt, size int64) (ds dicom.Dataset, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("ingest: parser panic: %v: %w", p, ErrNotDICOM)
		}
	}()
	ds, err = dicom.Parse(io.NewSectionReader(r, 0, size), size, nil, dicom.SkipPixelData())
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
