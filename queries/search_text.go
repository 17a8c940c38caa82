package queries

import (
	"strings"
	"unicode/utf8"
)

// studiesText maps the study columns that the SQLite trigram index (FTS5 table studies_text, see
// migration 000005) covers to its column names. PostgreSQL needs no such map: its planner uses the
// pg_trgm indexes for a LIKE on these columns by itself.
var studiesText = map[string]string{
	"st.patient_name_ci":                "patient_name_ci",
	"st.patient_name_words":             "patient_name_words",
	"st.patient_id_ci":                  "patient_id_ci",
	"st.accession_number_ci":            "accession_number_ci",
	"st.referring_physician_name_ci":    "referring_physician_name_ci",
	"st.referring_physician_name_words": "referring_physician_name_words",
	"st.study_id_ci":                    "study_id_ci",
	"st.study_description_ci":           "study_description_ci",
}

// minTrigramRun is the shortest text the trigram index can look up.
const minTrigramRun = 3

// textPrefilter narrows a LIKE on col to the studies whose trigram index holds every one of runs
// (texts the value must contain), on SQLite. It only ever removes rows the LIKE would reject too:
// the LIKE, added beside it, still decides. Runs shorter than a trigram cannot be looked up and are
// left to the LIKE alone; with none left, the LIKE reads the table (or walks the order index) as
// it did before the index existed.
func (b *sqlBuilder) textPrefilter(col string, runs []string) {
	ftsCol, ok := studiesText[col]
	if b.engine != SQLite || !ok {
		return
	}
	var phrases []string
	for _, r := range runs {
		if utf8.RuneCountInString(r) >= minTrigramRun {
			phrases = append(phrases, ftsCol+` : "`+strings.ReplaceAll(r, `"`, `""`)+`"`)
		}
	}
	if len(phrases) == 0 {
		return
	}
	b.add("st.pk IN (SELECT rowid FROM studies_text WHERE studies_text MATCH %s)", b.arg(strings.Join(phrases, " AND ")))
}

// literalRuns returns the texts between the wildcards of a DICOM pattern: a value matching the
// pattern contains each of them.
func literalRuns(pattern string) []string {
	return strings.FieldsFunc(pattern, func(r rune) bool { return r == '*' || r == '?' })
}
