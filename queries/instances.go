package queries

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/medimg/medimg/queries/internal/sqlcdb"
)

// AddInstance records a stored instance: the study and series rows are created or reused, the
// instance row inserted and the aggregates (counts, ModalitiesInStudy) updated, all committed when
// it returns. An instance whose SOP Instance UID is already stored is ErrDuplicate unless replace
// is set; then the old row is replaced and its blob key returned, for the caller to delete after
// this commit. A series stored under another study is ErrConflict. Concurrent calls share one
// transaction (see QueueInstance).
func (s *Store) AddInstance(ctx context.Context, in NewInstance, replace bool) (replacedBlobKey string, err error) {
	return s.QueueInstance(ctx, in, replace).Wait()
}

// batchRows remembers, within one transaction, the study and series rows its instances have
// already written, so that the next instance of the same series needs neither the study upsert
// (which would change nothing when the attributes are the same) nor the series lookup. Whatever
// undoes rows (a rollback to a savepoint, a replacement that prunes) must forget them all.
type batchRows struct {
	studies map[string]batchStudy  // by Study Instance UID
	series  map[string]batchSeries // by Series Instance UID
}

type batchStudy struct {
	pk    int64
	attrs StudyAttributes // as upserted
}

type batchSeries struct {
	pk, studyPK int64
	studyUID    string
	modality    string // as stored: its instances' rows carry it
}

func (b *batchRows) forget() { clear(b.studies); clear(b.series) }

// addInstance is one AddInstance inside the transaction of q; rows and counts are that
// transaction's. A new instance's aggregates are added to counts, which the caller must flush
// before anything reads or recounts them; a replacement recounts at once.
func (s *Store) addInstance(ctx context.Context, q *sqlcdb.Queries, rows *batchRows, counts *batchCounts, in NewInstance, replace bool, now int64) (replacedBlobKey string, err error) {
	studyPK, err := rows.studyPK(ctx, q, in.Study, now)
	if err != nil {
		return "", err
	}
	series, newSeries, err := rows.seriesRef(ctx, q, studyPK, in, now)
	if err != nil {
		return "", err
	}
	if replace {
		old, err := q.GetInstanceRef(ctx, in.Instance.SOPInstanceUID)
		switch {
		case err == nil:
			rows.forget() // the replacement may prune a series and a study
			return old.BlobKey, replaceInstance(ctx, q, old, in.Instance, studyPK, series, now)
		case !errors.Is(err, sql.ErrNoRows):
			return "", fmt.Errorf("queries: instance %s: %w", in.Instance.SOPInstanceUID, err)
		}
	}
	_, err = q.InsertInstance(ctx, insertInstanceParams(in.Instance, studyPK, series, now))
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("queries: instance %s: %w", in.Instance.SOPInstanceUID, ErrDuplicate)
	}
	if err != nil {
		return "", fmt.Errorf("queries: instance %s: %w", in.Instance.SOPInstanceUID, err)
	}
	counts.add(studyPK, series.pk, newSeries)
	return "", nil
}

// replaceInstance swaps the row of a stored instance for the new one (--on-duplicate=overwrite),
// possibly into another series or study, and recounts what it touched.
func replaceInstance(ctx context.Context, q *sqlcdb.Queries, old sqlcdb.GetInstanceRefRow, in InstanceAttributes,
	studyPK int64, series batchSeries, now int64) error {
	if err := q.DeleteInstanceByPK(ctx, old.Pk); err != nil {
		return fmt.Errorf("queries: replace instance %s: %w", in.SOPInstanceUID, err)
	}
	if _, err := q.InsertInstance(ctx, insertInstanceParams(in, studyPK, series, now)); err != nil {
		return fmt.Errorf("queries: replace instance %s: %w", in.SOPInstanceUID, err)
	}
	if old.SeriesPk != series.pk {
		if err := pruneAndRefresh(ctx, q, old.StudyPk, old.SeriesPk); err != nil {
			return err
		}
	}
	return refreshAggregates(ctx, q, studyPK, series.pk)
}

