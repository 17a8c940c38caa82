package queries

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// Level is the level of a QIDO-RS search.
type Level int

// Levels.
const (
	StudyLevel Level = iota + 1
	SeriesLevel
	InstanceLevel
)

// MatchKind is how a condition matches (PS3.4 §C.2.2.2).
type MatchKind int

// Match kinds.
const (
	MatchExact    MatchKind = iota + 1 // Values[0]
	MatchList                          // any of Values
	MatchWildcard                      // Values[0] with '*' and '?'
	MatchRange                         // Lower ≤ value ≤ Upper; an empty bound is open
)

// Condition is one matching key of a search, by keyword (see searchFields).
type Condition struct {
	Keyword      string
	Kind         MatchKind
	Values       []string
	Lower, Upper string
}

// Search is a QIDO-RS search. The caller validates the values (UIDs, dates, numbers); Search
// turns them into parameterized SQL only.
type Search struct {
	Level Level
	// StudyUID and SeriesUID scope the search to a study or series of the path; an unknown one is
	// ErrNotFound.
	StudyUID, SeriesUID string
	Conditions          []Condition
	// Fuzzy matches person names by word prefixes, ignoring case, accents and component order.
	Fuzzy bool
	// CaseSensitive matches text exactly as stored; by default text is matched ignoring case.
	CaseSensitive bool
	Limit, Offset int
	// WithMetadata also returns stored metadata: the instance's own at instance level, that of the
	// first instance stored at study and series level (for includefield).
	WithMetadata bool
}

// StudyResult is one study found.
type StudyResult struct {
	Study
	Metadata string
}

// SeriesResult is one series found, with its study's attributes.
type SeriesResult struct {
	Series
	Study    Study
	Metadata string
}

// InstanceResult is one instance found, with its series' and study's attributes. Its
// InstanceAttributes carry no Frames or BulkData, and Metadata only when asked.
type InstanceResult struct {
	Instance
	Series Series
	Study  Study
}

// searchField says where a matching key lives and how it compares.
type searchField struct {
	level Level
	col   string // the stored value
	ci    string // its case-folded copy, when there is one
	words string // its fuzzy-matching words, for person names
	class fieldClass
}

type fieldClass int

const (
	classText fieldClass = iota + 1 // LO, SH, PN: case-insensitive by default
	classCode                       // CS: stored upper case; values are upper-cased by default
	classUID
	classDate // DA, TM: strings compared in order
	classInt  // IS
	classModalitiesInStudy
)

// searchFields are the matching keys of PS3.18 Table 6.7.1-1 (and a few more that are indexed).
// Aliases: st = studies, se = series, i = instances.
var searchFields = map[string]searchField{
	"StudyDate":              {StudyLevel, "st.study_date", "", "", classDate},
	"StudyTime":              {StudyLevel, "st.study_time", "", "", classDate},
	"AccessionNumber":        {StudyLevel, "st.accession_number", "st.accession_number_ci", "", classText},
	"ModalitiesInStudy":      {StudyLevel, "", "", "", classModalitiesInStudy},
	"ReferringPhysicianName": {StudyLevel, "st.referring_physician_name", "st.referring_physician_name_ci", "st.referring_physician_name_words", classText},
	"PatientName":            {StudyLevel, "st.patient_name", "st.patient_name_ci", "st.patient_name_words", classText},
	"PatientID":              {StudyLevel, "st.patient_id", "st.patient_id_ci", "", classText},
	"StudyInstanceUID":       {StudyLevel, "st.study_uid", "", "", classUID},
	"StudyID":                {StudyLevel, "st.study_id", "st.study_id_ci", "", classText},
	"StudyDescription":       {StudyLevel, "st.study_description", "st.study_description_ci", "", classText},
	"PatientBirthDate":       {StudyLevel, "st.patient_birth_date", "", "", classDate},
	"PatientSex":             {StudyLevel, "st.patient_sex", "", "", classCode},

	"Modality":                        {SeriesLevel, "se.modality", "", "", classCode},
	"SeriesInstanceUID":               {SeriesLevel, "se.series_uid", "", "", classUID},
	"SeriesNumber":                    {SeriesLevel, "se.series_number", "", "", classInt},
	"SeriesDescription":               {SeriesLevel, "se.series_description", "se.series_description_ci", "", classText},
	"SeriesDate":                      {SeriesLevel, "se.series_date", "", "", classDate},
	"SeriesTime":                      {SeriesLevel, "se.series_time", "", "", classDate},
	"PerformedProcedureStepStartDate": {SeriesLevel, "se.pps_start_date", "", "", classDate},
	"PerformedProcedureStepStartTime": {SeriesLevel, "se.pps_start_time", "", "", classDate},
	"ScheduledProcedureStepID":        {SeriesLevel, "se.scheduled_procedure_step_id", "", "", classText},
	"RequestedProcedureID":            {SeriesLevel, "se.requested_procedure_id", "", "", classText},

	"SOPClassUID":    {InstanceLevel, "i.sop_class_uid", "", "", classUID},
	"SOPInstanceUID": {InstanceLevel, "i.sop_instance_uid", "", "", classUID},
	"InstanceNumber": {InstanceLevel, "i.instance_number", "", "", classInt},
}

