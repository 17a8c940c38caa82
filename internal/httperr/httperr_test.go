package httperr

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/storage"
)

func TestWrite(t *testing.T) {
	cases := []struct {
		name      string
		err       error
		status    int
		body      string
		logged    bool
		notInBody string
	}{
		{"client_error_as_given", New(http.StatusBadRequest, "bad_request", "limit %q is not a number", "x"), 400,
			`{"code":"bad_request","message":"limit \"x\" is not a number"}`, false, ""},
		{"fields_listed", &Error{Status: 422, Code: "invalid", Message: "the request has invalid fields",
			Fields: []FieldError{{"username", "is required"}, {"password", "is too short"}}}, 422,
			`{"code":"invalid","message":"the request has invalid fields","fields":[{"field":"username","message":"is required"},{"field":"password","message":"is too short"}]}`, false, ""},
		{"store_not_found_keeps_what", fmt.Errorf("queries: study 1.2.3: %w", queries.ErrNotFound), 404,
			`{"code":"not_found","message":"study 1.2.3: not found"}`, false, ""},
		{"missing_blob_is_the_servers_fault", fmt.Errorf("dicomweb: %w: studies/1.2.3/series/4/5_ab.dcm", storage.ErrNotFound), 500,
			`{"code":"internal","message":"internal error; see the server log"}`, true, "studies/"},
		{"internal_error_hides_its_cause", errors.New("pq: password authentication failed for user medimg"), 500,
			`{"code":"internal","message":"internal error; see the server log"}`, true, "password"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			gin.SetMode(gin.ReleaseMode)
			r := gin.New()
			r.GET("/", func(ctx *gin.Context) {
				ctx.Set("request_id", "rid-7")
				Handle(log, func(*gin.Context) error { return c.err })(ctx)
			})
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			if w.Code != c.status || w.Body.String() != c.body {
				t.Errorf("got %d %s, want %d %s", w.Code, w.Body, c.status, c.body)
			}
			if logged := strings.Contains(logs.String(), "request_id=rid-7"); logged != c.logged {
				t.Errorf("logged with the request ID: %v, want %v (%s)", logged, c.logged, logs.String())
			}
			if c.notInBody != "" && strings.Contains(w.Body.String(), c.notInBody) {
				t.Errorf("the body leaks %q", c.notInBody)
			}
		})
	}
}
