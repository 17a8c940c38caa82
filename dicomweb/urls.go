package dicomweb

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/dicomweb/uids"
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
