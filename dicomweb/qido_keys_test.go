package dicomweb_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/dicomweb/qido"
	"github.com/medimg/medimg/queries"
)

// The parser's matching keys (qido) and the store's (queries) are one list: a key in one only
// would be accepted and then fail as a 500. Every key the parser accepts is matched by the store
// on both engines, with every kind of value the parser makes of it.
func TestSearchKeysAreOneList(t *testing.T) {
	var parser []string
	for _, a := range qido.Attributes() {
		parser = append(parser, a.Keyword)
	}
	slices.Sort(parser)
	store := queries.SearchKeywords()
	slices.Sort(store)
	if diff := cmp.Diff(parser, store); diff != "" {
		t.Fatalf("matching keys of the parser (-) and of the store (+) differ:\n%s", diff)
	}
	values := map[string][]string{
		"UI": {"1.2.3", "1.2.3,1.2.4"},
		"DA": {"20240102", "20240101-20240103", "-20240103"},
		"TM": {"101500", "100000-110000"},
		"IS": {"1"},
		"CS": {"CT", "C*"},
		"PN": {"Doe^John", "*doe*"},
		"LO": {"P123", "P1*"},
		"SH": {"A100", "A?00"},
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		s.stored(t, generated(t, dicomgen.Spec{}))
		for _, a := range qido.Attributes() {
			vs := values[a.VR]
			if len(vs) == 0 {
				t.Errorf("%s: no sample value for VR %s", a.Keyword, a.VR)
			}
			for _, v := range vs {
				for _, fuzzy := range []string{"", "&fuzzymatching=true"} {
					r := s.qido(t, "/dicomweb/instances?"+a.Keyword+"="+v+fuzzy)
					refused := r.status == http.StatusBadRequest && strings.Contains(r.body, "bad query parameter") // the parser's, not the store's
					if (r.status != http.StatusOK && r.status != http.StatusNoContent && !refused) || len(r.warnings) != 0 {
						t.Errorf("%s=%s%s: %d %q %s", a.Keyword, v, fuzzy, r.status, r.warnings, r.body)
					}
				}
			}
		}
	})
}
