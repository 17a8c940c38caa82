package dicomweb

import (
	"io"
	"mime/multipart"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
)

// copyBuffers hold the buffers that DICOM files and frames are copied through: larger than
// io.Copy's 32 KiB for fewer system calls per file, and reused rather than allocated per copy.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// copyPooled is io.Copy through a pooled buffer.
func copyPooled(dst io.Writer, src io.Reader) (int64, error) {
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	return io.CopyBuffer(dst, src, *buf)
}

// startMultipart begins a 200 multipart/related response whose parts are of partType (PS3.18
// §8.6.1.2). The body starts with the boundary, as cornerstone's parser requires: Go's writer
// writes no preamble.
func startMultipart(c *gin.Context, partType string) *multipart.Writer {
	mw := multipart.NewWriter(c.Writer)
	c.Header("Content-Type", `multipart/related; type="`+partType+`"; boundary=`+mw.Boundary())
	c.Status(http.StatusOK)
	return mw
}

// logCut logs an error met after the status was sent: the client sees a cut body, only the log can
// say why. A client that went away is logged too (at the same level: the server cannot tell it
// from a failing store once the copy fails).
func (s *Service) logCut(c *gin.Context, what string, err error, args ...any) {
	if err != nil {
		args = append(args, "request_id", c.GetString("request_id"), "err", err)
		s.log.ErrorContext(c.Request.Context(), what+": response cut", args...)
	}
}
