package dicomweb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/dicomweb/clip"
	"github.com/medimg/medimg/dicomweb/ingest"
	"github.com/medimg/medimg/dicomweb/multipart"
	"github.com/medimg/medimg/queries"
)

// Failure Reason (0008,1197) values of the Store Instances Response (PS3.18 Table I.2-2; 0x0111 is
// the DIMSE "Duplicate SOP Instance" status, an additional code as I.2.2 allows).
const (
	reasonOutOfResources   = 0xA700 // the blob could not be written
	reasonDoesNotConform   = 0xA900 // a required UID is missing or malformed
	reasonCannotUnderstand = 0xC000 // not DICOM, truncated, or a part of another media type
	reasonProcessing       = 0x0110 // Study Instance UID mismatch, series of another study, internal error
	reasonDuplicate        = 0x0111 // the SOP Instance UID is already stored (--on-duplicate=reject)
)

// reasonName names a Failure Reason in the reason label of medimg_stow_instances_total.
var reasonName = map[uint16]string{
	reasonOutOfResources:   "out_of_resources",
	reasonDoesNotConform:   "does_not_conform",
	reasonCannotUnderstand: "cannot_understand",
	reasonProcessing:       "processing",
	reasonDuplicate:        "duplicate",
}

// reasonNames are the values of reasonName, sorted.
var reasonNames = []string{"cannot_understand", "does_not_conform", "duplicate", "out_of_resources", "processing"}

// storeResult is the outcome of one part.
type storeResult struct {
	classUID, instanceUID, studyUID, seriesUID string
	// reason is 0 when the instance was stored.
	reason uint16
	// message tells the client what was wrong (sent in a Warning header).
	message string
	// conflict marks failures caused by what is already stored or by the target URL (HTTP 409 when
	// nothing was stored), as opposed to bad input (400) or server trouble (500).
	conflict bool
	internal bool
}

// storeInstances is the Studies Store transaction, PS3.18 §10.5: POST /studies[/{study}] with a
// multipart/related body of application/dicom parts, read and stored one part at a time.
func (s *Service) storeInstances(c *gin.Context) error {
	if err := acceptsDICOMJSON(c.GetHeader("Accept")); err != nil {
		return err
	}
	var targetStudy string
	if c.Param("study") != "" {
		p, err := pathUIDs(c, "study")
		if err != nil {
			return err
		}
		targetStudy = p[0]
	}
	rel, err := multipart.ParseContentType(c.GetHeader("Content-Type"))
	if err != nil {
		return errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "%v", err)
	}
	switch rel.Type {
	case "", "application/dicom":
	case "application/dicom+json", "application/dicom+xml":
		return errorf(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"STOW of %s metadata with bulk data is not supported; send the instances as application/dicom parts", rel.Type)
	default:
		return errorf(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"multipart/related type %q: want type=\"application/dicom\"", rel.Type)
	}
	body := c.Request.Body
	if max := s.cfg.MaxUploadBytes; max > 0 {
		if c.Request.ContentLength > max {
			return errorf(http.StatusRequestEntityTooLarge, "too_large",
				"request body of %d bytes is over the limit of %d bytes (--max-upload-bytes)", c.Request.ContentLength, max)
		}
		body = http.MaxBytesReader(c.Writer, body, max)
	}

	results, stopErr := s.storeParts(c.Request.Context(), multipart.NewReader(body, rel.Boundary), targetStudy)
	if len(results) == 0 {
		return badRequest("the multipart body has no parts")
	}
	status := storeStatus(results)
	var tooLarge *http.MaxBytesError
	if errors.As(stopErr, &tooLarge) {
		status = http.StatusRequestEntityTooLarge
	}
	c.Set(storedStudiesKey, storedStudies(results))
	s.writeStoreResponse(c, status, targetStudy, results)
	return nil
}

// storedStudiesKey keeps, in the request's context, the studies a STOW stored into (the audit
// trail records them; see StoredStudies).
const storedStudiesKey = "dicomweb.stored_studies"

// StoredStudies returns the Study Instance UIDs into which the request's STOW stored instances,
// each once, in the order first stored.
func StoredStudies(c *gin.Context) []string {
	v, _ := c.Get(storedStudiesKey)
	studies, _ := v.([]string)
	return studies
}

