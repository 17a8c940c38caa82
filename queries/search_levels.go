package queries

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

const studyColumns = `st.study_uid, st.patient_name, st.patient_id, st.patient_birth_date, st.patient_sex,
	st.study_date, st.study_time, st.accession_number, st.referring_physician_name, st.study_id,
	st.study_description, st.modalities_in_study, st.num_series, st.num_instances`

const seriesColumns = `se.series_uid, se.modality, se.series_number, se.series_description, se.series_date,
	se.series_time, se.pps_start_date, se.pps_start_time, se.scheduled_procedure_step_id,
	se.requested_procedure_id, se.num_instances`

const instanceColumns = `i.sop_instance_uid, i.sop_class_uid, i.instance_number, i.transfer_syntax_uid,
	i.num_rows, i.num_columns, i.bits_allocated, i.number_of_frames, i.size_bytes`

// firstMetadata is the metadata of the first instance stored in a study or series (by primary key:
// stable, and answered from the index on the parent key).
const (
	studyFirstMetadata  = `(SELECT f.metadata FROM instances f WHERE f.study_pk = st.pk ORDER BY f.pk LIMIT 1)`
	seriesFirstMetadata = `(SELECT f.metadata FROM instances f WHERE f.series_pk = se.pk ORDER BY f.pk LIMIT 1)`
)

// SearchStudies runs a study-level search. more reports results beyond the page.
func (s *Store) SearchStudies(ctx context.Context, q Search) (results []StudyResult, more bool, err error) {
	query, args, err := s.studyStatement(ctx, q)
	if err != nil {
		return nil, false, err
	}
	err = s.query(ctx, query, args, func(rows *sql.Rows) error {
		var r StudyResult
		var modalities string
		if err := rows.Scan(append(studyDest(&r.Study, &modalities), &r.Metadata)...); err != nil {
			return err
		}
		r.ModalitiesInStudy = splitModalities(modalities)
		results = append(results, r)
		return nil
	})
	results, more = trimMore(results, q.Limit)
	return results, more, err
}

// SearchSeries runs a series-level search, across studies or in q.StudyUID.
func (s *Store) SearchSeries(ctx context.Context, q Search) (results []SeriesResult, more bool, err error) {
	studyPK, _, err := s.scope(ctx, Search{StudyUID: q.StudyUID})
	if err != nil {
		return nil, false, err
	}
	query, args, err := seriesSQL(q, studyPK, s.engine)
	if err != nil {
		return nil, false, err
	}
	err = s.query(ctx, query, args, func(rows *sql.Rows) error {
		var r SeriesResult
		var number sql.NullInt64
		var modalities string
		dest := seriesDest(&r.Series, &number)
		dest = append(dest, studyDest(&r.Study, &modalities)...)
		if err := rows.Scan(append(dest, &r.Metadata)...); err != nil {
			return err
		}
		r.SeriesNumber = intPtr(number)
		r.Study.ModalitiesInStudy = splitModalities(modalities)
		r.StudyInstanceUID = r.Study.StudyInstanceUID
		results = append(results, r)
		return nil
	})
	results, more = trimMore(results, q.Limit)
	return results, more, err
}

// SearchInstances runs an instance-level search, across studies, in q.StudyUID, or in
// q.StudyUID's series q.SeriesUID.
func (s *Store) SearchInstances(ctx context.Context, q Search) (results []InstanceResult, more bool, err error) {
	studyPK, seriesPK, err := s.scope(ctx, Search{StudyUID: q.StudyUID, SeriesUID: q.SeriesUID})
	if err != nil {
		return nil, false, err
	}
	query, args, err := s.instanceStatement(ctx, q, studyPK, seriesPK)
	if err != nil {
		return nil, false, err
	}
	err = s.query(ctx, query, args, func(rows *sql.Rows) error {
		var r InstanceResult
		var instNumber, seriesNumber sql.NullInt64
		var modalities string
		a := &r.InstanceAttributes
		dest := []any{&a.SOPInstanceUID, &a.SOPClassUID, &instNumber, &a.TransferSyntaxUID, &a.Rows, &a.Columns,
			&a.BitsAllocated, &a.NumberOfFrames, &a.Size}
		dest = append(dest, seriesDest(&r.Series, &seriesNumber)...)
		dest = append(dest, studyDest(&r.Study, &modalities)...)
		if err := rows.Scan(append(dest, &a.Metadata)...); err != nil {
			return err
		}
		a.InstanceNumber, r.Series.SeriesNumber = intPtr(instNumber), intPtr(seriesNumber)
		r.Study.ModalitiesInStudy = splitModalities(modalities)
		r.Series.StudyInstanceUID = r.Study.StudyInstanceUID
		r.StudyInstanceUID, r.SeriesInstanceUID = r.Study.StudyInstanceUID, r.Series.SeriesInstanceUID
		results = append(results, r)
		return nil
	})
	results, more = trimMore(results, q.Limit)
	return results, more, err
}

