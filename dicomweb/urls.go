package dicomweb

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/dicomweb/uids"
	"github.com/medimg/medimg/queries"
)

// baseURL is the absolute URL of the DICOMweb root for links in responses: --public-url when set,
// else the request's own scheme and host. X-Forwarded-* headers are not trusted: behind a proxy,
// set --public-url.
func (s *Service) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/") + "/dicomweb"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/dicomweb"
}

func studyURL(base, study string) string { return base + "/studies/" + study }

func instanceURL(base, study, series, sop string) string {
	return base + "/studies/" + study + "/series/" + series + "/instances/" + sop
}

// pathUIDs reads and validates the UIDs named in the route's path parameters, in order.
func pathUIDs(c *gin.Context, names ...string) ([]string, error) {
	out := make([]string, len(names))
	for i, name := range names {
		v := c.Param(name)
		if err := uids.Validate(v); err != nil {
			return nil, badRequest("%s UID in the path: %v", name, err)
		}
		out[i] = v
	}
	return out, nil
}

// relativeBulkDataURI is how stored metadata writes its BulkDataURIs (dicomweb/ingest): relative to
// the instance, so that the host and --public-url can change after the store.
const relativeBulkDataURI = `"BulkDataURI":"bulkdata/`

// indexRelativeBulkDataURI is strings.Index(md, relativeBulkDataURI), found from the pattern's 'B',
// which Annex F JSON holds few of, and then checked for its quote. strings.Index starts from the
// pattern's first byte, a quote, of which JSON is full, and gives up on that for a brute-force
// scan: a tenth of the CPU time of a large metadata response, twenty times this.
func indexRelativeBulkDataURI(md string) int {
	tail := relativeBulkDataURI[1:]
	for off := 0; ; {
		i := strings.Index(md[off:], tail)
		if i < 0 {
			return -1
		}
		i += off
		if i > 0 && md[i-1] == '"' {
			return i - 1
		}
		off = i + 1
	}
}

// absoluteBulkDataURIs makes the stored metadata's BulkDataURIs absolute under instanceURL.
func absoluteBulkDataURIs(metadata []byte, instanceURL string) []byte {
	return bytes.ReplaceAll(metadata, []byte(relativeBulkDataURI), []byte(`"BulkDataURI":"`+instanceURL+`/bulkdata/`))
}

// scopeFromPath reads and validates the study, series and instance UIDs the route names.
func scopeFromPath(c *gin.Context) (queries.Scope, error) {
	var sc queries.Scope
	for _, p := range []struct {
		name string
		dst  *string
	}{{"study", &sc.StudyUID}, {"series", &sc.SeriesUID}, {"instance", &sc.SOPInstanceUID}} {
		if c.Param(p.name) == "" {
			break
		}
		uid, err := pathUIDs(c, p.name)
		if err != nil {
			return sc, err
		}
		*p.dst = uid[0]
	}
	return sc, nil
}
