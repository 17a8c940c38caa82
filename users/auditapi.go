package users

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/queries"
)

// auditJSON is one audit record as GET /audit shows it.
type auditJSON struct {
	ID         int64     `json:"id"`
	Time       time.Time `json:"time"`
	User       string    `json:"user"`
	TokenName  string    `json:"token_name,omitempty"`
	Role       string    `json:"role,omitempty"`
	Action     string    `json:"action"`
	Study      string    `json:"study,omitempty"`
	Series     string    `json:"series,omitempty"`
	Instance   string    `json:"instance,omitempty"`
	TargetUser string    `json:"target_user,omitempty"`
	Outcome    int       `json:"outcome"`
	Client     string    `json:"client"`
	RequestID  string    `json:"request_id"`
	Detail     string    `json:"detail,omitempty"`
}

// searchAudit is GET /audit?user=&action=&study=&since=&until=&limit=&offset=, newest first.
// since and until are RFC 3339 times or dates (YYYY-MM-DD, midnight UTC); until is exclusive.
func (s *Service) searchAudit(c *gin.Context) error {
	var v validation
	q := v.query(c, "user", "action", "study", "since", "until", "limit", "offset")
	f := queries.AuditFilter{
		Username: q.Get("user"),
		Action:   q.Get("action"),
		StudyUID: q.Get("study"),
		Since:    v.time(q, "since"),
		Until:    v.time(q, "until"),
		Limit:    v.number(q, "limit", 100, 1, 1000),
		Offset:   v.number(q, "offset", 0, 0, math32),
	}
	if f.Action != "" && !slices.Contains(Actions, f.Action) {
		v.add("action", "must be one of "+strings.Join(Actions, ", "))
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		v.add("until", "must be after since")
	}
	if err := v.err(); err != nil {
		return err
	}
	records, err := s.store.SearchAudit(c.Request.Context(), f)
	if err != nil {
		return err
	}
	out := make([]auditJSON, len(records))
	for i, r := range records {
		out[i] = auditJSON{ID: r.ID, Time: r.Time.UTC(), User: r.Username, TokenName: r.TokenName, Role: r.Role,
			Action: r.Action, Study: r.StudyUID, Series: r.SeriesUID, Instance: r.InstanceUID, TargetUser: r.TargetUser,
			Outcome: r.Outcome, Client: r.Client, RequestID: r.RequestID, Detail: r.Detail}
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// time parses an RFC 3339 time or a date; zero when absent.
func (v *validation) time(q url.Values, name string) time.Time {
	s := q.Get(name)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	v.add(name, "must be an RFC 3339 time (2026-01-02T15:04:05Z) or a date (2026-01-02)")
	return time.Time{}
}