// studyStatement, seriesSQL and instanceStatement build the search statements (also for
// ExplainSearch). A study search whose keys are all looked up in the trigram index walks the
// study order when the index finds many candidates (see walkText).
func (s *Store) studyStatement(ctx context.Context, q Search) (string, []any, error) {
	q.Level = StudyLevel
	b := sqlBuilder{engine: s.engine}
	if err := q.conditions(&b, 0, 0); err != nil {
		return "", nil, err
	}
	from := "studies st"
	if walk, err := s.walkText(ctx, &b, q); err != nil {
		return "", nil, err
	} else if walk {
		from = "studies st INDEXED BY studies_order"
	}
	cols := studyColumns + ", " + metadataColumn(q.WithMetadata, studyFirstMetadata)
	return "SELECT " + cols + " FROM " + from + b.whereClause() + b.page(studyOrder, q.Limit, q.Offset), b.args, nil
}

func seriesSQL(q Search, studyPK int64, engine string) (string, []any, error) {
	q.Level = SeriesLevel
	b := sqlBuilder{engine: engine}
	if err := q.conditions(&b, studyPK, 0); err != nil {
		return "", nil, err
	}
	cols := seriesColumns + ", " + studyColumns + ", " + metadataColumn(q.WithMetadata, seriesFirstMetadata)
	if studyPK != 0 {
		return "SELECT " + cols + " FROM series se JOIN studies st ON st.pk = se.study_pk" +
			b.whereClause() + b.page(seriesOrder, q.Limit, q.Offset), b.args, nil
	}
	from := "series se"
	if q.needs(StudyLevel) {
		from = "studies st CROSS JOIN series se"
		b.add("se.study_pk = st.pk")
	}
	return b.storedPage(cols, "se", from, "JOIN series se ON se.pk = page.pk JOIN studies st ON st.pk = se.study_pk",
		q.Limit, q.Offset), b.args, nil
}

// The keys of an unscoped page are found by one of two plans: walk the stored order and keep the
// rows whose parents match, or read the matching parents first and sort their children. The
// first wins when many rows match, the second when few do, and SQLite's planner, which does not
// weigh the LIMIT, does not tell them apart: CROSS JOIN fixes SQLite's join order (on PostgreSQL
// it is an inner join its planner orders by statistics). Study keys (patients, accessions, dates,
// UIDs) narrow to few studies, and so do series keys, but for Modality: a handful of values, most
// shared by a large part of an archive, but some by few series or none. Instances carry their
// series' Modality, so one Modality is a range of the index of (modality, pk), in the order
// stored, however deep the page. Several (a list, a wildcard) are not: which plan they take,
// SQLite learns by counting the matches up to modalityWalkFrom (a bounded walk of two covering
// indexes).
const modalityWalkFrom = 2000

// instanceStatement is instanceSQL with the plan for a Modality search chosen by counting.
func (s *Store) instanceStatement(ctx context.Context, q Search, studyPK, seriesPK int64) (string, []any, error) {
	walk := s.engine == SQLite && studyPK == 0 && q.onlyModality() && !q.oneModality()
	if walk {
		b := sqlBuilder{engine: s.engine}
		q.Level = InstanceLevel
		if err := q.conditions(&b, 0, 0); err != nil {
			return "", nil, err
		}
		b.add("i.series_pk = se.pk")
		var n int
		count := "SELECT count(*) FROM (SELECT 1 FROM series se CROSS JOIN instances i" + b.whereClause() +
			" LIMIT " + strconv.Itoa(modalityWalkFrom) + ") matches"
		if err := s.read.QueryRowContext(ctx, count, b.args...).Scan(&n); err != nil {
			return "", nil, fmt.Errorf("queries: search: %w", err)
		}
		walk = n >= modalityWalkFrom
	}
	return instanceSQL(q, studyPK, seriesPK, walk, s.engine)
}

// seriesLookup adds the conditions of an unscoped instance search with its series keys in one
// correlated lookup of each instance's series: walking the stored order, SQLite then reads the
// series by primary key for each instance it meets, where a join builds a Bloom filter of every
// matching series first (35 times slower for a common modality at a million instances).
func (s *Search) seriesLookup(b *sqlBuilder) error {
	own, series := *s, Search{Level: SeriesLevel, Fuzzy: s.Fuzzy, CaseSensitive: s.CaseSensitive}
	own.Conditions = nil
	for _, c := range s.Conditions {
		if searchFields[c.Keyword].level == SeriesLevel {
			series.Conditions = append(series.Conditions, c)
		} else {
			own.Conditions = append(own.Conditions, c)
		}
	}
	if err := own.conditions(b, 0, 0); err != nil {
		return err
	}
	sub := sqlBuilder{engine: b.engine, args: b.args}
	if err := series.conditions(&sub, 0, 0); err != nil {
		return err
	}
	b.args = sub.args
	b.add("(SELECT 1 FROM series se WHERE se.pk = i.series_pk AND %s) = 1", strings.Join(sub.where, " AND "))
	return nil
}