// studyPK upserts the study row, unless this transaction already has with the same attributes.
func (b *batchRows) studyPK(ctx context.Context, q *sqlcdb.Queries, a StudyAttributes, now int64) (int64, error) {
	if st, ok := b.studies[a.StudyInstanceUID]; ok && st.attrs == a {
		return st.pk, nil
	}
	pk, err := touchOrUpsertStudy(ctx, q, a, now)
	if err != nil {
		return 0, fmt.Errorf("queries: study %s: %w", a.StudyInstanceUID, err)
	}
	b.studies[a.StudyInstanceUID] = batchStudy{pk: pk, attrs: a}
	return pk, nil
}

// touchOrUpsertStudy locks the study row of a, creating it or filling its empty attributes from a
// when needed: a stored study that a leaves as it is (most instances) costs one statement.
func touchOrUpsertStudy(ctx context.Context, q *sqlcdb.Queries, a StudyAttributes, now int64) (int64, error) {
	touch := sqlcdb.TouchStudyParams{StudyUid: a.StudyInstanceUID, UpdatedAt: now}
	row, err := q.TouchStudy(ctx, touch)
	switch {
	case err == nil && !fillsEmpty(row, a):
		return row.Pk, nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return 0, err
	}
	pk, err := q.UpsertStudy(ctx, upsertStudyParams(a, now))
	if errors.Is(err, sql.ErrNoRows) { // stored since the touch (another server), as full as a
		row, err = q.TouchStudy(ctx, touch)
		pk = row.Pk
	}
	return pk, err
}

// fillsEmpty reports whether a has a value for an attribute the stored study has empty: the
// WHERE of UpsertStudy.
func fillsEmpty(st sqlcdb.TouchStudyRow, a StudyAttributes) bool {
	for _, f := range [...][2]string{
		{st.PatientName, a.PatientName}, {st.PatientID, a.PatientID}, {st.PatientBirthDate, a.PatientBirthDate},
		{st.PatientSex, a.PatientSex}, {st.StudyDate, a.StudyDate}, {st.StudyTime, a.StudyTime},
		{st.AccessionNumber, a.AccessionNumber}, {st.ReferringPhysicianName, a.ReferringPhysicianName},
		{st.StudyID, a.StudyID}, {st.StudyDescription, a.StudyDescription},
	} {
		if f[0] == "" && f[1] != "" {
			return true
		}
	}
	return false
}

// seriesRef returns the series row for the instance, creating it when new.
func (b *batchRows) seriesRef(ctx context.Context, q *sqlcdb.Queries, studyPK int64, in NewInstance, now int64) (ref batchSeries, created bool, err error) {
	uid := in.Series.SeriesInstanceUID
	ref, ok := b.series[uid]
	if !ok {
		// Looked up first: most instances go to a stored series (one statement, where inserting
		// first would cost two).
		row, err := q.GetSeriesRef(ctx, uid)
		if errors.Is(err, sql.ErrNoRows) {
			p := insertSeriesParams(in.Series, studyPK, now)
			var pk int64
			pk, err = q.InsertSeries(ctx, p)
			if err == nil {
				ref = batchSeries{pk: pk, studyPK: studyPK, studyUID: in.Study.StudyInstanceUID, modality: p.Modality}
				b.series[uid] = ref
				return ref, true, nil
			}
			if errors.Is(err, sql.ErrNoRows) { // stored since the lookup (another server)
				row, err = q.GetSeriesRef(ctx, uid)
			}
		}
		if err != nil {
			return batchSeries{}, false, fmt.Errorf("queries: series %s: %w", uid, err)
		}
		ref = batchSeries{pk: row.Pk, studyPK: row.StudyPk, studyUID: row.StudyUid, modality: row.Modality}
		b.series[uid] = ref
	}
	if ref.studyPK != studyPK {
		return batchSeries{}, false, fmt.Errorf("queries: series %s is stored in study %s, not %s: %w",
			uid, ref.studyUID, in.Study.StudyInstanceUID, ErrConflict)
	}
	return ref, false, nil
}

