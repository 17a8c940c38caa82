package dicomweb

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/dicomweb/transcode"
	"github.com/medimg/medimg/queries"
)

// retrieveInstances is the Instance resources of the Retrieve transaction (PS3.18 §10.4.1.1.1) at
// study, series and instance level: the stored files, streamed from the blob store one after the
// other (memory does not grow with the study), each as stored or transcoded to the transfer syntax
// asked.
func (s *Service) retrieveInstances(c *gin.Context) error {
	sc, err := scopeFromPath(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	insts, err := s.store.RetrieveInstances(ctx, sc)
	if err != nil {
		return err
	}
	if len(insts) == 0 {
		return errorf(http.StatusNotFound, "not_found", "%s has no instances", sc)
	}
	if wantsZIP(c.GetHeader("Accept")) {
		return s.writeZIP(c, sc, insts)
	}
	rep, err := chooseInstanceRep(c.GetHeader("Accept"), insts, sc.SOPInstanceUID != "")
	if err != nil {
		return err
	}
	if !rep.multipart {
		in := insts[0]
		body, err := s.openInstance(ctx, in, rep.target(in))
		if err != nil {
			return err
		}
		c.Header("Content-Type", "application/dicom; transfer-syntax="+rep.target(in))
		if rep.target(in) == in.TransferSyntaxUID {
			c.Header("Content-Length", strconv.FormatInt(in.Size, 10))
		}
		c.Status(http.StatusOK)
		if err := body.writeTo(c.Writer); err != nil {
			s.log.ErrorContext(ctx, "retrieve: response cut", "sop", in.SOPInstanceUID, "err", err)
		}
		return nil
	}
	// The first file is opened before the status is sent: a file missing under its row is a 500.
	first, err := s.openInstance(ctx, insts[0], rep.target(insts[0]))
	if err != nil {
		return err
	}
	mw := startMultipart(c, "application/dicom")
	for i, in := range insts {
		part, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom; transfer-syntax=" + rep.target(in)}})
		switch {
		case err != nil && i == 0:
			first.close()
		case err != nil:
		case i == 0:
			err = first.writeTo(part)
		default:
			err = s.writeInstance(ctx, part, in, rep.target(in))
		}
		if err != nil {
			// The status is sent; ending the body early is all that is left to say it.
			s.log.ErrorContext(ctx, "retrieve: response cut", "sop", in.SOPInstanceUID, "err", err)
			return nil
		}
	}
	mw.Close()
	return nil
}

// writeInstance writes one stored file as stored, or transcoded to ts.
func (s *Service) writeInstance(ctx context.Context, w io.Writer, in queries.StoredInstance, ts string) error {
	body, err := s.openInstance(ctx, in, ts)
	if err != nil {
		return err
	}
	return body.writeTo(w)
}

// instanceBody is one stored file opened for a response, to be sent as stored or transcoded.
type instanceBody struct {
	in       queries.StoredInstance
	ts       string
	stored   io.ReadCloser // as stored
	transcod *blobReaderAt // transcoded
}

// openInstance opens one stored file, so that a handler can do it before the status is sent: a file
// missing under its index row is then a 500 (storage.ErrNotFound), not a 200 with an empty body.
func (s *Service) openInstance(ctx context.Context, in queries.StoredInstance, ts string) (*instanceBody, error) {
	if ts == in.TransferSyntaxUID {
		rc, err := s.blobs.Open(ctx, in.BlobKey, 0, -1)
		if err != nil {
			return nil, fmt.Errorf("dicomweb: stored file of instance %s: %w", in.SOPInstanceUID, err)
		}
		return &instanceBody{in: in, ts: ts, stored: rc}, nil
	}
	r := &blobReaderAt{ctx: ctx, blobs: s.blobs, key: in.BlobKey, size: in.Size}
	if err := r.fill(0); err != nil {
		return nil, fmt.Errorf("dicomweb: stored file of instance %s: %w", in.SOPInstanceUID, err)
	}
	return &instanceBody{in: in, ts: ts, transcod: r}, nil
}

// writeTo writes the file and closes it.
func (b *instanceBody) writeTo(w io.Writer) error {
	if b.stored != nil {
		defer b.stored.Close()
		_, err := copyPooled(w, b.stored)
		return err
	}
	return transcode.Transcode(w, b.transcod, b.in.Size, b.in.TransferSyntaxUID, b.ts)
}

// close releases a file that will not be written.
func (b *instanceBody) close() {
	if b.stored != nil {
		b.stored.Close()
	}
}

// instanceRep is the representation chosen for retrieved instances.
type instanceRep struct {
	multipart bool
	// transferSyntax is the one asked: "*" for each file's own, or a UID every file is sent in.
	transferSyntax string
}

func (r instanceRep) target(in queries.StoredInstance) string {
	if r.transferSyntax == "*" {
		return in.TransferSyntaxUID
	}
	return r.transferSyntax
}

// chooseInstanceRep decides between multipart/related; type="application/dicom" and a single
// application/dicom body (one instance only), and the transfer syntax: "*" means as stored, none
// means Explicit VR Little Endian (PS3.18 §8.7.3.5.2), and any syntax asked must be each file's
// own or one the transcoder can produce from it.
func chooseInstanceRep(accept string, insts []queries.StoredInstance, single bool) (instanceRep, error) {
	for _, w := range parseAccept(accept) {
		if !matchesType(w.mediaType, "application/dicom") || (!w.multipart && w.mediaType != "*/*" && !single) {
			continue
		}
		ts := w.transferSyntax
		if ts == "" {
			ts = tsExplicitLE
		}
		if !canSend(ts, insts) {
			continue
		}
		return instanceRep{multipart: w.multipart || w.mediaType == "*/*" || !single, transferSyntax: ts}, nil
	}
	return instanceRep{}, notAcceptable(accept, `application/zip, or multipart/related; type="application/dicom" (or application/dicom for one instance), as stored (transfer-syntax=*, here `+
		insts[0].TransferSyntaxUID+`) or transcoded to Explicit or Implicit VR Little Endian, Explicit VR Big Endian or Deflated Explicit VR Little Endian from native, RLE or JPEG Baseline files`)
}

func canSend(ts string, insts []queries.StoredInstance) bool {
	if ts == "*" {
		return true
	}
	for _, in := range insts {
		if in.TransferSyntaxUID != ts && !transcode.Supported(in.TransferSyntaxUID, ts) {
			return false
		}
	}
	return true
}