// SearchKeywords lists the keywords a Condition may name.
func SearchKeywords() []string {
	out := make([]string, 0, len(searchFields))
	for k := range searchFields {
		out = append(out, k)
	}
	return out
}

// sqlBuilder collects WHERE terms and their arguments as $N placeholders, which both drivers bind.
type sqlBuilder struct {
	engine string // SQLite or Postgres: where the text index is asked for explicitly
	where  []string
	args   []any
	// textMatch holds the trigram index query (FTS5 MATCH) of each condition textPrefilter
	// narrowed, on SQLite.
	textMatch []string
	// instanceModality matches Modality on the instance's copy of it (migration 000006), so that
	// an instance search by Modality needs no series.
	instanceModality bool
}

func (b *sqlBuilder) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

func (b *sqlBuilder) add(format string, args ...any) {
	b.where = append(b.where, fmt.Sprintf(format, args...))
}

func (b *sqlBuilder) whereClause() string {
	if len(b.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(b.where, " AND ")
}

// condition adds one matching key.
func (b *sqlBuilder) condition(c Condition, fuzzy, caseSensitive bool) error {
	f, ok := searchFields[c.Keyword]
	if !ok {
		return fmt.Errorf("queries: %s is not a matching key", c.Keyword)
	}
	if c.Keyword == "Modality" && b.instanceModality {
		f.col = "i.modality"
	}
	if len(c.Values) == 0 && c.Kind != MatchRange {
		return fmt.Errorf("queries: %s: no value", c.Keyword)
	}
	switch f.class {
	case classModalitiesInStudy:
		b.add("EXISTS (SELECT 1 FROM series m WHERE m.study_pk = st.pk AND m.modality IN (%s))",
			b.list(c.Values, func(v string) string { return codeValue(v, caseSensitive) }))
		return nil
	case classInt:
		n, err := strconv.ParseInt(strings.TrimSpace(c.Values[0]), 10, 64)
		if err != nil {
			return fmt.Errorf("queries: %s: %q is not a number", c.Keyword, c.Values[0])
		}
		b.add("%s = %s", f.col, b.arg(n))
		return nil
	case classUID:
		b.add("%s IN (%s)", f.col, b.list(c.Values, nil))
		return nil
	}
	switch c.Kind {
	case MatchRange:
		b.add("%s <> ''", f.col) // an attribute without a value is in no range
		if c.Lower != "" {
			b.add("%s >= %s", f.col, b.arg(c.Lower))
		}
		if c.Upper != "" {
			b.add("%s <= %s", f.col, b.arg(c.Upper))
		}
	case MatchList:
		b.add("%s IN (%s)", f.col, b.list(c.Values, func(v string) string { return codeValue(v, caseSensitive) }))
	case MatchExact, MatchWildcard:
		v := c.Values[0]
		if fuzzy && f.words != "" {
			b.fuzzyName(f.words, v)
			return nil
		}
		col := f.col
		switch {
		case f.class == classCode:
			v = codeValue(v, caseSensitive)
		case f.class == classDate:
			// Digits (and '.' in TM): nothing to fold, and lower() would hide the column's index.
		case !caseSensitive && f.ci != "":
			col, v = f.ci, fold(v)
		case !caseSensitive:
			col, v = "lower("+f.col+")", fold(v)
		}
		if c.Kind == MatchExact {
			b.add("%s = %s", col, b.arg(v))
			return nil
		}
		// A literal prefix of a few characters is narrowed by the B-tree range already.
		if b.wildcard(col, v) < minTrigramRun {
			b.textPrefilter(col, literalRuns(v))
		}
	default:
		return fmt.Errorf("queries: %s: unknown match kind %d", c.Keyword, c.Kind)
	}
	return nil
}

// list binds values for an IN (…) list.
func (b *sqlBuilder) list(values []string, conv func(string) string) string {
	ph := make([]string, len(values))
	for i, v := range values {
		if conv != nil {
			v = conv(v)
		}
		ph[i] = b.arg(v)
	}
	return strings.Join(ph, ", ")
}

// wildcard matches a '*'/'?' pattern with LIKE. The literal prefix before the first wildcard also
// becomes a range, which both engines answer from an index (comparisons are bytewise on both); it
// returns the length of that range's prefix.
func (b *sqlBuilder) wildcard(col, pattern string) int {
	like, prefix := likePattern(pattern)
	// Only the ASCII part of the prefix makes a range: incrementing a byte inside a multi-byte
	// character could make invalid UTF-8, which PostgreSQL refuses.
	if i := strings.IndexFunc(prefix, func(r rune) bool { return r >= 0x80 }); i >= 0 {
		prefix = prefix[:i]
	}
	if prefix != "" {
		b.add("%s >= %s", col, b.arg(prefix))
		if hi, ok := prefixUpperBound(prefix); ok {
			b.add("%s < %s", col, b.arg(hi))
		}
	}
	if like != escapeLike(prefix)+"%" { // a bare ASCII prefix is fully matched by the range
		b.add(`%s LIKE %s ESCAPE '\'`, col, b.arg(like))
	}
	return len(prefix)
}

// fuzzyName matches a person name by words: each word of the value (wildcards dropped) must
// start a word of the stored name, in any order, ignoring case and accents.
func (b *sqlBuilder) fuzzyName(wordsCol, value string) {
	value = strings.NewReplacer("*", " ", "?", " ").Replace(value)
	words := strings.Fields(nameWords(value))
	for _, w := range words {
		b.add(`%s LIKE %s ESCAPE '\'`, wordsCol, b.arg("% "+escapeLike(w)+"%"))
	}
	// The leading space makes the index look for word starts: " li" is a trigram too.
	for i, w := range words {
		words[i] = " " + w
	}
	b.textPrefilter(wordsCol, words)
}

// likePattern turns a DICOM wildcard pattern into a LIKE pattern (escape '\') and returns the
// literal text before the first wildcard.
func likePattern(pattern string) (like, prefix string) {
	var b strings.Builder
	prefixEnd := -1
	for i, r := range pattern {
		switch r {
		case '*':
			b.WriteByte('%')
		case '?':
			b.WriteByte('_')
		default:
			b.WriteString(escapeLike(string(r)))
			continue
		}
		if prefixEnd < 0 {
			prefixEnd = i
		}
	}
	if prefixEnd < 0 {
		prefixEnd = len(pattern)
	}
	return b.String(), pattern[:prefixEnd]
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// prefixUpperBound returns the smallest string greater than every string with the ASCII prefix.
func prefixUpperBound(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0x7F {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// codeValue prepares a CS value: code strings are upper case by definition (PS3.5 §6.2), so the
// value is upper-cased unless matching is case-sensitive.
func codeValue(v string, caseSensitive bool) string {
	if caseSensitive {
		return v
	}
	return strings.ToUpper(v)
}

// conditions adds every condition and the path scope.
func (s *Search) conditions(b *sqlBuilder, studyPK, seriesPK int64) error {
	if seriesPK != 0 {
		b.add("se.pk = %s", b.arg(seriesPK))
	} else if studyPK != 0 {
		b.add("st.pk = %s", b.arg(studyPK))
	}
	for _, c := range s.Conditions {
		if searchFields[c.Keyword].level > s.Level {
			return fmt.Errorf("queries: %s cannot be matched at this level", c.Keyword)
		}
		if err := b.condition(c, s.Fuzzy, s.CaseSensitive); err != nil {
			return err
		}
	}
	return nil
}

// scope resolves the study and series of the path, so that an unknown one is ErrNotFound rather
// than an empty result, and so that the search itself filters on primary keys.
func (s *Store) scope(ctx context.Context, q Search) (studyPK, seriesPK int64, err error) {
	if q.StudyUID == "" {
		return 0, 0, nil
	}
	p, err := s.resolve(ctx, Scope{StudyUID: q.StudyUID, SeriesUID: q.SeriesUID})
	return p.StudyPk, p.SeriesPk, err
}

// page adds ORDER BY, LIMIT and OFFSET; one row more than the limit tells whether there is more.
func (b *sqlBuilder) page(order string, limit, offset int) string {
	if limit <= 0 {
		limit = 100
	}
	return fmt.Sprintf(" ORDER BY %s LIMIT %s OFFSET %s", order, b.arg(limit+1), b.arg(max(offset, 0)))
}

// The orders are over attributes that never change once stored. Newest study first; in a study,
// series and instances by number, without a number last, the UID breaking ties. Unscoped series and
// instance searches list results in the order stored (storedPage): a new series or instance goes
// after every earlier one, so paging with offset neither repeats nor skips one while an archive
// grows, and a page is found by walking a narrow index (migration 000005) however deep it lies.
const (
	studyOrder    = "st.study_date DESC, st.study_time DESC, st.study_uid"
	seriesOrder   = "se.series_number IS NULL, se.series_number, se.series_uid"
	instanceOrder = "i.instance_number IS NULL, i.instance_number, i.sop_instance_uid"
)

// storedPage selects the rows of a page of an unscoped search in two steps: the page's primary
// keys first, from the narrow order index and only the tables the conditions need, then the
// columns of those few rows. OFFSET thus skips index entries, not joined rows.
func (b *sqlBuilder) storedPage(cols, alias, from, joins string, limit, offset int) string {
	keys := "SELECT " + alias + ".pk FROM " + from + b.whereClause() + b.page(alias+".pk", limit, offset)
	return "SELECT " + cols + " FROM (" + keys + ") page " + joins + " ORDER BY " + alias + ".pk"
}

// onlyModality reports whether Modality is the search's one series key and it has no study key.
func (s *Search) onlyModality() bool {
	for _, c := range s.Conditions {
		if l := searchFields[c.Keyword].level; l == StudyLevel || l == SeriesLevel && c.Keyword != "Modality" {
			return false
		}
	}
	return s.needs(SeriesLevel)
}

// needs reports whether a condition of the search matches an attribute of level.
func (s *Search) needs(level Level) bool {
	for _, c := range s.Conditions {
		if searchFields[c.Keyword].level == level {
			return true
		}
	}
	return false
}

// needsSeriesRow reports whether an instance search has a series key other than Modality, which
// instances carry themselves.
func (s *Search) needsSeriesRow() bool {
	for _, c := range s.Conditions {
		if searchFields[c.Keyword].level == SeriesLevel && c.Keyword != "Modality" {
			return true
		}
	}
	return false
}

// oneModality reports whether the search's Modality condition asks for one value exactly: its
// matches are a range of the index of (modality, pk), in the order stored.
func (s *Search) oneModality() bool {
	for _, c := range s.Conditions {
		if c.Keyword == "Modality" {
			return c.Kind == MatchExact || c.Kind == MatchList && len(c.Values) == 1
		}
	}
	return false
}

func trimMore[T any](rows []T, limit int) ([]T, bool) {
	if limit <= 0 {
		limit = 100
	}
	if len(rows) > limit {
		return rows[:limit], true
	}
	return rows, false
}

func (s *Store) query(ctx context.Context, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := s.read.QueryContext(ctx, query, args...)
	return scanRows(rows, err, scan)
}

// scanRows calls scan on each row of a query's result (rows and err, as QueryContext returns
// them), then closes it.
func scanRows(rows *sql.Rows, err error, scan func(*sql.Rows) error) error {
	if err != nil {
		return fmt.Errorf("queries: search: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("queries: search: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("queries: search: %w", err)
	}
	return nil
}
