package users

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
)

// cheapParams keep tests fast where the hashing parameters are not the point.
var cheapParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const adminPassword = "correct horse battery staple"

// harness is the users service behind a real HTTP server on a real database, with the middleware
// in front of the users API and of stand-in data routes ("GET /dicomweb/studies" answers 200), and
// the first admin signed in.
type harness struct {
	*httptest.Server
	svc   *Service
	store *queries.Store
	clock *oidcClock
	admin string // the first admin's bearer token
	logs  *syncBuffer
}

// syncBuffer collects the service's log.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHarness(t testing.TB, store *queries.Store, cfgs ...func(*Config)) *harness {
	t.Helper()
	cfg := Config{Local: true, TokenTTL: time.Hour, Hash: cheapParams}
	for _, f := range cfgs {
		f(&cfg)
	}
	logs := &syncBuffer{}
	svc, err := New(cfg, store, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	clk := &oidcClock{now: time.Now()}
	svc.now, svc.auth.now = clk.Now, clk.Now
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(func(c *gin.Context) { c.Set("request_id", c.GetHeader("X-Request-ID")); c.Next() })
	r.Use(svc.Middleware(AccessTable()))
	svc.Routes(r)
	ok := func(c *gin.Context) { c.String(http.StatusOK, "ok") }
	r.GET("/dicomweb/studies", ok)
	r.POST("/dicomweb/studies", ok)
	r.DELETE("/dicomweb/studies/:study", ok)
	ts := httptest.NewServer(r)
	t.Cleanup(func() { ts.Close(); svc.Close(context.Background()) })
	h := &harness{Server: ts, svc: svc, store: store, clock: clk, logs: logs}
	if cfg.Local {
		if _, err := svc.EnsureAdmin(context.Background(), adminPassword); err != nil {
			t.Fatal(err)
		}
		h.admin = h.token(t, "admin", adminPassword)
	}
	return h
}

// forEachEngine runs fn with a fresh store on SQLite and on PostgreSQL.
func forEachEngine(t *testing.T, fn func(t *testing.T, store *queries.Store)) {
	for _, engine := range querytest.Engines {
		t.Run(engine, func(t *testing.T) { fn(t, querytest.Open(t, engine)) })
	}
}

// response is a finished request.
type response struct {
	status int
	header http.Header
	body   string
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
}

// errorBody is the JSON error shape.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Fields  []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"fields"`
}

// do sends a request; auth is a full Authorization header value ("" for none); a body that is not
// a string or form values is sent as JSON.
func (h *harness) do(t testing.TB, method, path, auth string, body any) response {
	t.Helper()
	var text, contentType string
	switch b := body.(type) {
	case nil:
	case string:
		text, contentType = b, "application/json"
	case url.Values:
		text, contentType = b.Encode(), "application/x-www-form-urlencoded"
	default:
		j, _ := json.Marshal(b)
		text, contentType = string(j), "application/json"
	}
	return h.doHeaders(t, method, path, map[string]string{"Authorization": auth, "Content-Type": contentType}, text)
}

func bearer(token string) string { return "Bearer " + token }

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// token signs in with the password grant and returns the access token.
func (h *harness) token(t testing.TB, username, password string) string {
	t.Helper()
	r := h.do(t, "POST", "/auth/token", "", url.Values{"grant_type": {"password"}, "username": {username}, "password": {password}})
	if r.status != 200 {
		t.Fatalf("sign in as %s: %d %s", username, r.status, r.body)
	}
	var tok tokenJSON
	r.json(t, &tok)
	return tok.AccessToken
}

// createUser makes a user through the API and returns it.
func (h *harness) createUser(t testing.TB, username, role string) userJSON {
	t.Helper()
	r := h.do(t, "POST", "/users", bearer(h.admin), map[string]string{"username": username, "password": username + " secret pass", "role": role})
	if r.status != 201 {
		t.Fatalf("create %s: %d %s", username, r.status, r.body)
	}
	var u userJSON
	r.json(t, &u)
	return u
}

// flushAudit writes the buffered audit records and starts a new writer.
func (h *harness) flushAudit(t testing.TB) {
	t.Helper()
	h.svc.audit.close(context.Background())
	h.svc.audit = newAuditLog(h.store, h.svc.log, h.svc.auth.metrics)
}

// doHeaders sends a request with the given headers ("" values are left out) and body.
func (h *harness) doHeaders(t testing.TB, method, path string, headers map[string]string, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, h.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

func queriesSQLite(t testing.TB) *queries.Store { return querytest.Open(t, queries.SQLite) }