func storedStudies(results []storeResult) []string {
	var studies []string
	for _, r := range results {
		if r.reason == 0 && !slices.Contains(studies, r.studyUID) {
			studies = append(studies, r.studyUID)
		}
	}
	return studies
}

// storeParts stores every part. When the body itself cannot be read to its end (malformed, over
// the size limit, connection lost), the part being read fails with a message saying why, and
// stopErr is that error.
func (s *Service) storeParts(ctx context.Context, mr *multipart.Reader, targetStudy string) (results []storeResult, stopErr error) {
	for i := 1; ; i++ {
		part, err := mr.Next()
		if err == io.EOF {
			return results, nil
		}
		var res storeResult
		if err == nil {
			res, err = s.storePart(ctx, part, targetStudy)
		}
		if err != nil {
			res = storeResult{reason: reasonCannotUnderstand, message: bodyErrorMessage(err)}
		}
		if res.reason != 0 {
			res.message = fmt.Sprintf("part %d: %s", i, res.message)
			name, ok := reasonName[res.reason]
			if !ok {
				name = "processing" // never a raw code: the label's values stay the listed ones
			}
			s.metrics.stowInstances.WithLabelValues("failed", name).Inc()
		} else {
			s.metrics.stowInstances.WithLabelValues("stored", "stored").Inc()
		}
		results = append(results, res)
		if err != nil {
			return results, err
		}
	}
}

// bodyErrorMessage says why the request body could not be read on.
func bodyErrorMessage(err error) string {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return fmt.Sprintf("the request body went over the limit of %d bytes (--max-upload-bytes); this part and any after it were not stored", tooLarge.Limit)
	case errors.Is(err, multipart.ErrMalformed):
		return err.Error()
	default:
		return "the request body could not be read to its end"
	}
}

// storePart stores one part: it is written to a blob upload while being read, parsed, checked, and
// only then committed under its key and recorded in the index. The returned error is set only when
// the body stream broke; everything about the part itself is in the result.
func (s *Service) storePart(ctx context.Context, part *multipart.Part, targetStudy string) (storeResult, error) {
	if part.ContentType != "" && part.ContentType != "application/dicom" {
		return storeResult{reason: reasonCannotUnderstand,
			message: fmt.Sprintf("media type %s; every part must be application/dicom", clip.String(part.ContentType))}, nil
	}
	return s.storeObject(ctx, part, targetStudy)
}

