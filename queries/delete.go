package queries

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/medimg/medimg/queries/internal/sqlcdb"
)

// The deletes remove index rows in one transaction and return the blob keys that the rows
// referenced: the caller deletes those blobs after the commit, so a reader never finds a row whose
// blob is gone (a blob left behind by a crash in between is an orphan for the sweep).

// DeleteStudy removes a study with all its series and instances. It takes the study row lock
// first, as AddInstance and the other deletes do, so that the blob keys it reads include those of
// a store into the study that commits meanwhile (on SQLite, so that its snapshot is not stale when
// it writes).
func (s *Store) DeleteStudy(ctx context.Context, studyUID string) (blobKeys []string, err error) {
	err = s.inTx(ctx, func(q *sqlcdb.Queries) error {
		pk, err := q.LockStudy(ctx, studyUID)
		if err != nil {
			return notFound(err, "study %s", studyUID)
		}
		if blobKeys, err = q.StudyBlobKeys(ctx, pk); err != nil {
			return fmt.Errorf("queries: study %s: %w", studyUID, err)
		}
		if err := q.DeleteStudyByPK(ctx, pk); err != nil {
			return fmt.Errorf("queries: delete study %s: %w", studyUID, err)
		}
		return nil
	})
	return blobKeys, err
}

// DeleteSeries removes a series of a study with its instances; a study left empty goes too.
func (s *Store) DeleteSeries(ctx context.Context, studyUID, seriesUID string) (blobKeys []string, err error) {
	err = s.inTx(ctx, func(q *sqlcdb.Queries) error {
		studyPK, err := q.LockStudy(ctx, studyUID)
		if err != nil {
			return notFound(err, "study %s", studyUID)
		}
		pk, err := q.GetSeriesInStudy(ctx, sqlcdb.GetSeriesInStudyParams{StudyUid: studyUID, SeriesUid: seriesUID})
		if err != nil {
			return notFound(err, "series %s in study %s", seriesUID, studyUID)
		}
		if blobKeys, err = q.SeriesBlobKeys(ctx, pk); err != nil {
			return fmt.Errorf("queries: series %s: %w", seriesUID, err)
		}
		if err := q.DeleteSeriesByPK(ctx, pk); err != nil {
			return fmt.Errorf("queries: delete series %s: %w", seriesUID, err)
		}
		return pruneAndRefresh(ctx, q, studyPK, pk)
	})
	return blobKeys, err
}

// DeleteInstance removes one instance; a series or study left empty goes too.
func (s *Store) DeleteInstance(ctx context.Context, studyUID, seriesUID, sopUID string) (blobKeys []string, err error) {
	err = s.inTx(ctx, func(q *sqlcdb.Queries) error {
		if _, err := q.LockStudy(ctx, studyUID); err != nil {
			return notFound(err, "study %s", studyUID)
		}
		ref, err := q.GetInstanceInSeries(ctx, sqlcdb.GetInstanceInSeriesParams{
			StudyUid: studyUID, SeriesUid: seriesUID, SopInstanceUid: sopUID,
		})
		if err != nil {
			return notFound(err, "instance %s in series %s of study %s", sopUID, seriesUID, studyUID)
		}
		if err := q.DeleteInstanceByPK(ctx, ref.Pk); err != nil {
			return fmt.Errorf("queries: delete instance %s: %w", sopUID, err)
		}
		blobKeys = []string{ref.BlobKey}
		return pruneAndRefresh(ctx, q, ref.StudyPk, ref.SeriesPk)
	})
	return blobKeys, err
}

// notFound maps sql.ErrNoRows to ErrNotFound with what was looked for.
func notFound(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("queries: %s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("queries: %s: %w", what, err)
}
