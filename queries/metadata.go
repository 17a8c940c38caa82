package queries

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// MetadataList is the instances of a metadata response, in order: their keys (8 bytes each) and
// the UIDs of their series.
type MetadataList struct {
	pks    []int64
	series map[int64]string // series key → Series Instance UID
}

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
	// metadataSeriesSQL names the series of a study, so that the batches need not join series.
	metadataSeriesSQL = `SELECT pk, series_uid FROM series WHERE study_pk = $1`
)

// ListMetadata lists the instances of a scope in retrieve order (series by number, then instances
// by number) for EachMetadata, and calls seen with each one's SOP Instance UID and content hash
// (valid only during the call), from which a response's ETag is made before any metadata is read;
// ErrNotFound when the scope does not exist.
func (s *Store) ListMetadata(ctx context.Context, sc Scope, seen func(sopUID, sha256 []byte)) (MetadataList, error) {
	p, err := s.resolve(ctx, sc)
	if err != nil {
		return MetadataList{}, err
	}
	query, arg := metadataListSQL(p.StudyPk, p.SeriesPk, p.InstancePk)
	var l MetadataList
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
	if err == nil {
		l.series, err = s.metadataSeries(ctx, sc, p.StudyPk, p.SeriesPk)
	}
	if err != nil {
		return MetadataList{}, fmt.Errorf("queries: metadata of %s: %w", sc, err)
	}
	return l, nil
}

// metadataListSQL returns the list statement for a scope, given by its keys, and its one argument.
func metadataListSQL(studyPK, seriesPK, instancePK int64) (query string, arg int64) {
	switch {
	case instancePK != 0:
		return metadataListInstanceSQL, instancePK
	case seriesPK != 0:
		return metadataListSeriesSQL, seriesPK
	default:
		return metadataListStudySQL, studyPK
	}
}

// metadataSeries maps the keys of the series in a scope to their UIDs: the scope's own series, or
// (read after the instances, so that none of theirs is missing) those of its study.
func (s *Store) metadataSeries(ctx context.Context, sc Scope, studyPK, seriesPK int64) (map[int64]string, error) {
	if seriesPK != 0 {
		return map[int64]string{seriesPK: sc.SeriesUID}, nil
	}
	series := make(map[int64]string)
	err := s.query(ctx, metadataSeriesSQL, []any{studyPK}, func(rows *sql.Rows) error {
		var pk int64
		var uid string
		if err := rows.Scan(&pk, &uid); err != nil {
			return err
		}
		series[pk] = uid
		return nil
	})
	return series, err
}

// metadataBatchBytes is about how much metadata one batch reads: a large study's metadata is never
// all in memory, and on PostgreSQL a series of typical instances (about a kilobyte each) takes two
// queries, not eight: each was a round trip and a plan of its own.
const metadataBatchBytes = 1 << 20

// metadataBatchSizes are the numbers of keys of the two batch statements. A response's first batch,
// whose metadata size is not known yet, reads at most the smaller number; later ones as many as
// metadataBatchBytes holds at the sizes seen so far, up to metadataBatchLimit.
var metadataBatchSizes = [2]int{128, 1024}

// metadataBatchLimit is the most keys one batch reads. Only PostgreSQL, where a query is a round
// trip, reads large batches: on SQLite they were slower (a 3,000-instance study's metadata read in
// 18-20 ms instead of 13).
func (s *Store) metadataBatchLimit() int {
	if s.engine == Postgres {
		return metadataBatchSizes[1]
	}
	return metadataBatchSizes[0]
}

// metadataBatchSQL reads the metadata of up to n instances by key. Its text never changes (a short
// batch repeats its last key), so it is prepared once, at Open (Store.metadataBatches): parsing it
// per batch was a third of a large series' metadata request on SQLite. It joins no series: the
// list knows their UIDs.
func metadataBatchSQL(n int) string {
	var b strings.Builder
	b.WriteString(`SELECT i.pk, i.series_pk, i.sop_instance_uid, i.metadata FROM instances i WHERE i.pk IN (`)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", i+1)
	}
	b.WriteString(")")
	return b.String()
}

// EachMetadata calls fn with the stored PS3.18 Annex F metadata of each instance of l, in order;
// an instance deleted since l was read is left out. It reads the metadata in batches of about
// metadataBatchBytes (at most metadataBatchLimit instances) and calls fn only between queries: a large study's metadata is never all in
// memory, and a slow client (fn writes to it) never holds one of the few database connections
// while it reads. The metadata is scanned as a string: both drivers hand text over as one, so it
// is not copied again.
func (s *Store) EachMetadata(ctx context.Context, l MetadataList, fn func(seriesUID, sopUID, metadata string) error) error {
	b := metadataBatch{at: make(map[int64]int)}
	size := metadataBatchSizes[0]
	var read, bytes int
	for pks := l.pks; len(pks) > 0; {
		n := min(size, len(pks))
		if err := s.readMetadataBatch(ctx, l, pks[:n], &b); err != nil {
			return fmt.Errorf("queries: metadata: %w", err)
		}
		for _, r := range b.rows {
			bytes += len(r.metadata)
			if r.found {
				if err := fn(r.series, r.sop, r.metadata); err != nil {
					return err
				}
			}
		}
		read += n
		pks = pks[n:]
		size = min(s.metadataBatchLimit(), max(1, metadataBatchBytes/max(1, bytes/read)))
	}
	return nil
}

// metadataBatch is one batch's rows in list order, and the arguments and key index to read them,
// reused from batch to batch.
type metadataBatch struct {
	args []any
	rows []metadataRow
	at   map[int64]int // a key's place in rows
}

type metadataRow struct {
	series, sop, metadata string
	found                 bool
}

// readMetadataBatch reads the metadata of the instances pks into b.rows, in the order of pks.
func (s *Store) readMetadataBatch(ctx context.Context, l MetadataList, pks []int64, b *metadataBatch) error {
	stmt := 0 // the smaller statement when it is enough
	if len(pks) > metadataBatchSizes[0] {
		stmt = 1
	}
	b.args = b.args[:0]
	for i := range metadataBatchSizes[stmt] {
		b.args = append(b.args, pks[min(i, len(pks)-1)])
	}
	clear(b.at)
	b.rows = b.rows[:0]
	for i, pk := range pks {
		b.at[pk] = i
		b.rows = append(b.rows, metadataRow{})
	}
	rows, err := s.metadataBatches[stmt].QueryContext(ctx, b.args...)
	return scanRows(rows, err, func(rows *sql.Rows) error {
		var pk, seriesPK int64
		var r metadataRow
		if err := rows.Scan(&pk, &seriesPK, &r.sop, &r.metadata); err != nil {
			return err
		}
		// A series unknown to the list was made since: so was the instance, which is not listed.
		r.series, r.found = l.series[seriesPK]
		b.rows[b.at[pk]] = r
		return nil
	})
}
