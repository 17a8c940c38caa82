package dicomweb

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/dicomweb/ingest"
)

// retrieveBulkData serves the BulkDataURIs of stored metadata (PS3.18 §10.4.1.1.5): one ranged
// read of the value's bytes in the stored file, located at store time. A single-part response
// honours an HTTP Range (one range), for viewers that load pixel data progressively.
func (s *Service) retrieveBulkData(c *gin.Context) error {
	sc, err := scopeFromPath(c)
	if err != nil {
		return err
	}
	path := strings.Trim(c.Param("path"), "/")
	ctx := c.Request.Context()
	src, err := s.store.GetFrameSource(ctx, sc)
	if err != nil {
		return err
	}
	var index map[string][2]int64
	if err := json.Unmarshal([]byte(src.BulkData), &index); err != nil {
		return fmt.Errorf("dicomweb: bulk data index of %s: %w", sc, err)
	}
	rng, ok := index[path]
	if !ok {
		return errorf(http.StatusNotFound, "not_found", "no bulk data %q in %s", path, sc)
	}
	offset, length := rng[0], rng[1]
	single, ok := chooseBulkDataRep(c.GetHeader("Accept"))
	if !ok {
		return notAcceptable(c.GetHeader("Accept"), `multipart/related; type="application/octet-stream" or application/octet-stream`)
	}
	c.Header("Cross-Origin-Resource-Policy", "cross-origin")
	if !single {
		rc, err := s.blobs.Open(ctx, src.BlobKey, offset, length)
		if err != nil {
			return fmt.Errorf("dicomweb: stored file of %s: %w", sc, err)
		}
		defer rc.Close()
		mw := startMultipart(c, "application/octet-stream")
		part, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/octet-stream"}})
		if err == nil {
			_, err = copyPooled(part, rc)
		}
		if err == nil {
			err = mw.Close()
		}
		s.logCut(c, "bulk data", err, "key", src.BlobKey)
		return nil
	}
	return s.serveRange(c, src.BlobKey, ingest.Range{Offset: offset, Length: length}, "application/octet-stream")
}

// serveRange sends one stored byte range as a single-part body, honouring an HTTP Range within it
// (206 with Content-Range; 416 when unsatisfiable), so viewers can load pixel data progressively.
func (s *Service) serveRange(c *gin.Context, key string, value ingest.Range, contentType string) error {
	start, end, partial, err := parseRange(c.GetHeader("Range"), value.Length)
	if err != nil {
		c.Header("Content-Range", fmt.Sprintf("bytes */%d", value.Length))
		return errorf(http.StatusRequestedRangeNotSatisfiable, "range_not_satisfiable", "%v", err)
	}
	rc, err := s.blobs.Open(c.Request.Context(), key, value.Offset+start, end-start)
	if err != nil {
		return fmt.Errorf("dicomweb: stored file: %w", err)
	}
	defer rc.Close()
	c.Header("Content-Type", contentType)
	c.Header("Accept-Ranges", "bytes")
	c.Header("Content-Length", strconv.FormatInt(end-start, 10))
	status := http.StatusOK
	if partial {
		c.Header("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, value.Length))
		status = http.StatusPartialContent
	}
	c.Status(status)
	_, err = copyPooled(c.Writer, rc)
	s.logCut(c, "byte range", err, "key", key)
	return nil
}

// chooseBulkDataRep picks single-part application/octet-stream or the multipart/related default.
func chooseBulkDataRep(accept string) (single, ok bool) {
	for _, w := range parseAccept(accept) {
		if matchesType(w.mediaType, "application/octet-stream") {
			return !w.multipart && w.mediaType != "*/*", true
		}
	}
	return false, false
}

// parseRange reads a single byte range (RFC 9110 §14.1.2) of a value of size bytes, returning
// [start, end). No header, or several ranges, is the whole value.
func parseRange(header string, size int64) (start, end int64, partial bool, err error) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(header), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, size, false, nil
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, size, false, nil
	}
	switch {
	case first == "": // the last n bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false, fmt.Errorf("range %q is not satisfiable", header)
		}
		return max(size-n, 0), size, true, nil
	default:
		start, err = strconv.ParseInt(first, 10, 64)
		if err != nil || start < 0 || start >= size {
			return 0, 0, false, fmt.Errorf("range %q starts past the %d bytes of the value", header, size)
		}
		end = size
		if last != "" {
			l, err := strconv.ParseInt(last, 10, 64)
			if err != nil || l < start {
				return 0, 0, false, fmt.Errorf("range %q is not satisfiable", header)
			}
			end = min(l+1, size)
		}
		return start, end, true, nil
	}
}
