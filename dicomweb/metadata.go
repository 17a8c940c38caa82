package dicomweb

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/queries"
)

// retrieveMetadata is the Metadata resource of the Retrieve transaction (PS3.18 §10.4.1.1.2) at
// study, series and instance level: the stored PS3.18 Annex F JSON of each instance, assembled in
// one query, BulkDataURIs made absolute. No file is read.
func (s *Service) retrieveMetadata(c *gin.Context) error {
	sc, err := scopeFromPath(c)
	if err != nil {
		return err
	}
	if err := acceptsDICOMJSON(c.GetHeader("Accept")); err != nil {
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
	base := s.baseURL(c.Request)
	etag := metadataETag(base, insts)
	h := c.Writer.Header()
	h.Set("ETag", etag)
	h.Set("Vary", "Accept-Encoding")
	h.Set("Cache-Control", "no-cache") // revalidate with If-None-Match: the study may change
	if etagMatches(c.GetHeader("If-None-Match"), etag) {
		c.Status(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", MediaTypeDICOMJSON)
	var w io.Writer = c.Writer
	if acceptsGzip(c.GetHeader("Accept-Encoding")) {
		gz := gzipWriters.Get().(*gzip.Writer)
		gz.Reset(c.Writer)
		defer func() {
			s.logCut(c, "metadata", gz.Close(), "scope", sc.String())
			gzipWriters.Put(gz)
		}()
		h.Set("Content-Encoding", "gzip")
		w = gz
	}
	c.Status(http.StatusOK)
	_, err = io.WriteString(w, "[")
	n := 0
	if err == nil {
		err = s.store.EachMetadata(ctx, sc, func(series, sop, md string) error {
			if n > 0 {
				if _, err := io.WriteString(w, ","); err != nil {
					return err
				}
			}
			n++
			_, err := w.Write(absoluteBulkDataURIs([]byte(md), instanceURL(base, sc.StudyUID, series, sop)))
			return err
		})
	}
	if err == nil {
		_, err = io.WriteString(w, "]")
	}
	// The status is sent: the client sees a cut body; the log has why.
	s.logCut(c, "metadata", err, "scope", sc.String())
	return nil
}

// gzipWriters reuse compressors: a new one allocates hundreds of kilobytes.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// metadataETag identifies the metadata a response would carry: the instances and their content,
// and the base URL that the BulkDataURIs hold.
func metadataETag(base string, insts []queries.StoredInstance) string {
	h := sha256.New()
	_, _ = io.WriteString(h, base) // a hash's Write never fails
	for _, in := range insts {
		_, _ = io.WriteString(h, "\x00"+in.SOPInstanceUID+"\x00"+in.SHA256)
	}
	return `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
}

// etagMatches implements If-None-Match (RFC 9110 §13.1.2): a list of tags, weak or strong, or *.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether Accept-Encoding allows gzip (and does not refuse it with q=0).
func acceptsGzip(header string) bool {
	for _, item := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(item), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		key, q, ok := strings.Cut(strings.ReplaceAll(params, " ", ""), "=")
		if !ok || !strings.EqualFold(key, "q") {
			return true
		}
		f, err := strconv.ParseFloat(q, 64)
		return err == nil && f > 0
	}
	return false
}