// batchCounts are the aggregates a batch's new instances add, applied once per series and study
// at the end of the batch (flush) rather than by two updates per instance: one round trip per
// series and study instead of two per instance on PostgreSQL. They are exact under the study row
// locks the batch holds until it commits. Unlike batchRows they survive an instance's rollback,
// which only ever undoes an instance not yet counted.
type batchCounts struct {
	series  map[int64]int32 // series pk → instances added
	studies map[int64]*studyCounts
}

type studyCounts struct {
	instances, series int32
	modalities        bool // a new series: ModalitiesInStudy to refresh
}

// add counts one new instance of seriesPK in studyPK, newSeries when it made the series.
func (c *batchCounts) add(studyPK, seriesPK int64, newSeries bool) {
	if c.series == nil {
		c.series, c.studies = make(map[int64]int32), make(map[int64]*studyCounts)
	}
	c.series[seriesPK]++
	st := c.studies[studyPK]
	if st == nil {
		st = &studyCounts{}
		c.studies[studyPK] = st
	}
	st.instances++
	if newSeries {
		st.series++
		st.modalities = true
	}
}

// flush writes the counts, in key order, and empties c.
func (c *batchCounts) flush(ctx context.Context, q *sqlcdb.Queries) error {
	for _, pk := range slices.Sorted(maps.Keys(c.series)) {
		if err := q.BumpSeriesCount(ctx, sqlcdb.BumpSeriesCountParams{Pk: pk, Added: c.series[pk]}); err != nil {
			return fmt.Errorf("queries: count series instances: %w", err)
		}
	}
	for _, pk := range slices.Sorted(maps.Keys(c.studies)) {
		st := c.studies[pk]
		err := q.BumpStudyCounts(ctx, sqlcdb.BumpStudyCountsParams{Pk: pk, AddedInstances: st.instances, AddedSeries: st.series})
		if err != nil {
			return fmt.Errorf("queries: count study instances: %w", err)
		}
		if st.modalities {
			if err := refreshModalities(ctx, q, pk); err != nil {
				return err
			}
		}
	}
	clear(c.series)
	clear(c.studies)
	return nil
}

