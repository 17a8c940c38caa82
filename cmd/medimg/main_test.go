package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
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

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/internal/testfiles"
	"github.com/medimg/medimg/queries/querytest"
)

// testAdminPassword is the first admin's password in tests (MEDIMG_ADMIN_PASSWORD).
const testAdminPassword = "correct horse battery staple"

// instance is a running medimg started through run(), as main does.
type instance struct {
	url string
	// token is the first admin's bearer token, signed in by start (empty with --auth none).
	token  string
	cancel context.CancelFunc
	done   chan error
	stderr *syncBuffer
	once   sync.Once
	err    error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

// start runs the server on port 0 with the default --auth local (the first admin's password is
// testAdminPassword unless env says otherwise), waits until /healthz answers, and signs in as the
// admin when the server has local users.
func start(t *testing.T, env map[string]string, args ...string) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	in := &instance{cancel: cancel, done: make(chan error, 1), stderr: &syncBuffer{}}
	getenv := func(k string) string {
		if v, ok := env[k]; ok || k != "MEDIMG_ADMIN_PASSWORD" {
			return v
		}
		return testAdminPassword
	}
	go func() {
		err := run(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), getenv, strings.NewReader(""), outW, in.stderr)
		outW.Close()
		in.done <- err
	}()
	line, err := bufio.NewReader(outR).ReadString('\n')
	go io.Copy(io.Discard, outR)
	if !strings.HasPrefix(line, "medimg listening on ") {
		cancel()
		t.Fatalf("server did not start: %q %v\n%s", line, err, in.stderr)
	}
	in.url = strings.TrimSpace(strings.TrimPrefix(line, "medimg listening on "))
	t.Cleanup(func() { in.stop(t) })
	for range 50 {
		if resp, err := http.Get(in.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				if pw := getenv("MEDIMG_ADMIN_PASSWORD"); pw != "" {
					in.token = in.signIn(t, "admin", pw)
				}
				return in
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("/healthz never answered 200")
	return nil
}

// stop cancels the server as SIGTERM would and waits for run to return; it may be called again.
func (in *instance) stop(t *testing.T) {
	t.Helper()
	in.once.Do(func() {
		in.cancel()
		select {
		case in.err = <-in.done:
		case <-time.After(30 * time.Second):
			t.Fatal("server did not stop within 30 s")
		}
		if in.err != nil {
			t.Errorf("run returned %v", in.err)
		}
	})
}

func generated(t *testing.T, spec dicomgen.Spec) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := dicomgen.Write(&buf, spec); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// stowBody builds a multipart/related body as OHIF sends it (quoted boundary).
func stowBody(t *testing.T, files ...[]byte) (contentType string, body []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range files {
		pw, _ := w.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}})
		pw.Write(f)
	}
	w.Close()
	return `multipart/related; type="application/dicom"; boundary="` + w.Boundary() + `"`, buf.Bytes()
}

// signIn returns a bearer token from POST /auth/token, or "" when the server has no local users.
func (in *instance) signIn(t *testing.T, username, password string) string {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {username}, "password": {password}}
	resp, err := http.PostForm(in.url+"/auth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return ""
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("sign in as %s: status %d, %v", username, resp.StatusCode, err)
	}
	return tok.AccessToken
}

// request makes a request carrying the admin's token.
func (in *instance) request(t *testing.T, method, path, contentType string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, in.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if in.token != "" {
		req.Header.Set("Authorization", "Bearer "+in.token)
	}
	return req
}

// do sends req and returns the status and body.
func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (in *instance) post(t *testing.T, path, contentType string, body io.Reader) *http.Response {
	t.Helper()
	resp, _ := do(t, in.request(t, http.MethodPost, path, contentType, body))
	return resp
}

func (in *instance) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, body := do(t, in.request(t, http.MethodGet, path, "", nil))
	return resp.StatusCode, body
}

