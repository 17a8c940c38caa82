package dicomweb

import (
	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/internal/httperr"
)

// URIRoutes registers the WADO-URI service (PS3.18 §9), mounted at /wado by the command.
func (s *Service) URIRoutes(r gin.IRouter) {
	r.GET("", httperr.Handle(s.log, s.retrieveWADOURI))
}

// Routes registers the whole DICOMweb surface on r (mounted at /dicomweb by the command), in
// PS3.18 order, so that a URL leads straight to its handler.
func (s *Service) Routes(r gin.IRouter) {
	h := func(fn func(c *gin.Context) error) gin.HandlerFunc { return httperr.Handle(s.log, fn) }

	// Retrieve Capabilities (PS3.18), in JSON: built once, from the tables the handlers use.
	r.GET("", h(retrieveCapabilities(capabilitiesJSON())))

	// Retrieve (PS3.18 §10.4): instances, metadata, frames, bulk data.
	r.GET("/studies/:study", h(s.retrieveInstances))
	r.GET("/studies/:study/series/:series", h(s.retrieveInstances))
	r.GET("/studies/:study/series/:series/instances/:instance", h(s.retrieveInstances))
	r.GET("/studies/:study/metadata", h(s.retrieveMetadata))
	r.GET("/studies/:study/series/:series/metadata", h(s.retrieveMetadata))
	r.GET("/studies/:study/series/:series/instances/:instance/metadata", h(s.retrieveMetadata))
	r.GET("/studies/:study/series/:series/instances/:instance/frames/:frames", h(s.retrieveFrames))
	r.GET("/studies/:study/series/:series/instances/:instance/bulkdata/*path", h(s.retrieveBulkData))
	r.GET("/studies/:study/rendered", h(s.retrieveRendered))
	r.GET("/studies/:study/series/:series/rendered", h(s.retrieveRendered))
	r.GET("/studies/:study/series/:series/instances/:instance/rendered", h(s.retrieveRendered))
	r.GET("/studies/:study/series/:series/instances/:instance/frames/:frames/rendered", h(s.retrieveRendered))
	r.GET("/studies/:study/thumbnail", h(s.retrieveThumbnail))
	r.GET("/studies/:study/series/:series/thumbnail", h(s.retrieveThumbnail))
	r.GET("/studies/:study/series/:series/instances/:instance/thumbnail", h(s.retrieveThumbnail))
	r.GET("/studies/:study/series/:series/instances/:instance/frames/:frames/thumbnail", h(s.retrieveThumbnail))

	// Search (PS3.18 §10.6).
	r.GET("/studies", h(s.searchForStudies))
	r.GET("/series", h(s.searchForSeries))
	r.GET("/instances", h(s.searchForInstances))
	r.GET("/studies/:study/series", h(s.searchForSeries))
	r.GET("/studies/:study/instances", h(s.searchForInstances))
	r.GET("/studies/:study/series/:series/instances", h(s.searchForInstances))

	// Store (PS3.18 §10.5).
	r.POST("/studies", h(s.storeInstances))
	r.POST("/studies/:study", h(s.storeInstances))

	// Delete (not in PS3.18; as Microsoft's and Google's servers do).
	r.DELETE("/studies/:study", h(s.deleteStudy))
	r.DELETE("/studies/:study/series/:series", h(s.deleteSeries))
	r.DELETE("/studies/:study/series/:series/instances/:instance", h(s.deleteInstance))
}
