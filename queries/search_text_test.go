package queries_test

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

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
		if diff := gocmp.Diff(answers[queries.SQLite], answers[queries.Postgres]); diff != "" {
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
	m := referenceMatcher(pattern)
	var names []string
	for _, n := range textNames {
		if n != "" && m.MatchString(strings.ToLower(n)) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// referenceMatcher matches a lower-cased value against a DICOM wildcard pattern, ignoring case.
func referenceMatcher(pattern string) *regexp.Regexp {
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
	return regexp.MustCompile(re.String())
}

// description is the study description of study i of TestStudyDescriptionPages: "knee" in most (enough
// candidates for SQLite to walk the study order), "wrist" in a few, "elbow" in none.
func description(i int) string {
	switch {
	case i%97 == 5:
		return "XR Wrist LEFT"
	case i%10 == 3:
		return "CT CHEST"
	case i%3 == 0:
		return "MRI Knee right"
	default:
		return "mri KNEE LEFT"
	}
}

// TestStudyDescriptionPages pages through StudyDescription infix searches over 1,300 studies on
// both engines and checks each page against the PS3.4 rule and the study order computed here: a
// common word (more candidates than SQLite walks the study order from), a rare one and an absent
// one (candidates sorted), '?' and several runs, deep offsets, and a search with another key.
func TestStudyDescriptionPages(t *testing.T) {
	const studies = 1300
	for _, engine := range querytest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := querytest.Open(t, engine)
			var batch []queries.NewInstance
			for i := range studies {
				uid := fmt.Sprintf("1.8.%05d", i)
				in := instance(uid, uid+".1", uid+".1.1", "MR")
				in.Study.StudyDescription = description(i)
				// Dates repeat and times break their ties, so that the order is not the stored one.
				in.Study.StudyDate = fmt.Sprintf("2019%02d%02d", i%12+1, i%28+1)
				in.Study.StudyTime = fmt.Sprintf("%02d0000", i%24)
				in.Study.PatientID = fmt.Sprintf("P%d", i%2)
				if i%5 == 0 {
					in.Study.PatientName = "Roe^John"
				}
				batch = append(batch, in)
			}
			if err := s.BulkAdd(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			if err := s.Analyze(context.Background()); err != nil {
				t.Fatal(err)
			}
			order := slices.Clone(batch)
			slices.SortFunc(order, func(a, b queries.NewInstance) int {
				return cmp.Or(strings.Compare(b.Study.StudyDate, a.Study.StudyDate),
					strings.Compare(b.Study.StudyTime, a.Study.StudyTime),
					strings.Compare(a.Study.StudyInstanceUID, b.Study.StudyInstanceUID))
			})
			for _, tc := range []struct {
				pattern, patientID string
				offset, limit      int
			}{
				{"*knee*", "", 0, 101}, {"*KNEE*", "", 0, 100}, {"*knee*", "", 150, 50}, {"*knee*", "", 500, 100}, {"*knee*", "", 1050, 100},
				{"*kne?*", "", 0, 50}, {"*knee l*", "", 100, 100}, {"*i*knee*", "", 0, 100}, {"*nee*ight", "", 10, 100},
				{"mri*knee*", "", 0, 100}, {"*knee*", "P1", 0, 100},
				{"*wrist*", "", 0, 100}, {"*wrist*", "", 5, 3}, {"*RIST l*", "", 0, 100},
				{"*elbow*", "", 0, 100}, {"*knee elbow*", "", 0, 100},
			} {
				q := queries.Search{Conditions: []queries.Condition{wild("StudyDescription", tc.pattern)}, Offset: tc.offset, Limit: tc.limit}
				if tc.patientID != "" {
					q.Conditions = append(q.Conditions, exact("PatientID", tc.patientID))
				}
				got, more, err := s.SearchStudies(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				m := referenceMatcher(tc.pattern)
				var all []string
				for _, in := range order {
					if m.MatchString(strings.ToLower(in.Study.StudyDescription)) && (tc.patientID == "" || in.Study.PatientID == tc.patientID) {
						all = append(all, in.Study.StudyInstanceUID)
					}
				}
				want := all[min(tc.offset, len(all)):min(tc.offset+tc.limit, len(all))]
				var uids []string
				for _, r := range got {
					uids = append(uids, r.StudyInstanceUID)
				}
				if diff := gocmp.Diff(want, uids); diff != "" || more != (tc.offset+tc.limit < len(all)) {
					t.Errorf("StudyDescription=%s PatientID=%s offset %d limit %d: more %v of %d (-want +got):\n%s",
						tc.pattern, tc.patientID, tc.offset, tc.limit, more, len(all), diff)
				}
			}
			// Fuzzy names go through the same index: "jan" (1,040 candidates) walks, "roe" (260) does not.
			for _, tc := range []struct {
				value, matches string // the patient name the value matches, if any
				offset, limit  int
			}{{"jan", "Doe^Jane", 0, 100}, {"jan", "Doe^Jane", 900, 100}, {"do ja", "Doe^Jane", 20, 30},
				{"roe", "Roe^John", 0, 100}, {"jo", "Roe^John", 0, 10}, {"zed", "", 0, 100}} {
				q := queries.Search{Fuzzy: true, Conditions: []queries.Condition{exact("PatientName", tc.value)}, Offset: tc.offset, Limit: tc.limit}
				got, _, err := s.SearchStudies(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				var all []string
				for _, in := range order {
					if in.Study.PatientName == tc.matches {
						all = append(all, in.Study.StudyInstanceUID)
					}
				}
				want := all[min(tc.offset, len(all)):min(tc.offset+tc.limit, len(all))]
				var uids []string
				for _, r := range got {
					uids = append(uids, r.StudyInstanceUID)
				}
				if diff := gocmp.Diff(want, uids); diff != "" {
					t.Errorf("fuzzy PatientName=%s offset %d: (-want +got):\n%s", tc.value, tc.offset, diff)
				}
			}
			if engine == queries.SQLite {
				for pattern, walk := range map[string]bool{"*knee*": true, "*wrist*": false, "*elbow*": false} {
					plan, err := s.ExplainSearch(context.Background(), queries.StudyLevel,
						queries.Search{Conditions: []queries.Condition{wild("StudyDescription", pattern)}, Limit: 100})
					if err != nil {
						t.Fatal(err)
					}
					if walked := strings.Contains(plan, "SCAN st USING INDEX studies_order"); walked != walk || !strings.Contains(plan, "studies_text") {
						t.Errorf("StudyDescription=%s: walks the study order %v, want %v:\n%s", pattern, walked, walk, plan)
					}
				}
				plan, err := s.ExplainSearch(context.Background(), queries.StudyLevel,
					queries.Search{Fuzzy: true, Conditions: []queries.Condition{exact("PatientName", "jan")}})
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(plan, "SCAN st USING INDEX studies_order") {
					t.Errorf("fuzzy PatientName=jan does not walk the study order:\n%s", plan)
				}
			}
		})
	}
}
