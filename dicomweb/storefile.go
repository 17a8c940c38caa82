package dicomweb

import (
	"context"
	"io"
)

// StoreResult is what became of one object given to StoreFile.
type StoreResult struct {
	SOPInstanceUID, StudyInstanceUID, SeriesInstanceUID string // empty when the object could not be read
	// Stored is true when the object was stored; Duplicate when its SOP Instance UID already was.
	Stored, Duplicate bool
	// Message says why the object was not stored, as a STOW response's Warning would.
	Message string
}

// StoreFile stores one Part 10 object read from r exactly as a STOW-RS part is stored: the same
// checks, the same duplicate policy (the database arbitrates between concurrent stores), the blob
// committed before the index row. It is for bulk loads that bypass HTTP (medimg import). The
// error is set only when reading r failed; everything about the object itself is in the result.
func (s *Service) StoreFile(ctx context.Context, r io.Reader) (StoreResult, error) {
	res, err := s.storeObject(ctx, r, "")
	if err != nil {
		return StoreResult{}, err
	}
	return StoreResult{
		SOPInstanceUID: res.instanceUID, StudyInstanceUID: res.studyUID, SeriesInstanceUID: res.seriesUID,
		Stored: res.reason == 0, Duplicate: res.reason == reasonDuplicate, Message: res.message,
	}, nil
}
