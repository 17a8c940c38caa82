package dicomweb

import (
	"net/url"

	"github.com/medimg/medimg/dicomweb/qido"
	"github.com/medimg/medimg/queries"
)

// SearchOf is the store search the server runs for a QIDO-RS query string at level, scoped by the
// path's UIDs, so that benchmarks explain exactly the statement they time.
func SearchOf(level qido.Level, rawQuery string, scope ...string) (queries.Search, error) {
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return queries.Search{}, err
	}
	q, err := qido.Parse(values, level, qido.Options{DefaultLimit: DefaultSearchLimit, MaxLimit: MaxSearchLimit})
	if err != nil {
		return queries.Search{}, err
	}
	return (&Service{}).storeSearch(q, scope), nil
}

// IndexRelativeBulkDataURI is indexRelativeBulkDataURI, for its test against strings.Index.
var IndexRelativeBulkDataURI = indexRelativeBulkDataURI
