package dicomweb

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/dicomweb/qido"
	"github.com/medimg/medimg/queries"
)

// QIDO-RS page sizes (PS3.18 §8.3.4.4): the default when a request has no limit, and the largest
// page served (a larger limit is clamped with a Warning).
const (
	DefaultSearchLimit = 100
	MaxSearchLimit     = 1000
)

// The Search transaction, PS3.18 §10.6: six resources, answered from the index alone.

func (s *Service) searchForStudies(c *gin.Context) error { return s.search(c, qido.Study) }

func (s *Service) searchForSeries(c *gin.Context) error { return s.search(c, qido.Series, "study") }

func (s *Service) searchForInstances(c *gin.Context) error {
	return s.search(c, qido.Instance, "study", "series")
}

// search runs a search at level, scoped by whichever of the path parameters the route has.
func (s *Service) search(c *gin.Context, level qido.Level, scopeParams ...string) error {
	if err := acceptsDICOMJSON(c.GetHeader("Accept")); err != nil {
		return err
	}
	var scope []string
	for _, name := range scopeParams {
		if c.Param(name) == "" {
			break // the route without that scope (e.g. /series rather than /studies/{study}/series)
		}
		p, err := pathUIDs(c, name)
		if err != nil {
			return err
		}
		scope = append(scope, p[0])
	}
	values, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		return badRequest("malformed query string: %v", err)
	}
	q, err := qido.Parse(values, level, qido.Options{DefaultLimit: DefaultSearchLimit, MaxLimit: MaxSearchLimit})
	if errors.Is(err, qido.ErrBadParameter) {
		return badRequest("%v", err)
	}
	if err != nil {
		return err
	}
	search := s.storeSearch(q, scope)
	resp := searchResponse{base: s.baseURL(c.Request), query: q}
	var more bool
	switch level {
	case qido.Study:
		var rows []queries.StudyResult
		rows, more, err = s.store.SearchStudies(c.Request.Context(), search)
		resp.studies(rows)
	case qido.Series:
		var rows []queries.SeriesResult
		rows, more, err = s.store.SearchSeries(c.Request.Context(), search)
		resp.series(rows, search.StudyUID == "")
	case qido.Instance:
		var rows []queries.InstanceResult
		rows, more, err = s.store.SearchInstances(c.Request.Context(), search)
		resp.instances(rows, search.StudyUID == "", search.SeriesUID == "")
	}
	if err != nil {
		return err
	}
	for _, w := range q.Warnings {
		c.Writer.Header().Add("Warning", warning(w))
	}
	if more {
		c.Writer.Header().Add("Warning", warning("there are more results than this page; ask again with a larger offset"))
	}
	if len(resp.items) == 0 {
		c.Status(http.StatusNoContent) // PS3.18 §10.6.3: the search succeeded with zero results
		return nil
	}
	c.Data(http.StatusOK, MediaTypeDICOMJSON, resp.marshal())
	return nil
}

// storeSearch turns a parsed query into the store's search.
func (s *Service) storeSearch(q *qido.Query, scope []string) queries.Search {
	search := queries.Search{
		Fuzzy:         q.Fuzzy,
		CaseSensitive: s.cfg.CaseSensitiveSearch,
		Limit:         q.Limit,
		Offset:        q.Offset,
		WithMetadata:  needsMetadata(q),
	}
	if len(scope) > 0 {
		search.StudyUID = scope[0]
	}
	if len(scope) > 1 {
		search.SeriesUID = scope[1]
	}
	for _, c := range q.Conditions {
		search.Conditions = append(search.Conditions, queries.Condition{
			Keyword: c.Keyword,
			Kind:    matchKinds[c.Kind],
			Values:  c.Values,
			Lower:   c.Lower,
			Upper:   c.Upper,
		})
	}
	return search
}

var matchKinds = map[qido.Kind]queries.MatchKind{
	qido.Exact:    queries.MatchExact,
	qido.List:     queries.MatchList,
	qido.Wildcard: queries.MatchWildcard,
	qido.Range:    queries.MatchRange,
}