func refreshModalities(ctx context.Context, q *sqlcdb.Queries, studyPK int64) error {
	modalities, err := q.SeriesModalities(ctx, studyPK)
	if err != nil {
		return fmt.Errorf("queries: modalities in study: %w", err)
	}
	if err := q.SetStudyModalities(ctx, sqlcdb.SetStudyModalitiesParams{Pk: studyPK, ModalitiesInStudy: strings.Join(modalities, `\`)}); err != nil {
		return fmt.Errorf("queries: modalities in study: %w", err)
	}
	return nil
}

// refreshAggregates recounts from the rows, for the rare paths (deletes, replacements) where an
// increment would not do.
func refreshAggregates(ctx context.Context, q *sqlcdb.Queries, studyPK, seriesPK int64) error {
	if err := q.RefreshSeriesCount(ctx, seriesPK); err != nil {
		return fmt.Errorf("queries: refresh series counts: %w", err)
	}
	modalities, err := q.SeriesModalities(ctx, studyPK)
	if err != nil {
		return fmt.Errorf("queries: modalities in study: %w", err)
	}
	err = q.RefreshStudyAggregates(ctx, sqlcdb.RefreshStudyAggregatesParams{
		StudyPk:           studyPK,
		ModalitiesInStudy: strings.Join(modalities, `\`),
	})
	if err != nil {
		return fmt.Errorf("queries: refresh study aggregates: %w", err)
	}
	return nil
}

// pruneAndRefresh removes a series and a study left empty by a delete or a move, and recounts
// whatever remains.
func pruneAndRefresh(ctx context.Context, q *sqlcdb.Queries, studyPK, seriesPK int64) error {
	if err := q.DeleteEmptySeries(ctx, seriesPK); err != nil {
		return fmt.Errorf("queries: prune series: %w", err)
	}
	if err := q.DeleteEmptyStudy(ctx, studyPK); err != nil {
		return fmt.Errorf("queries: prune study: %w", err)
	}
	return refreshAggregates(ctx, q, studyPK, seriesPK)
}

// InstanceExists reports whether an instance with that SOP Instance UID is stored.
func (s *Store) InstanceExists(ctx context.Context, sopInstanceUID string) (bool, error) {
	n, err := s.reader().InstanceExists(ctx, sopInstanceUID)
	if err != nil {
		return false, fmt.Errorf("queries: instance %s: %w", sopInstanceUID, err)
	}
	return n > 0, nil
}

// BlobKeyInUse reports whether an instance row references the blob key (for the orphan sweep).
func (s *Store) BlobKeyInUse(ctx context.Context, key string) (bool, error) {
	n, err := s.reader().BlobKeyExists(ctx, key)
	if err != nil {
		return false, fmt.Errorf("queries: blob key %s: %w", key, err)
	}
	return n > 0, nil
}

func upsertStudyParams(a StudyAttributes, now int64) sqlcdb.UpsertStudyParams {
	return sqlcdb.UpsertStudyParams{
		StudyUid:               a.StudyInstanceUID,
		PatientName:            a.PatientName,
		PatientID:              a.PatientID,
		PatientBirthDate:       a.PatientBirthDate,
		PatientSex:             a.PatientSex,
		StudyDate:              a.StudyDate,
		StudyTime:              a.StudyTime,
		AccessionNumber:        a.AccessionNumber,
		ReferringPhysicianName: a.ReferringPhysicianName,
		StudyID:                a.StudyID,
		StudyDescription:       a.StudyDescription,
		CreatedAt:              now,

		PatientNameCi:               fold(a.PatientName),
		PatientIDCi:                 fold(a.PatientID),
		AccessionNumberCi:           fold(a.AccessionNumber),
		ReferringPhysicianNameCi:    fold(a.ReferringPhysicianName),
		StudyIDCi:                   fold(a.StudyID),
		StudyDescriptionCi:          fold(a.StudyDescription),
		PatientNameWords:            nameWords(a.PatientName),
		ReferringPhysicianNameWords: nameWords(a.ReferringPhysicianName),
	}
}

func insertSeriesParams(a SeriesAttributes, studyPK, now int64) sqlcdb.InsertSeriesParams {
	return sqlcdb.InsertSeriesParams{
		StudyPk:                  studyPK,
		SeriesUid:                a.SeriesInstanceUID,
		Modality:                 a.Modality,
		SeriesNumber:             nullInt(a.SeriesNumber),
		SeriesDescription:        a.SeriesDescription,
		SeriesDate:               a.SeriesDate,
		SeriesTime:               a.SeriesTime,
		PpsStartDate:             a.PerformedProcedureStepStartDate,
		PpsStartTime:             a.PerformedProcedureStepStartTime,
		ScheduledProcedureStepID: a.ScheduledProcedureStepID,
		RequestedProcedureID:     a.RequestedProcedureID,
		CreatedAt:                now,
		SeriesDescriptionCi:      fold(a.SeriesDescription),
	}
}

// insertInstanceParams is the row of instance a of series, which gives it its Modality (the
// series', as stored: migration 000006).
func insertInstanceParams(a InstanceAttributes, studyPK int64, series batchSeries, now int64) sqlcdb.InsertInstanceParams {
	return sqlcdb.InsertInstanceParams{
		StudyPk:           studyPK,
		SeriesPk:          series.pk,
		Modality:          series.modality,
		SopInstanceUid:    a.SOPInstanceUID,
		SopClassUid:       a.SOPClassUID,
		InstanceNumber:    nullInt(a.InstanceNumber),
		TransferSyntaxUid: a.TransferSyntaxUID,
		NumRows:           int32(a.Rows),
		NumColumns:        int32(a.Columns),
		BitsAllocated:     int32(a.BitsAllocated),
		NumberOfFrames:    int32(a.NumberOfFrames),
		BlobKey:           a.BlobKey,
		SizeBytes:         a.Size,
		Sha256:            a.SHA256,
		Metadata:          a.Metadata,
		Frames:            a.Frames,
		BulkData:          a.BulkData,
		CreatedAt:         now,
	}
}

// nullInt keeps an IS value exactly: the columns are 64-bit on both engines.
func nullInt(p *int64) sql.NullInt64 {
	if p == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *p, Valid: true}
}

func intPtr(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	v := n.Int64
	return &v
}
