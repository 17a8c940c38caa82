package dicomweb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/medimg/medimg/dicomweb/ingest"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/storage"
)

// stagedObject is an object read into a blob upload and parsed, whose blob and index row are
// still to be committed (commitStaged).
type stagedObject struct {
	up   storage.Upload
	inst *ingest.Instance
	size int64
	hash string
	res  storeResult // the identifiers, for the result of the commit
}

// storeObject stores one Part 10 object read from r, start to end (StoreFile); an error means r
// broke.
func (s *Service) storeObject(ctx context.Context, r io.Reader, targetStudy string) (storeResult, error) {
	staged, res, err := s.stageObject(ctx, r, targetStudy)
	if err != nil || staged == nil {
		return res, err
	}
	return s.commitStaged(ctx, staged, firstTurn()), nil
}

// stageObject writes the object read from r to a blob upload while reading it, parses it and checks
// it against the target study. It returns either the staged object, which the caller must pass to
// commitStaged, or the result of an object that goes no further. The error is set only when r
// broke; everything about the object itself is in the result.
func (s *Service) stageObject(ctx context.Context, r io.Reader, targetStudy string) (*stagedObject, storeResult, error) {
	up, err := s.blobs.NewUpload(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "stow: blob upload", "err", err)
		return nil, storageFailure(storeResult{}), nil
	}
	staged := false
	defer func() {
		if !staged {
			up.Abort()
		}
	}()
	hash := sha256.New()
	n, err := copyPooled(io.MultiWriter(uploadWriter{up}, hash), r)
	if err != nil {
		var we writeError
		if errors.As(err, &we) {
			s.log.ErrorContext(ctx, "stow: blob write", "err", err)
			return nil, storageFailure(storeResult{}), nil
		}
		// The body broke inside this part: the part is lost and so is the rest of the stream.
		return nil, storeResult{}, err
	}

	// An object of up to 64 KiB is read back from the upload's memory (storage keeps it there);
	// the header of a larger one from its temp file.
	inst, err := ingest.Read(up, n, ingest.Options{InlineBinaryMax: s.cfg.InlineBinaryMax, TempDir: s.cfg.TempDir})
	if errors.Is(err, ingest.ErrTemporaryStorage) {
		s.log.ErrorContext(ctx, "stow: inflating a deflated part", "err", err)
		return nil, storageFailure(storeResult{}), nil
	}
	if err != nil {
		return nil, ingestFailure(err), nil
	}
	res := storeResult{classUID: inst.SOPClassUID, instanceUID: inst.SOPInstanceUID,
		studyUID: inst.StudyInstanceUID, seriesUID: inst.SeriesInstanceUID}
	if targetStudy != "" && inst.StudyInstanceUID != targetStudy {
		return nil, res.failed(reasonProcessing, true, "the StudyInstanceUID %s of the instance differs from the study in the URL",
			inst.StudyInstanceUID), nil
	}
	staged = true
	return &stagedObject{up: up, inst: inst, size: n, hash: hex.EncodeToString(hash.Sum(nil)), res: res}, res, nil
}

// commitStaged makes a staged object durable and records it: the blob is committed (synced and
// renamed) and then its index row, which is queued in the request's order (turn) so that the
// parts of one request are recorded first to last, as if stored one by one. Several parts'
// commits run at once, and their rows share transactions with other requests' (queries.QueueInstance).
func (s *Service) commitStaged(ctx context.Context, o *stagedObject, turn *queueTurn) storeResult {
	defer o.up.Abort()
	defer turn.pass()
	res, inst := o.res, o.inst
	overwrite := s.cfg.OnDuplicate == OnDuplicateOverwrite
	if !overwrite {
		// Checked before the commit to save writing a file that would be refused; the unique key
		// in the index remains the guard against a concurrent store of the same instance.
		if exists, err := s.store.InstanceExists(ctx, inst.SOPInstanceUID); err != nil {
			s.log.ErrorContext(ctx, "stow: duplicate check", "err", err)
			return internalFailure(res)
		} else if exists {
			return res.failed(reasonDuplicate, true, "SOP Instance %s is already stored", inst.SOPInstanceUID)
		}
	}

	key := blobKey(inst)
	if err := o.up.Commit(ctx, key); err != nil {
		s.log.ErrorContext(ctx, "stow: blob commit", "key", key, "err", err)
		return storageFailure(res)
	}
	record, err := newInstanceRecord(inst, key, o.size, o.hash)
	if err == nil {
		turn.take()
		pending := s.store.QueueInstance(ctx, record, overwrite)
		turn.pass()
		var replaced string
		replaced, err = pending.Wait()
		if err == nil {
			if replaced != "" && replaced != key {
				s.deleteBlobs(ctx, []string{replaced})
			}
			s.metrics.stowBytes.Add(float64(o.size))
			return res
		}
	}
	// The row did not commit: the blob must not outlive it.
	s.deleteBlobs(ctx, []string{key})
	switch {
	case errors.Is(err, queries.ErrDuplicate):
		return res.failed(reasonDuplicate, true, "SOP Instance %s is already stored", inst.SOPInstanceUID)
	case errors.Is(err, queries.ErrConflict):
		// The other study is not the sender's to know: say only that there is one.
		return res.failed(reasonProcessing, true, "series %s is stored under another study", inst.SeriesInstanceUID)
	default:
		s.log.ErrorContext(ctx, "stow: index", "sop", inst.SOPInstanceUID, "err", err)
		return internalFailure(res)
	}
}

// failed returns r failed for reason, conflict saying whether what is stored (or the URL) is the
// cause rather than the input.
func (r storeResult) failed(reason uint16, conflict bool, format string, args ...any) storeResult {
	r.reason, r.conflict, r.message = reason, conflict, fmt.Sprintf(format, args...)
	return r
}

// storageFailure is r failed because the blob store failed.
func storageFailure(r storeResult) storeResult {
	r = r.failed(reasonOutOfResources, false, "storage failure; see the server log")
	r.internal = true
	return r
}

// internalFailure is r failed because the database failed, not the input: 500 when nothing was stored.
func internalFailure(r storeResult) storeResult {
	r = r.failed(reasonProcessing, false, "internal error; see the server log")
	r.internal = true
	return r
}

// queueTurn orders the index rows of one request's parts while their commits run at once: a part
// queues its row only after the part before it has queued its own or given up (pass).
type queueTurn struct {
	prev, mine chan struct{}
	passed     bool
}

// firstTurn is the turn of a request's first part, which waits for nobody.
func firstTurn() *queueTurn {
	prev := make(chan struct{})
	close(prev)
	return &queueTurn{prev: prev, mine: make(chan struct{})}
}

// next is the turn of the part after t's.
func (t *queueTurn) next() *queueTurn { return &queueTurn{prev: t.mine, mine: make(chan struct{})} }

// take waits until the parts before have queued their rows.
func (t *queueTurn) take() { <-t.prev }

// pass lets the next part queue its row; it waits for the turn first, and does nothing a second time.
func (t *queueTurn) pass() {
	if !t.passed {
		<-t.prev
		close(t.mine)
		t.passed = true
	}
}
