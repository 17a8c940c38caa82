package dicomweb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/gin-gonic/gin"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/internal/testfiles"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
	"github.com/medimg/medimg/storage"
	"github.com/medimg/medimg/users"
)

// server is a real DICOMweb HTTP server on a real database and blob directory.
type server struct {
	*httptest.Server
	store *queries.Store
	blobs storage.Store
	dir   string
	// logs holds what the service logged (text handler); a request's X-Test-Request-ID header
	// becomes its request ID.
	logs *logBuffer
}

// logBuffer is a bytes.Buffer safe for the concurrent handlers of a test server.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newServer(t testing.TB, engine string, cfg dicomweb.Config, wrap ...func(storage.Store) storage.Store) *server {
	t.Helper()
	return serveStore(t, querytest.Open(t, engine), cfg, wrap...)
}

// serveStore is newServer on a store of the caller's (a kept benchmark database, for one).
func serveStore(t testing.TB, store *queries.Store, cfg dicomweb.Config, wrap ...func(storage.Store) storage.Store) *server {
	t.Helper()
	dir := t.TempDir()
	fs, err := storage.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	var blobs storage.Store = fs
	if *benchBlobs == "s3" {
		blobs = newBenchS3(t)
	}
	for _, w := range wrap {
		blobs = w(blobs)
	}
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	svc, err := dicomweb.New(cfg, store, blobs, log, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(func(c *gin.Context) {
		if id := c.GetHeader("X-Test-Request-ID"); id != "" {
			c.Set("request_id", id)
		}
	})
	var us *users.Service
	if *benchAuth {
		us = withAuth(t, r, store, log)
	}
	svc.Routes(r.Group("/dicomweb"))
	svc.URIRoutes(r.Group("/wado"))
	ts := httptest.NewServer(r)
	t.Cleanup(ts.Close)
	if us != nil {
		signInForBenchmarks(t, ts.URL)
	}
	return &server{Server: ts, store: store, blobs: blobs, dir: dir, logs: logs}
}

// benchBlobs puts the blob store on an in-process S3 server (gofakes3 on loopback) instead of the
// filesystem, to compare the two in the same run.
var benchBlobs = flag.String("bench-blobs", "file", "blob store of the benchmark servers: file or s3 (in-process gofakes3)")

// newBenchS3 is an S3 store on an in-process gofakes3 server with a bucket of its own.
func newBenchS3(t testing.TB) storage.Store {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(srv.Close)
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("bench", "bench", ""),
		DisableLogOutputChecksumValidationSkipped: true,
	})
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("bench")}); err != nil {
		t.Fatal(err)
	}
	st, err := storage.NewS3(context.Background(), storage.S3Config{Bucket: "bench", Client: client, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// benchAuth runs the server behind the authentication middleware with --auth local and the audit
// trail on, as medimg serves it by default, so that benchmarks measure what they cost.
var benchAuth = flag.Bool("bench-auth", false, "serve behind --auth local and the audit trail; requests carry a bearer token")

const benchAdminPassword = "benchmark admin passphrase"

// withAuth puts the users service's middleware and routes on r.
func withAuth(t testing.TB, r *gin.Engine, store *queries.Store, log *slog.Logger) *users.Service {
	t.Helper()
	us, err := users.New(users.Config{Local: true, TokenTTL: time.Hour, StoredStudies: dicomweb.StoredStudies}, store, log, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { us.Close(context.Background()) })
	if _, err := us.EnsureAdmin(context.Background(), benchAdminPassword); err != nil {
		t.Fatal(err)
	}
	r.Use(func(c *gin.Context) { c.Set("request_id", "bench"); c.Next() }, us.Middleware(users.AccessTable()))
	us.Routes(r)
	return us
}

// signInForBenchmarks gets a token and makes every request of http.DefaultTransport to that
// server carry it (the benchmark clients use the default client; several servers may run at once,
// each with its own database and token).
func signInForBenchmarks(t testing.TB, base string) {
	t.Helper()
	resp, err := http.PostForm(base+"/auth/token", url.Values{"username": {"admin"}, "password": {benchAdminPassword}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("sign in: %d %v", resp.StatusCode, err)
	}
	host := strings.TrimPrefix(base, "http://")
	benchTokens.Store(host, "Bearer "+tok.AccessToken)
	t.Cleanup(func() { benchTokens.Delete(host) })
	installBearerTransport.Do(func() { http.DefaultTransport = bearerTransport{http.DefaultTransport} })
}

var (
	benchTokens            sync.Map // host → Authorization header
	installBearerTransport sync.Once
)

// bearerTransport adds the Authorization header of the request's server.
type bearerTransport struct{ base http.RoundTripper }

func (b bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if h, ok := benchTokens.Load(req.URL.Host); ok && req.Header.Get("Authorization") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", h.(string))
	}
	return b.base.RoundTrip(req)
}

// forEachEngine runs fn on SQLite and on PostgreSQL.
func forEachEngine(t *testing.T, fn func(t *testing.T, engine string)) {
	for _, engine := range querytest.Engines {
		t.Run(engine, func(t *testing.T) { fn(t, engine) })
	}
}

// part is one body part of a STOW request.
type part struct {
	contentType string // "" for none; defaults are set by the caller
	data        []byte
}

func dicomPart(data []byte) part { return part{"application/dicom", data} }

// multipartBody builds a multipart/related body.
func multipartBody(t testing.TB, boundary string, parts ...part) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.SetBoundary(boundary); err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(p.data)
	}
	w.Close()
	return buf.Bytes()
}

