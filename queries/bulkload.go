package queries

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/medimg/medimg/queries/internal/sqlcdb"
)

// BulkAdd records a batch of instances of studies that are not stored yet, in one transaction of
// multi-row INSERTs: the loading path of the archive-scale benchmarks, some fifty times faster than
// AddInstance per instance. It fills the same columns (the same folding for the search columns) and
// recounts the aggregates as AddInstance does, but has none of its cases: a study, series or
// instance already stored fails the whole batch. It never runs on the STOW path.
func (s *Store) BulkAdd(ctx context.Context, batch []NewInstance) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("queries: bulk: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	ins := rowInserter{tx: tx, positional: s.engine == SQLite}
	if err := bulkInsert(ctx, ins, s.writeQ.WithTx(tx), batch, time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("queries: bulk: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("queries: bulk: commit: %w", err)
	}
	return nil
}

func bulkInsert(ctx context.Context, ins rowInserter, q *sqlcdb.Queries, batch []NewInstance, now int64) error {
	var studyRows, seriesRows, instanceRows [][]any
	seen := map[string]bool{}
	for _, in := range batch {
		if st := in.Study.StudyInstanceUID; !seen[st] {
			seen[st] = true
			p := upsertStudyParams(in.Study, now)
			studyRows = append(studyRows, []any{p.StudyUid, p.PatientName, p.PatientID, p.PatientBirthDate, p.PatientSex,
				p.StudyDate, p.StudyTime, p.AccessionNumber, p.ReferringPhysicianName, p.StudyID, p.StudyDescription,
				now, now, p.PatientNameCi, p.PatientIDCi, p.AccessionNumberCi, p.ReferringPhysicianNameCi, p.StudyIDCi,
				p.StudyDescriptionCi, p.PatientNameWords, p.ReferringPhysicianNameWords})
		}
	}
	studyPKs, err := ins.insert(ctx, "studies", "study_uid, patient_name, patient_id, patient_birth_date, patient_sex, "+
		"study_date, study_time, accession_number, referring_physician_name, study_id, study_description, created_at, "+
		"updated_at, patient_name_ci, patient_id_ci, accession_number_ci, referring_physician_name_ci, study_id_ci, "+
		"study_description_ci, patient_name_words, referring_physician_name_words", "study_uid", studyRows)
	if err != nil {
		return err
	}
	modality := map[string]string{} // of each series, as stored
	for _, in := range batch {
		if se := in.Series.SeriesInstanceUID; !seen[se] {
			seen[se] = true
			p := insertSeriesParams(in.Series, studyPKs[in.Study.StudyInstanceUID], now)
			modality[se] = p.Modality
			seriesRows = append(seriesRows, []any{p.StudyPk, p.SeriesUid, p.Modality, p.SeriesNumber, p.SeriesDescription,
				p.SeriesDate, p.SeriesTime, p.PpsStartDate, p.PpsStartTime, p.ScheduledProcedureStepID,
				p.RequestedProcedureID, now, now, p.SeriesDescriptionCi})
		}
	}
	seriesPKs, err := ins.insert(ctx, "series", "study_pk, series_uid, modality, series_number, series_description, "+
		"series_date, series_time, pps_start_date, pps_start_time, scheduled_procedure_step_id, requested_procedure_id, "+
		"created_at, updated_at, series_description_ci", "series_uid", seriesRows)
	if err != nil {
		return err
	}
	for _, in := range batch {
		se := in.Series.SeriesInstanceUID
		p := insertInstanceParams(in.Instance, studyPKs[in.Study.StudyInstanceUID], batchSeries{pk: seriesPKs[se], modality: modality[se]}, now)
		instanceRows = append(instanceRows, []any{p.StudyPk, p.SeriesPk, p.SopInstanceUid, p.SopClassUid, p.InstanceNumber,
			p.TransferSyntaxUid, p.NumRows, p.NumColumns, p.BitsAllocated, p.NumberOfFrames, p.BlobKey, p.SizeBytes,
			p.Sha256, p.Metadata, p.Frames, p.BulkData, p.CreatedAt, p.Modality})
	}
	if _, err := ins.insert(ctx, "instances", "study_pk, series_pk, sop_instance_uid, sop_class_uid, instance_number, "+
		"transfer_syntax_uid, num_rows, num_columns, bits_allocated, number_of_frames, blob_key, size_bytes, sha256, "+
		"metadata, frames, bulk_data, created_at, modality", "sop_instance_uid", instanceRows); err != nil {
		return err
	}
	for _, pk := range seriesPKs {
		if err := q.RefreshSeriesCount(ctx, pk); err != nil {
			return err
		}
	}
	for _, pk := range studyPKs {
		// Series 0 is none: the series were recounted above.
		if err := refreshAggregates(ctx, q, pk, 0); err != nil {
			return err
		}
	}
	return nil
}

// bulkRows is how many rows one INSERT carries: within both engines' limits on parameters
// (SQLite 32,766, PostgreSQL 65,535) for the widest table.
const bulkRows = 500

// rowInserter writes multi-row INSERTs in a transaction. positional binds "?" rather than "$N":
// SQLite looks "$N" names up in a list, which costs the square of the parameters of a statement.
type rowInserter struct {
	tx         *sql.Tx
	positional bool
}

// insert inserts rows into table in statements of bulkRows rows and returns the new primary keys
// by the value of the unique column key.
func (ins rowInserter) insert(ctx context.Context, table, columns, key string, rows [][]any) (map[string]int64, error) {
	pks := make(map[string]int64, len(rows))
	for start := 0; start < len(rows); start += bulkRows {
		chunk := rows[start:min(start+bulkRows, len(rows))]
		var b strings.Builder
		args := make([]any, 0, len(chunk)*len(chunk[0]))
		fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", table, columns)
		for i, row := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j, v := range row {
				if j > 0 {
					b.WriteString(", ")
				}
				args = append(args, v)
				if ins.positional {
					b.WriteByte('?')
				} else {
					b.WriteString("$" + strconv.Itoa(len(args)))
				}
			}
			b.WriteByte(')')
		}
		fmt.Fprintf(&b, " RETURNING pk, %s", key)
		rs, err := ins.tx.QueryContext(ctx, b.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("insert %s: %w", table, err)
		}
		for rs.Next() {
			var pk int64
			var k string
			if err := rs.Scan(&pk, &k); err != nil {
				rs.Close()
				return nil, fmt.Errorf("insert %s: %w", table, err)
			}
			pks[k] = pk
		}
		if err := errors.Join(rs.Err(), rs.Close()); err != nil {
			return nil, fmt.Errorf("insert %s: %w", table, err)
		}
	}
	return pks, nil
}

// DatabaseSize returns the bytes the index takes: the SQLite file after a checkpoint has emptied
// its WAL into it, or pg_database_size on PostgreSQL.
func (s *Store) DatabaseSize(ctx context.Context) (int64, error) {
	query := "SELECT pg_database_size(current_database())"
	if s.engine == SQLite {
		if _, err := s.write.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return 0, fmt.Errorf("queries: checkpoint: %w", err)
		}
		query = "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
	}
	var n int64
	if err := s.write.QueryRowContext(ctx, query).Scan(&n); err != nil {
		return 0, fmt.Errorf("queries: database size: %w", err)
	}
	return n, nil
}
