package queries

import (
	"context"
	"fmt"
	"strconv"
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
	match := strings.Join(phrases, " AND ")
	b.textMatch = append(b.textMatch, match)
	b.add("st.pk IN (SELECT rowid FROM studies_text WHERE studies_text MATCH %s)", b.arg(match))
}

// A text search's page is found by one of two plans on SQLite: read every candidate the trigram
// index finds, check it and sort them all (the planner's choice), or walk the study order index
// and stop at the page's last row. The walk tests each index entry against the candidates (the
// entry holds the primary key: a study that is not one costs no row read) and reads the rows of
// the candidates it meets only. At a million instances (20,000 studies) the first plan costs about
// 1.3 µs a candidate (3.7 ms for the 2,500 of "*knee*", to keep 101; 2 ms for the 976 of fuzzy
// "smi"), the walk about 80 ns a study it steps over (0.9 and 0.6 ms for those two, 1.5 ms through
// every study). With candidates spread over the order, a walk steps over about studies/candidates
// studies a row of the page; through every study (candidates all at the end of the order) it costs
// what sorting a sixteenth of the studies would. So walkText walks from a candidate per
// textWalkShare studies (the walk then costs at worst four times the sort it avoids, typically 64
// steps a row) and four times the rows to the page's end (a deep page is cheaper sorted), counting
// the candidates up to that many.
const textWalkShare = 64

// walkText reports whether a study search walks the study order: on SQLite, when every condition
// is looked up in the trigram index (another key, such as a date or an ID, narrows by its own
// index) and the candidates are many (see textWalkShare).
func (s *Store) walkText(ctx context.Context, b *sqlBuilder, q Search) (bool, error) {
	if len(b.textMatch) == 0 || len(b.textMatch) != len(q.Conditions) {
		return false, nil
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	// The largest primary key, read from the end of the table, stands for the number of studies.
	var studies int64
	if err := s.read.QueryRowContext(ctx, "SELECT coalesce(max(pk), 0) FROM studies").Scan(&studies); err != nil {
		return false, fmt.Errorf("queries: search: %w", err)
	}
	from := max(studies/textWalkShare, 4*int64(max(q.Offset, 0)+limit+1))
	var n int64
	count := "SELECT count(*) FROM (SELECT 1 FROM studies_text WHERE studies_text MATCH $1 LIMIT " + strconv.FormatInt(from, 10) + ") candidates"
	if err := s.read.QueryRowContext(ctx, count, strings.Join(b.textMatch, " AND ")).Scan(&n); err != nil {
		return false, fmt.Errorf("queries: search: %w", err)
	}
	return n >= from, nil
}

// literalRuns returns the texts between the wildcards of a DICOM pattern: a value matching the
// pattern contains each of them.
func literalRuns(pattern string) []string {
	return strings.FieldsFunc(pattern, func(r rune) bool { return r == '*' || r == '?' })
}
