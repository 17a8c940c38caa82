package dicomweb

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/internal/httperr"
)

// URIRoutes registers the WADO-URI service (PS3.18 §9), mounted at /wado by the command.
func (s *Service) URIRoutes(r gin.IRouter) {
	r.GET("", httperr.Handle(s.log, s.retrieveWADOURI))
}

// Routes registers the whole DICOMweb surface on r (mounted at /dicomweb by the command): the
// Retrieve Capabilities document and every path of the transactions table it publishes, so that
// what GET /dicomweb says and what is routed are one list.
func (s *Service) Routes(r gin.IRouter) {
	h := func(fn func(c *gin.Context) error) gin.HandlerFunc { return httperr.Handle(s.log, fn) }
	r.GET("", h(retrieveCapabilities(capabilitiesJSON())))
	handlers := map[string]func(c *gin.Context) error{
		"store":              s.storeInstances,
		"search-studies":     s.searchForStudies,
		"search-series":      s.searchForSeries,
		"search-instances":   s.searchForInstances,
		"retrieve-instances": s.retrieveInstances,
		"retrieve-metadata":  s.retrieveMetadata,
		"retrieve-frames":    s.retrieveFrames,
		"retrieve-bulkdata":  s.retrieveBulkData,
		"retrieve-rendered":  s.retrieveRendered,
		"retrieve-thumbnail": s.retrieveThumbnail,
		"delete":             s.deleteResource,
	}
	for _, tx := range transactions {
		if tx.Name == wadoURI {
			continue // URIRoutes, outside /dicomweb
		}
		fn, ok := handlers[tx.Name]
		if !ok {
			panic("dicomweb: no handler for the transaction " + tx.Name) // caught by every test that starts a server
		}
		for _, p := range tx.Paths {
			r.Handle(tx.Method, routeTemplate(p), h(fn))
		}
	}
}

// routeTemplate turns a published path ("/studies/{study}", ".../bulkdata/{path}") into gin's
// (":study", "*path": a bulk data path has slashes).
func routeTemplate(published string) string {
	parts := strings.Split(published, "/")
	for i, part := range parts {
		if name, ok := strings.CutPrefix(part, "{"); ok {
			name = strings.TrimSuffix(name, "}")
			if name == "path" {
				parts[i] = "*" + name
			} else {
				parts[i] = ":" + name
			}
		}
	}
	return strings.Join(parts, "/")
}
