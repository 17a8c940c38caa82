package dicomweb

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
)

// The deletes remove the index rows first, in one transaction, and then the blobs: a reader never
// finds a row whose file is gone. A blob whose delete fails stays as an orphan for the sweep.

// deleteResource deletes the study, series or instance its route names.
func (s *Service) deleteResource(c *gin.Context) error {
	switch {
	case c.Param("instance") != "":
		return s.deleteInstance(c)
	case c.Param("series") != "":
		return s.deleteSeries(c)
	}
	return s.deleteStudy(c)
}

func (s *Service) deleteStudy(c *gin.Context) error {
	p, err := pathUIDs(c, "study")
	if err != nil {
		return err
	}
	keys, err := s.store.DeleteStudy(c.Request.Context(), p[0])
	return s.finishDelete(c, keys, err)
}

func (s *Service) deleteSeries(c *gin.Context) error {
	p, err := pathUIDs(c, "study", "series")
	if err != nil {
		return err
	}
	keys, err := s.store.DeleteSeries(c.Request.Context(), p[0], p[1])
	return s.finishDelete(c, keys, err)
}

func (s *Service) deleteInstance(c *gin.Context) error {
	p, err := pathUIDs(c, "study", "series", "instance")
	if err != nil {
		return err
	}
	keys, err := s.store.DeleteInstance(c.Request.Context(), p[0], p[1], p[2])
	return s.finishDelete(c, keys, err)
}

func (s *Service) finishDelete(c *gin.Context, keys []string, err error) error {
	if err != nil {
		return err
	}
	s.deleteBlobs(c.Request.Context(), keys)
	c.Status(http.StatusNoContent)
	return nil
}

// deleteBlobs removes blobs whose rows are gone; failures are logged, and the orphan sweep retries.
func (s *Service) deleteBlobs(ctx context.Context, keys []string) {
	ctx = context.WithoutCancel(ctx) // the rows are gone: finish even if the client hangs up
	for _, k := range keys {
		if err := s.blobs.Delete(ctx, k); err != nil {
			s.log.WarnContext(ctx, "blob not deleted; the orphan sweep will retry", "key", k, "err", err)
		}
	}
}
