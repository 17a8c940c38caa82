package queries_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
)

// textNames are patient names whose infix and fuzzy matches differ by case, accents, non-Latin
// scripts, component separators and look-alikes, for the engines and the trigram prefilter.
var textNames = []string{
	"Smith^John", "SMITHSON^JANE", "Goldsmith^Anna", "Müller^Jürgen", "MÜLLER^Hans", "Mueller^Jörg",
	"Ødegaard^Åse", "Ivanova^Анна", "ИВАНОВ^Пётр", "Tanaka^Hiro=田中^博", "O'Brien^Seán", "Li^Mo",
	"Lefèvre^Chloé", "smith^jo^van", "Dubois^Jean-Luc", "Kim^", "",
}

func loadTextNames(t *testing.T, s *queries.Store) {
	t.Helper()
	for i, name := range textNames {
		uid := fmt.Sprintf("1.9.%d", i+1)
		in := instance(uid, uid+".1", uid+".1.1", "CT")
		in.Study.PatientName = name
		in.Study.StudyDate = fmt.Sprintf("2020%02d01", i%12+1)
		mustAdd(t, s, in)
	}
}

// TestTextSearchAgreesAcrossEngines runs infix, '?' and fuzzy name searches on both engines (SQLite
// through the FTS5 trigram prefilter, PostgreSQL through pg_trgm) and checks each answer against
// the PS3.4 rule computed here: wildcards over the name lower-cased, every other character literal.
func TestTextSearchAgreesAcrossEngines(t *testing.T) {
	patterns := []string{"*smith*", "*SMITH*", "*mith*", "*ith^j*", "*ül*", "*üller*", "*ÜLLER^H*", "*ødeg*", "*анн*",
		"*ИВАН*", "*田中*", "*'br*", "*e?n*", "*m?ll*", "*s*", "*mo", "smith*", "*-luc", "*i*a*", "*^*", "*è*"}
	fuzzy := []string{"smi", "jo", "j smi", "muller", "MÜL", "анна", "пётр", "ode", "hiro", "田中", "van smith", "chl", "x"}
	answers := map[string]map[string][]string{}
	for _, engine := range querytest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := querytest.Open(t, engine)
			loadTextNames(t, s)
			got := map[string][]string{}
			for _, p := range patterns {
				got["wildcard "+p] = searchNames(t, s, queries.Search{Conditions: []queries.Condition{wild("PatientName", p)}})
				if want := wildcardReference(p); !slices.Equal(got["wildcard "+p], want) {
					t.Errorf("PatientName=%s: got %q, want %q", p, got["wildcard "+p], want)
				}
			}
			for _, v := range fuzzy {
				got["fuzzy "+v] = searchNames(t, s, queries.Search{Fuzzy: true, Conditions: []queries.Condition{exact("PatientName", v)}})
			}
			answers[engine] = got
		})
	}
	if len(answers) == 2 {
		if diff := cmp.Diff(answers[queries.SQLite], answers[queries.Postgres]); diff != "" {
			t.Errorf("engines disagree (-sqlite +postgres):\n%s", diff)
		}
	}
	// A few fuzzy answers by hand: word prefixes, any order, accents and case ignored.
	want := map[string][]string{
		"fuzzy j smi":  {"SMITHSON^JANE", "Smith^John", "smith^jo^van"},
		"fuzzy muller": {"MÜLLER^Hans", "Müller^Jürgen"},
		"fuzzy анна":   {"Ivanova^Анна"},
		"fuzzy jo":     {"Mueller^Jörg", "Smith^John", "smith^jo^van"},
		"fuzzy x":      nil,
	}
	for engine, got := range answers {
		for k, w := range want {
			if !slices.Equal(got[k], w) {
				t.Errorf("%s: %s: got %q, want %q", engine, k, got[k], w)
			}
		}
	}
}

// searchNames returns the patient names found, sorted.
func searchNames(t *testing.T, s *queries.Store, q queries.Search) []string {
	t.Helper()
	q.Limit = 1000
	rows, _, err := s.SearchStudies(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rows {
		names = append(names, r.PatientName)
	}
	slices.Sort(names)
	return names
}

// wildcardReference is PS3.4 §C.2.2.2.4 wildcard matching, ignoring case as the server does.
func wildcardReference(pattern string) []string {
	var re strings.Builder
	re.WriteString("^")
	for _, r := range strings.ToLower(pattern) {
		switch r {
		case '*':
			re.WriteString(".*")
		case '?':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	re.WriteString("$")
	m := regexp.MustCompile(re.String())
	var names []string
	for _, n := range textNames {
		if n != "" && m.MatchString(strings.ToLower(n)) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}