func TestStoreSurvivesRestart(t *testing.T) {
	querytest.ForEachEngine(t, func(t *testing.T, dsn string) {
		blobs := "file:" + t.TempDir()
		srv := start(t, nil, "--database", dsn, "--blobs", blobs)
		var files [][]byte
		for _, name := range []string{"1.dcm", "2.dcm", "3.dcm", "4.dcm", "5.dcm", "6.dcm"} {
			files = append(files, testfiles.Read(t, name))
		}
		study := dicomgen.UID()
		files = append(files, generated(t, dicomgen.Spec{StudyInstanceUID: study}))
		ct, body := stowBody(t, files...)
		if resp := srv.post(t, "/dicomweb/studies", ct, bytes.NewReader(body)); resp.StatusCode != 200 {
			t.Fatalf("STOW: status %d %q\n%s", resp.StatusCode, resp.Header.Values("Warning"), srv.stderr)
		}
		if code, _ := srv.get(t, "/readyz"); code != 200 {
			t.Errorf("/readyz = %d", code)
		}
		_, metrics := srv.get(t, "/metrics")
		for _, want := range []string{`medimg_stow_instances_total{reason="stored",result="stored"} 7`, `medimg_http_requests_total{code="200",method="POST",route="/dicomweb/studies"} 1`, "go_goroutines"} {
			if !strings.Contains(metrics, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		srv.stop(t)

		srv = start(t, nil, "--database", dsn, "--blobs", blobs)
		ct, body = stowBody(t, files[6])
		if resp := srv.post(t, "/dicomweb/studies", ct, bytes.NewReader(body)); resp.StatusCode != 409 {
			t.Errorf("re-sending a stored instance after a restart: status %d, want 409 (duplicate)", resp.StatusCode)
		}
		if resp, body := do(t, srv.request(t, http.MethodDelete, "/dicomweb/studies/"+study, "", nil)); resp.StatusCode != 204 {
			t.Fatalf("DELETE study after restart: %d %s", resp.StatusCode, body)
		}
	})
}

func TestShutdownFinishesInFlightStore(t *testing.T) {
	srv := start(t, nil, "--database", querytest.DSN(t, "sqlite"), "--blobs", "file:"+t.TempDir())
	ct, body := stowBody(t, generated(t, dicomgen.Spec{Rows: 128, Columns: 128}))
	pr, pw := io.Pipe()
	result := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(srv.request(t, http.MethodPost, "/dicomweb/studies", ct, pr))
		if err != nil {
			result <- -1
			return
		}
		resp.Body.Close()
		result <- resp.StatusCode
	}()
	pw.Write(body[:len(body)/2])
	time.Sleep(100 * time.Millisecond) // the request is in flight
	srv.cancel()                       // SIGTERM
	time.Sleep(100 * time.Millisecond)
	pw.Write(body[len(body)/2:])
	pw.Close()
	if code := <-result; code != 200 {
		t.Errorf("in-flight STOW during shutdown: status %d, want 200", code)
	}
	srv.stop(t)
}

func TestErrorsAreJSONAndCORS(t *testing.T) {
	srv := start(t, nil, "--database", querytest.DSN(t, "sqlite"), "--blobs", "file:"+t.TempDir(), "--cors-origins", "https://viewer.example.org")
	code, body := srv.get(t, "/no/such/route")
	if code != 404 || !strings.Contains(body, `"code":"not_found"`) {
		t.Errorf("unknown route: %d %s", code, body)
	}
	req, _ := http.NewRequest(http.MethodOptions, srv.url+"/dicomweb/studies", nil)
	req.Header.Set("Origin", "https://viewer.example.org")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://viewer.example.org" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Range") ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Accept") ||
		resp.Header.Get("Access-Control-Allow-Methods") != "GET, POST, PATCH, DELETE, OPTIONS" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	req, _ = http.NewRequest(http.MethodPost, srv.url+"/dicomweb/studies", strings.NewReader("x"))
	req.Header.Set("Origin", "https://viewer.example.org")
	resp, _ = do(t, req)
	if resp.StatusCode != 401 || resp.Header.Get("Access-Control-Allow-Origin") == "" || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("a request without credentials from an allowed origin: %d %v, want 401 with CORS headers (a browser hides it otherwise)", resp.StatusCode, resp.Header)
	}
	req = srv.request(t, http.MethodPost, "/dicomweb/studies", "text/plain", strings.NewReader("x"))
	req.Header.Set("Origin", "https://viewer.example.org")
	resp, _ = do(t, req)
	if resp.StatusCode != 415 || resp.Header.Get("Access-Control-Allow-Origin") == "" {
		t.Errorf("an error response lacks CORS headers: %d %v", resp.StatusCode, resp.Header)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff on every response", resp.Header.Get("X-Content-Type-Options"))
	}
	for _, h := range []string{"Content-Type", "Content-Length", "Content-Range", "Accept-Ranges", "ETag", "Warning", "Location"} {
		if !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), h) {
			t.Errorf("Access-Control-Expose-Headers lacks %s", h)
		}
	}
	req.Header.Set("Origin", "https://evil.example.org")
	req.Body = io.NopCloser(strings.NewReader("x"))
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("an origin not listed got CORS headers")
	}
}

