package dicomweb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/dicomweb/clip"
	"github.com/medimg/medimg/dicomweb/ingest"
	"github.com/medimg/medimg/dicomweb/multipart"
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

// maxPartsInFlight bounds the parts of one request whose blob and index row are being committed
// while the next parts are read: each holds an open temp file.
const maxPartsInFlight = 8

// storeParts stores every part. Parts are read and parsed one after the other, as the body
// arrives, while the parts before are still being made durable (see commitStaged); the response
// waits for all of them. When the body itself cannot be read to its end (malformed, over the size
// limit, connection lost), the part being read fails with a message saying why, and stopErr is
// that error.
func (s *Service) storeParts(ctx context.Context, mr *multipart.Reader, targetStudy string) (results []storeResult, stopErr error) {
	var slots []*storeResult
	var wg sync.WaitGroup
	inFlight := make(chan struct{}, maxPartsInFlight)
	turn := firstTurn()
	for {
		part, err := mr.Next()
		if err == io.EOF {
			break
		}
		slot := new(storeResult)
		slots = append(slots, slot)
		var staged *stagedObject
		if err == nil {
			staged, *slot, err = s.stagePart(ctx, part, targetStudy)
		}
		if err != nil {
			*slot = storeResult{reason: reasonCannotUnderstand, message: bodyErrorMessage(err)}
			stopErr = err
			break
		}
		if staged != nil {
			inFlight <- struct{}{}
			wg.Add(1)
			go func(t *queueTurn) {
				defer wg.Done()
				*slot = s.commitStaged(ctx, staged, t)
				<-inFlight
			}(turn)
			turn = turn.next()
		}
	}
	wg.Wait()
	for i, slot := range slots {
		res := *slot
		if res.reason != 0 {
			res.message = fmt.Sprintf("part %d: %s", i+1, res.message)
			name, ok := reasonName[res.reason]
			if !ok {
				name = "processing" // never a raw code: the label's values stay the listed ones
			}
			s.metrics.stowInstances.WithLabelValues("failed", name).Inc()
		} else {
			s.metrics.stowInstances.WithLabelValues("stored", "stored").Inc()
		}
		results = append(results, res)
	}
	return results, stopErr
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

// stagePart reads and parses one part (see stageObject).
func (s *Service) stagePart(ctx context.Context, part *multipart.Part, targetStudy string) (*stagedObject, storeResult, error) {
	if part.ContentType != "" && part.ContentType != "application/dicom" {
		return nil, storeResult{reason: reasonCannotUnderstand,
			message: fmt.Sprintf("media type %s; every part must be application/dicom", clip.String(part.ContentType))}, nil
	}
	return s.stageObject(ctx, part, targetStudy)
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
