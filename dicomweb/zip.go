package dicomweb

import (
	"archive/zip"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/queries"
)

// wantsZIP reports whether Accept prefers application/zip (PS3.18 §8.7.3.5.1 allows it for the
// Instance resources) over DICOM: the files of a study, series or instance in one ZIP archive.
func wantsZIP(accept string) bool {
	for _, w := range parseAccept(accept) {
		switch {
		case !w.multipart && w.mediaType == "application/zip":
			return true
		case w.mediaType == "*/*", matchesType(w.mediaType, "application/dicom"):
			return false
		}
	}
	return false
}

// writeZIP streams the stored files as a ZIP archive, each as stored, named
// {study}/{series}/{sop}.dcm. Entries are stored, not deflated (DICOM pixel data hardly compresses
// and deflating would cost more CPU than the transfer saves), and written as they are read: the
// archive is never held in memory or on disk, its sizes and CRCs follow each entry.
func (s *Service) writeZIP(c *gin.Context, sc queries.Scope, insts []queries.StoredInstance) error {
	ctx := c.Request.Context()
	// The first file is opened before the status is sent: a file missing under its row is a 500.
	first, err := s.openInstance(ctx, insts[0], insts[0].TransferSyntaxUID)
	if err != nil {
		return err
	}
	c.Header("Content-Type", "application/zip")
	c.Header("Content-Disposition", `attachment; filename="`+zipName(sc)+`"`)
	c.Status(http.StatusOK)
	zw := zip.NewWriter(c.Writer)
	for i, in := range insts {
		w, err := zw.CreateHeader(&zip.FileHeader{
			Name:     in.StudyInstanceUID + "/" + in.SeriesInstanceUID + "/" + in.SOPInstanceUID + ".dcm",
			Method:   zip.Store,
			Modified: time.Now(),
		})
		switch {
		case err != nil && i == 0:
			first.close()
		case err != nil:
		case i == 0:
			err = first.writeTo(w)
		default:
			err = s.writeInstance(ctx, w, in, in.TransferSyntaxUID)
		}
		if err != nil {
			// The status is sent; a cut archive (no central directory) is what the client sees.
			s.log.ErrorContext(ctx, "retrieve: ZIP cut", "sop", in.SOPInstanceUID, "err", err)
			return nil
		}
	}
	if err := zw.Close(); err != nil {
		s.log.ErrorContext(ctx, "retrieve: ZIP cut", "err", err)
	}
	return nil
}

// zipName names the download after the most specific UID of the scope.
func zipName(sc queries.Scope) string {
	switch {
	case sc.SOPInstanceUID != "":
		return sc.SOPInstanceUID + ".zip"
	case sc.SeriesUID != "":
		return sc.SeriesUID + ".zip"
	}
	return sc.StudyUID + ".zip"
}