// storeObject stores one Part 10 object read from r (see storePart); an error means r broke.
func (s *Service) storeObject(ctx context.Context, r io.Reader, targetStudy string) (storeResult, error) {
	up, err := s.blobs.NewUpload(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "stow: blob upload", "err", err)
		return storeResult{reason: reasonOutOfResources, message: "storage failure; see the server log", internal: true}, nil
	}
	defer up.Abort()
	hash := sha256.New()
	n, err := copyPooled(io.MultiWriter(uploadWriter{up}, hash), r)
	if err != nil {
		var we writeError
		if errors.As(err, &we) {
			s.log.ErrorContext(ctx, "stow: blob write", "err", err)
			return storeResult{reason: reasonOutOfResources, message: "storage failure; see the server log", internal: true}, nil
		}
		// The body broke inside this part: the part is lost and so is the rest of the stream.
		return storeResult{}, err
	}

	inst, err := ingest.Read(up, n, ingest.Options{InlineBinaryMax: s.cfg.InlineBinaryMax, TempDir: s.cfg.TempDir})
	if errors.Is(err, ingest.ErrTemporaryStorage) {
		s.log.ErrorContext(ctx, "stow: inflating a deflated part", "err", err)
		return storeResult{reason: reasonOutOfResources, message: "storage failure; see the server log", internal: true}, nil
	}
	if err != nil {
		return ingestFailure(err), nil
	}
	res := storeResult{classUID: inst.SOPClassUID, instanceUID: inst.SOPInstanceUID,
		studyUID: inst.StudyInstanceUID, seriesUID: inst.SeriesInstanceUID}
	fail := func(reason uint16, conflict bool, format string, args ...any) storeResult {
		res.reason, res.conflict, res.message = reason, conflict, fmt.Sprintf(format, args...)
		return res
	}
	if targetStudy != "" && inst.StudyInstanceUID != targetStudy {
		return fail(reasonProcessing, true, "the StudyInstanceUID %s of the instance differs from the study in the URL",
			inst.StudyInstanceUID), nil
	}
	overwrite := s.cfg.OnDuplicate == OnDuplicateOverwrite
	if !overwrite {
		// Checked before the commit to save writing a file that would be refused; the unique key
		// in the index remains the guard against a concurrent store of the same instance.
		if exists, err := s.store.InstanceExists(ctx, inst.SOPInstanceUID); err != nil {
			s.log.ErrorContext(ctx, "stow: duplicate check", "err", err)
			res := fail(reasonProcessing, false, "internal error; see the server log")
			res.internal = true // the database failed, not the input: 500 when nothing was stored
			return res, nil
		} else if exists {
			return fail(reasonDuplicate, true, "SOP Instance %s is already stored", inst.SOPInstanceUID), nil
		}
	}

	key := blobKey(inst)
	if err := up.Commit(ctx, key); err != nil {
		s.log.ErrorContext(ctx, "stow: blob commit", "key", key, "err", err)
		r := fail(reasonOutOfResources, false, "storage failure; see the server log")
		r.internal = true
		return r, nil
	}
	record, err := newInstanceRecord(inst, key, n, hex.EncodeToString(hash.Sum(nil)))
	if err == nil {
		var replaced string
		replaced, err = s.store.AddInstance(ctx, record, overwrite)
		if err == nil {
			if replaced != "" && replaced != key {
				s.deleteBlobs(ctx, []string{replaced})
			}
			s.metrics.stowBytes.Add(float64(n))
			return res, nil
		}
	}
	// The row did not commit: the blob must not outlive it.
	s.deleteBlobs(ctx, []string{key})
	switch {
	case errors.Is(err, queries.ErrDuplicate):
		return fail(reasonDuplicate, true, "SOP Instance %s is already stored", inst.SOPInstanceUID), nil
	case errors.Is(err, queries.ErrConflict):
		// The other study is not the sender's to know: say only that there is one.
		return fail(reasonProcessing, true, "series %s is stored under another study", inst.SeriesInstanceUID), nil
	default:
		s.log.ErrorContext(ctx, "stow: index", "sop", inst.SOPInstanceUID, "err", err)
		r := fail(reasonProcessing, false, "internal error; see the server log")
		r.internal = true
		return r, nil
	}
}

// ingestFailure maps a parse failure to its Failure Reason.
func ingestFailure(err error) storeResult {
	msg := strings.TrimPrefix(err.Error(), "ingest: ")
	switch {
	case errors.Is(err, ingest.ErrMissingAttribute), errors.Is(err, ingest.ErrInvalidUID), errors.Is(err, ingest.ErrInvalidValue):
		return storeResult{reason: reasonDoesNotConform, message: msg}
	default:
		return storeResult{reason: reasonCannotUnderstand, message: msg}
	}
}

// blobKey names the file of an instance: readable, derived only from validated UIDs, and unique per
// upload so that a failed or concurrent store can never delete another store's file.
func blobKey(inst *ingest.Instance) string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("studies/%s/series/%s/%s_%s.dcm", inst.StudyInstanceUID, inst.SeriesInstanceUID,
		inst.SOPInstanceUID, hex.EncodeToString(b[:]))
}

// storeStatus is the HTTP status of a Store response (PS3.18 §10.5.3): 200 all stored, 202 some
// failed, 409 none stored because of a conflict, 400 none stored because of bad input, 500 none
// stored because of the server.
func storeStatus(results []storeResult) int {
	stored, conflict, bad := 0, false, false
	for _, r := range results {
		switch {
		case r.reason == 0:
			stored++
		case r.conflict:
			conflict = true
		case !r.internal:
			bad = true
		}
	}
	switch {
	case stored == len(results):
		return http.StatusOK
	case stored > 0:
		return http.StatusAccepted
	case conflict:
		return http.StatusConflict
	case bad:
		return http.StatusBadRequest
	default:
		return http.StatusInternalServerError
	}
}

// writeError marks an error of the blob upload, as opposed to one of the request body, in io.Copy.
type writeError struct{ error }

func (e writeError) Unwrap() error { return e.error }

// uploadWriter tags the upload's errors as writeError.
type uploadWriter struct{ w io.Writer }

func (u uploadWriter) Write(b []byte) (int, error) {
	n, err := u.w.Write(b)
	if err != nil {
		err = writeError{err}
	}
	return n, err
}
