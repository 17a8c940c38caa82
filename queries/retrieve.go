package queries

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/medimg/medimg/queries/internal/sqlcdb"
)

// Scope names what a retrieve asks for: a study, one of its series, or one instance of that series.
type Scope struct {
	StudyUID, SeriesUID, SOPInstanceUID string
}

func (sc Scope) String() string {
	switch {
	case sc.SOPInstanceUID != "":
		return fmt.Sprintf("instance %s in series %s of study %s", sc.SOPInstanceUID, sc.SeriesUID, sc.StudyUID)
	case sc.SeriesUID != "":
		return fmt.Sprintf("series %s in study %s", sc.SeriesUID, sc.StudyUID)
	default:
		return "study " + sc.StudyUID
	}
}

// StoredInstance is where an instance's file is and what it holds.
type StoredInstance struct {
	StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID string
	SOPClassUID, TransferSyntaxUID                      string
	BlobKey, SHA256                                     string
	Size                                                int64
	NumberOfFrames                                      int
}

// resolve finds the primary keys of a scope; anything unknown, or not under its parent, is
// ErrNotFound.
func (s *Store) resolve(ctx context.Context, sc Scope) (sqlcdb.RetrieveInstancesParams, error) {
	var p sqlcdb.RetrieveInstancesParams
	q := s.reader()
	var err error
	switch {
	case sc.SOPInstanceUID != "":
		var ref sqlcdb.GetInstanceInSeriesRow
		ref, err = q.GetInstanceInSeries(ctx, sqlcdb.GetInstanceInSeriesParams{StudyUid: sc.StudyUID, SeriesUid: sc.SeriesUID, SopInstanceUid: sc.SOPInstanceUID})
		p = sqlcdb.RetrieveInstancesParams{StudyPk: ref.StudyPk, SeriesPk: ref.SeriesPk, InstancePk: ref.Pk}
	case sc.SeriesUID != "":
		p.StudyPk, err = q.GetStudyPK(ctx, sc.StudyUID)
		if err == nil {
			p.SeriesPk, err = q.GetSeriesInStudy(ctx, sqlcdb.GetSeriesInStudyParams{StudyUid: sc.StudyUID, SeriesUid: sc.SeriesUID})
		}
	default:
		p.StudyPk, err = q.GetStudyPK(ctx, sc.StudyUID)
	}
	if err != nil {
		return p, notFound(err, "%s", sc)
	}
	return p, nil
}

// RetrieveInstances lists the instances of a scope in retrieve order (series by number, then
// instances by number).
func (s *Store) RetrieveInstances(ctx context.Context, sc Scope) ([]StoredInstance, error) {
	p, err := s.resolve(ctx, sc)
	if err != nil {
		return nil, err
	}
	rows, err := s.reader().RetrieveInstances(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("queries: %s: %w", sc, err)
	}
	out := make([]StoredInstance, len(rows))
	for i, r := range rows {
		out[i] = StoredInstance{
			StudyInstanceUID: sc.StudyUID, SeriesInstanceUID: r.SeriesUid, SOPInstanceUID: r.SopInstanceUid,
			SOPClassUID: r.SopClassUid, TransferSyntaxUID: r.TransferSyntaxUid, BlobKey: r.BlobKey,
			SHA256: r.Sha256, Size: r.SizeBytes, NumberOfFrames: int(r.NumberOfFrames),
		}
	}
	return out, nil
}

// FrameSource is what a frame or bulk data request reads: the file and its byte-range indexes.
type FrameSource struct {
	StoredInstance
	Rows, Columns, BitsAllocated int
	Frames, BulkData             string // JSON indexes written at store time
}

// GetFrameSource returns the file and indexes of one instance of a series of a study, in one query.
func (s *Store) GetFrameSource(ctx context.Context, sc Scope) (FrameSource, error) {
	r, err := s.reader().GetFrameSource(ctx, sqlcdb.GetFrameSourceParams{
		StudyUid: sc.StudyUID, SeriesUid: sc.SeriesUID, SopInstanceUid: sc.SOPInstanceUID,
	})
	if err != nil {
		return FrameSource{}, notFound(err, "%s", sc)
	}
	return FrameSource{
		StoredInstance: StoredInstance{
			StudyInstanceUID: sc.StudyUID, SeriesInstanceUID: sc.SeriesUID, SOPInstanceUID: sc.SOPInstanceUID,
			SOPClassUID: r.SopClassUid, TransferSyntaxUID: r.TransferSyntaxUid, BlobKey: r.BlobKey,
			SHA256: r.Sha256, Size: r.SizeBytes, NumberOfFrames: int(r.NumberOfFrames),
		},
		Rows: int(r.NumRows), Columns: int(r.NumColumns), BitsAllocated: int(r.BitsAllocated),
		Frames: r.Frames, BulkData: r.BulkData,
	}, nil
}

// GetInstanceMetadata returns the stored PS3.18 Annex F metadata of one instance (for rendering,
// which needs the Image Pixel attributes without parsing the file).
func (s *Store) GetInstanceMetadata(ctx context.Context, sc Scope) (string, error) {
	md, err := s.reader().GetInstanceMetadata(ctx, sqlcdb.GetInstanceMetadataParams{
		StudyUid: sc.StudyUID, SeriesUid: sc.SeriesUID, SopInstanceUid: sc.SOPInstanceUID,
	})
	if err != nil {
		return "", notFound(err, "%s", sc)
	}
	return md, nil
}

// PoolStats reports the connection pools: the readers' and the writer's (the same pool on
// PostgreSQL).
func (s *Store) PoolStats() (read, write sql.DBStats) {
	return s.read.Stats(), s.write.Stats()
}
