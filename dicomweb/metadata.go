package dicomweb

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
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
	base := s.baseURL(c.Request)
	etag := newMetadataETag(base)
	list, err := s.store.ListMetadata(ctx, sc, etag.add)
	if err != nil {
		return err
	}
	if list.Len() == 0 {
		return errorf(http.StatusNotFound, "not_found", "%s has no instances", sc)
	}
	tag := etag.String()
	h := c.Writer.Header()
	h.Set("ETag", tag)
	h.Set("Vary", "Accept-Encoding")
	h.Set("Cache-Control", "no-cache") // revalidate with If-None-Match: the study may change
	if etagMatches(c.GetHeader("If-None-Match"), tag) {
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
	// Instances are written piece by piece (JSON, then each URL): buffered, so that the compressor
	// or the connection sees large writes.
	bw := bufWriters.Get().(*bufio.Writer)
	bw.Reset(w)
	defer func() {
		bw.Reset(nil)
		bufWriters.Put(bw)
	}()
	bw.WriteString("[")
	n := 0
	err = s.store.EachMetadata(ctx, list, func(series, sop, md string) error {
		if n > 0 {
			bw.WriteString(",")
		}
		n++
		return writeMetadata(bw, md, instanceURL(base, sc.StudyUID, series, sop))
	})
	if err == nil {
		bw.WriteString("]")
		err = bw.Flush()
	}
	// The status is sent: the client sees a cut body; the log has why.
	s.logCut(c, "metadata", err, "scope", sc.String())
	return nil
}

// writeMetadata writes one instance's stored metadata with its BulkDataURIs made absolute under
// instanceURL, as absoluteBulkDataURIs does, without a copy of the metadata.
func writeMetadata(w *bufio.Writer, md, instanceURL string) error {
	for {
		i := indexRelativeBulkDataURI(md)
		if i < 0 {
			_, err := w.WriteString(md)
			return err
		}
		w.WriteString(md[:i])
		w.WriteString(`"BulkDataURI":"`)
		w.WriteString(instanceURL)
		w.WriteString(`/bulkdata/`)
		md = md[i+len(relativeBulkDataURI):]
	}
}

// bufWriters reuse the buffers of metadata responses.
var bufWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 32<<10) }}

// gzipWriters reuse compressors: a new one allocates hundreds of kilobytes.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// metadataETag identifies the metadata a response would carry: the instances and their content,
// and the base URL that the BulkDataURIs hold.
type metadataETag struct{ h hash.Hash }

func newMetadataETag(base string) metadataETag {
	h := sha256.New()
	_, _ = io.WriteString(h, base) // a hash's Write never fails
	return metadataETag{h}
}

// add counts one instance in, by its SOP Instance UID and content hash.
func (e metadataETag) add(sopUID, sha []byte) {
	_, _ = e.h.Write([]byte{0})
	_, _ = e.h.Write(sopUID)
	_, _ = e.h.Write([]byte{0})
	_, _ = e.h.Write(sha)
}

func (e metadataETag) String() string {
	return `"` + hex.EncodeToString(e.h.Sum(nil)[:16]) + `"`
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