const stowContentType = `multipart/related; type="application/dicom"; boundary="medimg-test-boundary"`

// stowResponse is the parts of a Store Instances Response that tests check.
type stowResponse struct {
	status     int
	warnings   []string
	retrieve   string
	referenced []refItem
	failed     []refItem
	raw        map[string]json.RawMessage
}

type refItem struct {
	classUID, instanceUID, retrieveURL string
	reason                             int
}

func (s *server) stow(t *testing.T, path, contentType string, body []byte) stowResponse {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	return doStow(t, req)
}

func (s *server) stowParts(t *testing.T, parts ...part) stowResponse {
	t.Helper()
	return s.stow(t, "/dicomweb/studies", stowContentType, multipartBody(t, "medimg-test-boundary", parts...))
}

func doStow(t *testing.T, req *http.Request) stowResponse {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := stowResponse{status: resp.StatusCode, warnings: resp.Header.Values("Warning")}
	if ct := resp.Header.Get("Content-Type"); ct != "application/dicom+json" {
		out.raw = map[string]json.RawMessage{"_body": body}
		return out
	}
	var ds map[string]struct {
		VR    string            `json:"vr"`
		Value []json.RawMessage `json:"Value"`
	}
	if err := json.Unmarshal(body, &ds); err != nil {
		t.Fatalf("STOW response is not DICOM JSON: %v\n%s", err, body)
	}
	if v := ds["00081190"].Value; len(v) == 1 {
		json.Unmarshal(v[0], &out.retrieve)
	}
	items := func(tag string) []refItem {
		var list []refItem
		for _, raw := range ds[tag].Value {
			var item map[string]struct {
				Value []json.RawMessage `json:"Value"`
			}
			if err := json.Unmarshal(raw, &item); err != nil {
				t.Fatalf("sequence item: %v", err)
			}
			var it refItem
			get := func(tag string, dst any) {
				if v := item[tag].Value; len(v) == 1 {
					json.Unmarshal(v[0], dst)
				}
			}
			get("00081150", &it.classUID)
			get("00081155", &it.instanceUID)
			get("00081190", &it.retrieveURL)
			get("00081197", &it.reason)
			list = append(list, it)
		}
		return list
	}
	out.referenced, out.failed = items("00081199"), items("00081198")
	return out
}

// generated returns a synthetic instance made by dicomgen.
func generated(t testing.TB, spec dicomgen.Spec) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := dicomgen.Write(&buf, spec); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// realFile reads one of the real DICOM files shipped with github.com/suyashkumar/dicom v1.1.0.
func realFile(t testing.TB, name string) []byte { return testfiles.Read(t, name) }

// blobFiles lists the committed blob keys.
func (s *server) blobFiles(t *testing.T) []string {
	t.Helper()
	var keys []string
	if err := s.blobs.List(context.Background(), "", func(i storage.Info) error {
		keys = append(keys, i.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

// uploadsLeft counts temporary upload files still on disk.
func (s *server) uploadsLeft(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.dir, ".uploads"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(entries)
}

func (s *server) do(t *testing.T, method, path string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func fmtReasons(items []refItem) string {
	var b strings.Builder
	for _, it := range items {
		fmt.Fprintf(&b, "%s:0x%04X ", it.instanceUID, it.reason)
	}
	return b.String()
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func storagePut(ctx context.Context, s *server, key string) (int64, error) {
	return storage.Put(ctx, s.blobs, key, strings.NewReader("orphan"))
}