// instanceSQL builds an instance search; walk (SQLite only): a search by several Modality values
// walks the stored order.
func instanceSQL(q Search, studyPK, seriesPK int64, walk bool, engine string) (string, []any, error) {
	q.Level = InstanceLevel
	b := sqlBuilder{engine: engine, instanceModality: true}
	if walk {
		if err := q.seriesLookup(&b); err != nil {
			return "", nil, err
		}
	} else if err := q.conditions(&b, studyPK, seriesPK); err != nil {
		return "", nil, err
	}
	cols := instanceColumns + ", " + seriesColumns + ", " + studyColumns + ", " + metadataColumn(q.WithMetadata, "i.metadata")
	joins := "JOIN series se ON se.pk = i.series_pk JOIN studies st ON st.pk = i.study_pk"
	if studyPK != 0 {
		order := seriesOrder + ", " + instanceOrder
		if seriesPK != 0 {
			order = instanceOrder
		}
		return "SELECT " + cols + " FROM instances i " + joins + b.whereClause() + b.page(order, q.Limit, q.Offset), b.args, nil
	}
	from := "instances i"
	switch {
	case q.needs(StudyLevel):
		from = "studies st CROSS JOIN instances i"
		b.add("i.study_pk = st.pk")
		if q.needsSeriesRow() {
			from += " CROSS JOIN series se"
			b.add("se.pk = i.series_pk")
		}
	case walk: // the series keys are in the lookup seriesLookup added
	case q.needsSeriesRow():
		from = "series se CROSS JOIN instances i"
		b.add("i.series_pk = se.pk")
	}
	return b.storedPage(cols, "i", from, "JOIN instances i ON i.pk = page.pk "+joins, q.Limit, q.Offset), b.args, nil
}

// ExplainSearch returns the engine's query plan of a search at level (EXPLAIN QUERY PLAN on
// SQLite, EXPLAIN on PostgreSQL), to check that searches use indexes.
func (s *Store) ExplainSearch(ctx context.Context, level Level, q Search) (string, error) {
	studyPK, seriesPK, err := s.scope(ctx, q)
	if err != nil {
		return "", err
	}
	var query string
	var args []any
	switch level {
	case StudyLevel:
		query, args, err = s.studyStatement(ctx, q)
	case SeriesLevel:
		query, args, err = seriesSQL(q, studyPK, s.engine)
	default:
		query, args, err = s.instanceStatement(ctx, q, studyPK, seriesPK)
	}
	if err != nil {
		return "", err
	}
	prefix := "EXPLAIN "
	if s.engine == SQLite {
		prefix = "EXPLAIN QUERY PLAN "
	}
	rows, err := s.read.QueryContext(ctx, prefix+query, args...)
	if err != nil {
		return "", fmt.Errorf("queries: explain: %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var plan strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", fmt.Errorf("queries: explain: %w", err)
		}
		fmt.Fprintln(&plan, vals[len(vals)-1])
	}
	return plan.String(), rows.Err()
}

// metadataColumn selects stored metadata only when it is wanted: it is the widest column.
func metadataColumn(want bool, expr string) string {
	if want {
		return "COALESCE(" + expr + ", '')"
	}
	return "''"
}

// studyDest and seriesDest are the scan targets of studyColumns and seriesColumns.
func studyDest(st *Study, modalities *string) []any {
	a := &st.StudyAttributes
	return []any{&a.StudyInstanceUID, &a.PatientName, &a.PatientID, &a.PatientBirthDate, &a.PatientSex,
		&a.StudyDate, &a.StudyTime, &a.AccessionNumber, &a.ReferringPhysicianName, &a.StudyID, &a.StudyDescription,
		modalities, &st.NumSeries, &st.NumInstances}
}

func seriesDest(se *Series, number *sql.NullInt64) []any {
	a := &se.SeriesAttributes
	return []any{&a.SeriesInstanceUID, &a.Modality, number, &a.SeriesDescription, &a.SeriesDate, &a.SeriesTime,
		&a.PerformedProcedureStepStartDate, &a.PerformedProcedureStepStartTime, &a.ScheduledProcedureStepID,
		&a.RequestedProcedureID, &se.NumInstances}
}

func splitModalities(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, `\`)
}

// Analyze refreshes the planner's statistics (ANALYZE on both engines), as after a bulk load. On
// PostgreSQL it also vacuums, which sets the visibility map that index-only scans of the order
// indexes rely on (autovacuum would, later); on SQLite it merges the trigram index.
func (s *Store) Analyze(ctx context.Context) error {
	stmt := "ANALYZE"
	if s.engine == Postgres {
		stmt = "VACUUM ANALYZE"
	}
	if _, err := s.write.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("queries: analyze: %w", err)
	}
	if s.engine == SQLite {
		// A bulk load leaves the trigram index in many small segments; merged, a lookup reads one.
		if _, err := s.write.ExecContext(ctx, "INSERT INTO studies_text (studies_text) VALUES ('optimize')"); err != nil {
			return fmt.Errorf("queries: optimize text index: %w", err)
		}
	}
	return nil
}
