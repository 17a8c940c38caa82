package dicomweb

import (
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/queries"
)

// retrieveInstances is the Instance resources of the Retrieve transaction (PS3.18 §10.4.1.1.1) at
// study, series and instance level: the stored files, streamed from the blob store one after the
// other, so memory does not grow with the study.
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
	multi, err := chooseInstanceRep(c.GetHeader("Accept"), insts, sc.SOPInstanceUID != "")
	if err != nil {
		return err
	}
	if !multi {
		in := insts[0]
		rc, err := s.blobs.Open(ctx, in.BlobKey, 0, -1)
		if err != nil {
			return err
		}
		defer rc.Close()
		c.Header("Content-Type", "application/dicom; transfer-syntax="+in.TransferSyntaxUID)
		c.Header("Content-Length", fmt.Sprint(in.Size))
		c.Status(http.StatusOK)
		copyPooled(c.Writer, rc)
		return nil
	}
	mw := multipart.NewWriter(c.Writer)
	c.Header("Content-Type", `multipart/related; type="application/dicom"; boundary=`+mw.Boundary())
	c.Status(http.StatusOK)
	for _, in := range insts {
		rc, err := s.blobs.Open(ctx, in.BlobKey, 0, -1)
		if err != nil {
			// The status is sent; ending the body early is all that is left to say it.
			s.log.ErrorContext(ctx, "retrieve: blob", "key", in.BlobKey, "err", err)
			return nil
		}
		part, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom; transfer-syntax=" + in.TransferSyntaxUID}})
		if err == nil {
			_, err = copyPooled(part, rc)
		}
		rc.Close()
		if err != nil {
			return nil // the client is gone
		}
	}
	mw.Close()
	return nil
}

// chooseInstanceRep decides between multipart/related; type="application/dicom" and a single
// application/dicom body (one instance only). Files are sent as stored, so the transfer syntax
// asked must be "*" or that of every instance; an Accept without one means Explicit VR Little
// Endian (PS3.18 §8.7.3.5.2), which stored files in other syntaxes cannot satisfy until
// transcoding is built.
func chooseInstanceRep(accept string, insts []queries.StoredInstance, single bool) (multi bool, err error) {
	for _, w := range parseAccept(accept) {
		if !matchesType(w.mediaType, "application/dicom") || (!w.multipart && w.mediaType != "*/*" && !single) {
			continue
		}
		if !transferSyntaxSatisfied(w.transferSyntax, insts) {
			continue
		}
		return w.multipart || w.mediaType == "*/*" || !single, nil
	}
	return false, notAcceptable(accept, `multipart/related; type="application/dicom" (or application/dicom for one instance), in the stored transfer syntax: transfer-syntax=* or `+insts[0].TransferSyntaxUID)
}

func transferSyntaxSatisfied(asked string, insts []queries.StoredInstance) bool {
	if asked == "*" {
		return true
	}
	if asked == "" {
		asked = tsExplicitLE
	}
	for _, in := range insts {
		if in.TransferSyntaxUID != asked {
			return false
		}
	}
	return true
}
