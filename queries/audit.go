package queries

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/medimg/medimg/queries/internal/sqlcdb"
)

// AuditRecord is one entry of the audit trail: who did what to which study, series, instance or
// account, and with what outcome.
type AuditRecord struct {
	ID          int64 // numbered by the store; ignored by AppendAudit
	Time        time.Time
	Username    string // "anonymous" when nobody signed in (set by the caller)
	TokenName   string
	Role        string
	Action      string
	StudyUID    string
	SeriesUID   string
	InstanceUID string
	TargetUser  string
	Outcome     int // HTTP status
	Client      string
	RequestID   string
	Detail      string
}

// AuditFilter selects audit records. Empty strings match any value, other values exactly; a zero
// Since or Until leaves that end open (Since is inclusive, Until exclusive); Limit ≤ 0 means all.
type AuditFilter struct {
	Username, Action, StudyUID string
	Since, Until               time.Time
	Limit, Offset              int
}

// AppendAudit inserts records in one transaction, in their order (a background writer's batch).
// The table refuses UPDATE and DELETE: the trail can only grow.
func (s *Store) AppendAudit(ctx context.Context, records []AuditRecord) error {
	if len(records) == 0 {
		return nil
	}
	return s.inTx(ctx, func(q *sqlcdb.Queries) error {
		for _, r := range records {
			if err := q.InsertAudit(ctx, insertAuditParams(r)); err != nil {
				return fmt.Errorf("queries: append audit %s: %w", r.Action, err)
			}
		}
		return nil
	})
}

// SearchAudit returns the matching records, newest first.
func (s *Store) SearchAudit(ctx context.Context, f AuditFilter) ([]AuditRecord, error) {
	query, args := auditSQL(f)
	records := []AuditRecord{}
	err := s.query(ctx, query, args, func(rows *sql.Rows) error {
		var r AuditRecord
		var at int64
		if err := rows.Scan(&r.ID, &at, &r.Username, &r.TokenName, &r.Role, &r.Action, &r.StudyUID, &r.SeriesUID,
			&r.InstanceUID, &r.TargetUser, &r.Outcome, &r.Client, &r.RequestID, &r.Detail); err != nil {
			return err
		}
		r.Time = fromMillis(at)
		records = append(records, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return records, nil
}

// auditSQL builds the search with only the filters given, not as sqlc's fixed "($1 = ” OR
// username = $1)": SQLite's planner cannot pick the (username, at) index for such a term and would
// walk the whole trail by time for a rare user or study.
func auditSQL(f AuditFilter) (string, []any) {
	var b sqlBuilder
	for _, eq := range []struct{ column, value string }{
		{"username", f.Username}, {"action", f.Action}, {"study_uid", f.StudyUID},
	} {
		if eq.value != "" {
			b.add("%s = %s", eq.column, b.arg(eq.value))
		}
	}
	if !f.Since.IsZero() {
		b.add("at >= %s", b.arg(f.Since.UnixMilli()))
	}
	if !f.Until.IsZero() {
		b.add("at < %s", b.arg(f.Until.UnixMilli()))
	}
	return `SELECT id, at, username, token_name, role, action, study_uid, series_uid, instance_uid,
		target_user, outcome, client, request_id, detail FROM audit` + b.whereClause() +
		fmt.Sprintf(" ORDER BY at DESC, id DESC LIMIT %s OFFSET %s", b.arg(pageLimit(f.Limit)), b.arg(max(f.Offset, 0))), b.args
}

func insertAuditParams(r AuditRecord) sqlcdb.InsertAuditParams {
	return sqlcdb.InsertAuditParams{
		At: r.Time.UnixMilli(), Username: r.Username, TokenName: r.TokenName, Role: r.Role, Action: r.Action,
		StudyUid: r.StudyUID, SeriesUid: r.SeriesUID, InstanceUid: r.InstanceUID, TargetUser: r.TargetUser,
		Outcome: int32(r.Outcome), Client: r.Client, RequestID: r.RequestID, Detail: r.Detail,
	}
}