func TestConfiguration(t *testing.T) {
	t.Run("help_documents_every_flag", func(t *testing.T) {
		var stderr bytes.Buffer
		if err := run(context.Background(), []string{"--help"}, func(string) string { return "" }, nil, io.Discard, &stderr); err != nil {
			t.Fatal(err)
		}
		for _, flag := range []string{"listen", "metrics-listen", "database", "blobs", "public-url", "trusted-proxies", "auth", "token-ttl",
			"oidc-issuer", "oidc-audience", "oidc-roles-claim", "cors-origins", "max-upload-bytes", "on-duplicate", "qido-case-sensitive",
			"log-format", "log-level", "shutdown-timeout", "io-timeout"} {
			env := "MEDIMG_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
			if !strings.Contains(stderr.String(), "-"+flag) || !strings.Contains(stderr.String(), env) {
				t.Errorf("--help does not document --%s with %s", flag, env)
			}
		}
	})
	t.Run("environment_sets_defaults", func(t *testing.T) {
		dir := t.TempDir()
		srv := start(t, map[string]string{"MEDIMG_DATABASE": "sqlite:" + filepath.Join(dir, "env.db"), "MEDIMG_BLOBS": "file:" + filepath.Join(dir, "blobs")})
		if _, err := os.Stat(filepath.Join(dir, "env.db")); err != nil {
			t.Errorf("MEDIMG_DATABASE was not used: %v", err)
		}
		ct, body := stowBody(t, generated(t, dicomgen.Spec{}))
		if resp := srv.post(t, "/dicomweb/studies", ct, bytes.NewReader(body)); resp.StatusCode != 200 {
			t.Fatalf("STOW: %d", resp.StatusCode)
		}
		if _, err := os.Stat(filepath.Join(dir, "blobs", "studies")); err != nil {
			t.Errorf("MEDIMG_BLOBS was not used: %v", err)
		}
	})
	t.Run("s3_unreachable_fails_fast_and_clearly", func(t *testing.T) {
		// Credentials from the environment, as the AWS chain finds them; no instance-role lookup.
		t.Setenv("AWS_ACCESS_KEY_ID", "test")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
		t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
		args := []string{"--database", "sqlite:" + filepath.Join(t.TempDir(), "x.db"),
			"--blobs", "s3://bucket?endpoint=http://127.0.0.1:1&path-style=true&region=us-east-1"}
		begin := time.Now()
		err := run(context.Background(), args, func(string) string { return "" }, nil, io.Discard, io.Discard)
		t.Logf("run: %v", err)
		if err == nil || !strings.Contains(err.Error(), "s3 bucket bucket") || !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Errorf("run with an unreachable S3 endpoint = %v, want an error naming the bucket and the endpoint", err)
		}
		if d := time.Since(begin); d > 5*time.Second {
			t.Errorf("failing took %v, want a fast failure", d)
		}
	})
	t.Run("s3_blobs_hold_what_is_stored", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "test")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
		t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
		backend := s3mem.New()
		if err := backend.CreateBucket("pacs"); err != nil {
			t.Fatal(err)
		}
		s3srv := httptest.NewServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
		defer s3srv.Close()
		srv := start(t, nil, "--database", "sqlite:"+filepath.Join(t.TempDir(), "s3.db"),
			"--blobs", "s3://pacs/medimg?endpoint="+s3srv.URL+"&path-style=true&region=us-east-1")
		study := dicomgen.UID()
		ct, body := stowBody(t, generated(t, dicomgen.Spec{StudyInstanceUID: study}))
		if resp := srv.post(t, "/dicomweb/studies", ct, bytes.NewReader(body)); resp.StatusCode != 200 {
			t.Fatalf("STOW: %d\n%s", resp.StatusCode, srv.stderr)
		}
		prefix := gofakes3.Prefix{HasPrefix: true, Prefix: "medimg/studies/"}
		objs, err := backend.ListBucket("pacs", &prefix, gofakes3.ListBucketPage{})
		if err != nil || len(objs.Contents) != 1 {
			t.Fatalf("bucket holds %v, %v; want one object under medimg/studies/", objs, err)
		}
		if code, body := srv.get(t, "/dicomweb/studies/"+study); code != 200 || !strings.Contains(body, "DICM") {
			t.Errorf("retrieving the study from S3: %d, %d bytes", code, len(body))
		}
	})
	bad := map[string][]string{
		"unknown_database":    {"--database", "mysql://x"},
		"s3_bad_url":          {"--database", "sqlite:" + filepath.Join(t.TempDir(), "x.db"), "--blobs", "s3://bucket?colour=red"},
		"bad_log_format":      {"--log-format", "xml"},
		"bad_upload_limit":    {"--max-upload-bytes", "lots"},
		"bad_on_duplicate":    {"--database", "sqlite:" + filepath.Join(t.TempDir(), "y.db"), "--blobs", "file:" + t.TempDir(), "--on-duplicate", "merge"},
		"unknown_auth":        {"--auth", "ldap"},
		"none_combined":       {"--auth", "none,local"},
		"oidc_without_issuer": {"--auth", "oidc"},
		"short_token_ttl":     {"--token-ttl", "10s"},
		"bad_trusted_proxy":   {"--trusted-proxies", "proxy.example.org"},
		"relative_public_url": {"--public-url", "pacs.example.org"},
		"stray_argument":      {"serve"},
		"unknown_flag":        {"--colour"},
	}
	for name, args := range bad {
		t.Run("rejects_"+name, func(t *testing.T) {
			if err := run(context.Background(), args, func(string) string { return "" }, nil, io.Discard, io.Discard); err == nil {
				t.Errorf("run(%q) succeeded", args)
			}
		})
	}
}

func TestDefaultsCreateDataDirectory(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	srv := start(t, nil)
	ct, body := stowBody(t, generated(t, dicomgen.Spec{}))
	if resp := srv.post(t, "/dicomweb/studies", ct, bytes.NewReader(body)); resp.StatusCode != 200 {
		t.Fatalf("STOW with the defaults: %d", resp.StatusCode)
	}
	srv.stop(t)
	for _, p := range []string{"data/medimg.db", "data/blobs/studies"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("default layout: %v", err)
		}
	}
}
