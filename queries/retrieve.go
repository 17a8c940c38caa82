package queries

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

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

// MetadataList is the instances of a metadata response, in order: their keys only, 8 bytes each.
type MetadataList struct{ pks []int64 }

// Len is the number of instances listed.
func (l MetadataList) Len() int { return len(l.pks) }

// The metadata list statements, one per kind of scope, list the instances in RetrieveInstances'
// order (NULLS LAST is its "IS NULL" key). The one statement for every scope that RetrieveInstances
// uses ("$2 = 0 OR series_pk = $2") cannot use an index once PostgreSQL plans it generically, and
// its join and six sort keys were most of a large series' metadata request on PostgreSQL. A
// series is read in the order of its index (instances_series), without a join; a study ranks its
// few series first and sorts instances by that rank.
const (
	metadataListStudySQL = `SELECT i.pk, i.sop_instance_uid, i.sha256
FROM instances i
JOIN (SELECT pk, row_number() OVER (ORDER BY series_number NULLS LAST, series_uid) AS n
      FROM series WHERE study_pk = $1) se ON se.pk = i.series_pk
WHERE i.study_pk = $1
ORDER BY se.n, i.instance_number NULLS LAST, i.sop_instance_uid`
	metadataListSeriesSQL = `SELECT i.pk, i.sop_instance_uid, i.sha256 FROM instances i
WHERE i.series_pk = $1 ORDER BY i.instance_number NULLS LAST, i.sop_instance_uid`
	metadataListInstanceSQL = `SELECT i.pk, i.sop_instance_uid, i.sha256 FROM instances i WHERE i.pk = $1`
)

// metadataListQuery returns the list statement for the scope of p and its one argument.
func metadataListQuery(p sqlcdb.RetrieveInstancesParams) (query string, arg int64) {
	switch {
	case p.InstancePk != 0:
		return metadataListInstanceSQL, p.InstancePk
	case p.SeriesPk != 0:
		return metadataListSeriesSQL, p.SeriesPk
	default:
		return metadataListStudySQL, p.StudyPk
	}
}

// ListMetadata lists the instances of a scope in retrieve order (series by number, then instances
// by number) for EachMetadata, and calls seen with each one's SOP Instance UID and content hash
// (valid only during the call), from which a response's ETag is made before any metadata is read;
// ErrNotFound when the scope does not exist.
func (s *Store) ListMetadata(ctx context.Context, sc Scope, seen func(sopUID, sha256 []byte)) (MetadataList, error) {
	p, err := s.resolve(ctx, sc)
	if err != nil {
		return MetadataList{}, err
	}
	var l MetadataList
	query, arg := metadataListQuery(p)
	err = s.query(ctx, query, []any{arg}, func(rows *sql.Rows) error {
		var pk int64
		var sop, sha sql.RawBytes
		if err := rows.Scan(&pk, &sop, &sha); err != nil {
			return err
		}
		l.pks = append(l.pks, pk)
		seen(sop, sha)
		return nil
	})
	if err != nil {
		return MetadataList{}, fmt.Errorf("queries: metadata of %s: %w", sc, err)
	}
	return l, nil
}

// metadataBatch is how many instances' metadata are read per query: few enough that a batch of
// large metadata stays a few megabytes, enough that the statement's preparation is paid rarely.
const metadataBatch = 128

// metadataBatchSQL reads the metadata of up to metadataBatch instances by key. Its text never
// changes (a short batch repeats its last key), so it is prepared once, at Open (Store.metadataBatch):
// parsing it per batch was a third of a large series' metadata request on SQLite.
var metadataBatchSQL = func() string {
	var b strings.Builder
	b.WriteString(`SELECT i.pk, se.series_uid, i.sop_instance_uid, i.metadata
FROM instances i JOIN series se ON se.pk = i.series_pk WHERE i.pk IN (`)
	for i := range metadataBatch {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", i+1)
	}
	b.WriteString(")")
	return b.String()
}()

// EachMetadata calls fn with the stored PS3.18 Annex F metadata of each instance of l, in order;
// an instance deleted since l was read is left out. It reads metadataBatch instances per query
// and calls fn only between queries: a large study's metadata is never all in memory, and a slow
// client (fn writes to it) never holds one of the few database connections while it reads.
// The metadata is scanned as a string: both drivers hand text over as one, so it is not copied again.
func (s *Store) EachMetadata(ctx context.Context, l MetadataList, fn func(seriesUID, sopUID, metadata string) error) error {
	args := make([]any, metadataBatch)
	batch := make([]metadataRow, metadataBatch)
	at := make(map[int64]int, metadataBatch) // a key's place in the batch
	for pks := l.pks; len(pks) > 0; {
		n := min(metadataBatch, len(pks))
		clear(at)
		for i := range args {
			args[i] = pks[min(i, n-1)]
		}
		for i, pk := range pks[:n] {
			at[pk] = i
			batch[i] = metadataRow{}
		}
		rows, err := s.metadataBatch.QueryContext(ctx, args...)
		err = scanRows(rows, err, func(rows *sql.Rows) error {
			var pk int64
			var r metadataRow
			if err := rows.Scan(&pk, &r.series, &r.sop, &r.metadata); err != nil {
				return err
			}
			r.found = true
			batch[at[pk]] = r
			return nil
		})
		if err != nil {
			return fmt.Errorf("queries: metadata: %w", err)
		}
		for _, r := range batch[:n] {
			if r.found {
				if err := fn(r.series, r.sop, r.metadata); err != nil {
					return err
				}
			}
		}
		pks = pks[n:]
	}
	return nil
}

type metadataRow struct {
	series, sop, metadata string
	found                 bool
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
