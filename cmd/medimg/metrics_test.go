package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/queries/querytest"
)

// scrape is /metrics as sample lines (name{labels} → value) and family names (from # TYPE).
type scrape struct {
	samples  map[string]float64
	families map[string]bool
}

func (in *instance) scrape(t *testing.T) scrape {
	t.Helper()
	code, body := in.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: status %d", code)
	}
	s := scrape{samples: map[string]float64{}, families: map[string]bool{}}
	for _, line := range strings.Split(body, "\n") {
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			s.families[strings.Fields(f)[0]] = true
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics: %q: %v", line, err)
		}
		s.samples[line[:i]] = v
	}
	return s
}

// exerciseServer makes the requests whose series the tests and dashboards expect: a STOW of two
// instances, a failed STOW, a search, a frame, a thumbnail twice (a cache miss, then a hit).
func exerciseServer(t *testing.T, srv *instance) {
	t.Helper()
	study, series, inst := dicomgen.UID(), dicomgen.UID(), dicomgen.UID()
	ct, body := stowBody(t,
		generated(t, dicomgen.Spec{StudyInstanceUID: study, SeriesInstanceUID: series, SOPInstanceUID: inst}),
		generated(t, dicomgen.Spec{StudyInstanceUID: study, SeriesInstanceUID: series, InstanceNumber: 2}))
	if resp := srv.post(t, "/dicomweb/studies", ct, bytes.NewReader(body)); resp.StatusCode != 200 {
		t.Fatalf("STOW: status %d %q\n%s", resp.StatusCode, resp.Header.Values("Warning"), srv.stderr)
	}
	ct, body = stowBody(t, []byte("not DICOM at all"))
	if resp := srv.post(t, "/dicomweb/studies", ct, bytes.NewReader(body)); resp.StatusCode != 400 && resp.StatusCode != 409 {
		t.Fatalf("STOW of garbage: status %d, want a failure", resp.StatusCode)
	}
	if code, _ := srv.get(t, "/dicomweb/studies?StudyInstanceUID="+study); code != 200 {
		t.Fatalf("search: status %d", code)
	}
	path := "/dicomweb/studies/" + study + "/series/" + series + "/instances/" + inst
	req := srv.request(t, http.MethodGet, path+"/frames/1", "", nil)
	req.Header.Set("Accept", `multipart/related; type="application/octet-stream"`)
	if resp, _ := do(t, req); resp.StatusCode != 200 {
		t.Fatalf("frame: status %d", resp.StatusCode)
	}
	for range 2 {
		if code, _ := srv.get(t, path+"/thumbnail"); code != 200 {
			t.Fatalf("thumbnail: status %d", code)
		}
	}
}

func TestMetricsAfterRequests(t *testing.T) {
	querytest.ForEachEngine(t, func(t *testing.T, dsn string) {
		srv := start(t, nil, "--database", dsn, "--blobs", "file:"+t.TempDir())
		exerciseServer(t, srv)
		m := srv.scrape(t)

		exact := map[string]float64{
			`medimg_stow_instances_total{reason="stored",result="stored"}`:                     2,
			`medimg_stow_instances_total{reason="cannot_understand",result="failed"}`:          1,
			`medimg_stow_instances_total{reason="duplicate",result="failed"}`:                  0,
			`medimg_dicomweb_request_duration_seconds_count{transaction="store"}`:              2,
			`medimg_dicomweb_request_duration_seconds_count{transaction="search_studies"}`:     1,
			`medimg_dicomweb_request_duration_seconds_count{transaction="retrieve_frames"}`:    1,
			`medimg_dicomweb_request_duration_seconds_count{transaction="retrieve_thumbnail"}`: 2,
			`medimg_dicomweb_request_duration_seconds_count{transaction="delete"}`:             0,
			`medimg_dicomweb_requests_total{code="200",transaction="search_studies"}`:          1,
			`medimg_render_cache_requests_total{result="hit"}`:                                 1,
			`medimg_render_cache_requests_total{result="miss"}`:                                1,
			`medimg_blob_operation_errors_total{operation="commit"}`:                           0,
			`medimg_blob_operation_duration_seconds_count{operation="commit"}`:                 2,
		}
		for k, want := range exact {
			if got, ok := m.samples[k]; !ok || got != want {
				t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
			}
		}
		// A 32×32 frame of 16-bit pixels is 2048 bytes, plus the multipart framing.
		if got := m.samples[`medimg_dicomweb_response_bytes_total{transaction="retrieve_frames"}`]; got < 2048 || got > 4096 {
			t.Errorf("frame response bytes = %v, want about 2 KiB", got)
		}
		if got := m.samples[`medimg_blob_operation_duration_seconds_count{operation="open"}`]; got < 1 {
			t.Errorf("blob opens = %v, want at least the frame's", got)
		}
		if got := m.samples[`medimg_stow_bytes_total`]; got < 2*2048 {
			t.Errorf("medimg_stow_bytes_total = %v, want at least two 32×32 images", got)
		}
		pools := []string{"read", "write"}
		if strings.HasPrefix(dsn, "postgres") {
			pools = []string{"shared"}
		}
		for _, pool := range pools {
			for _, name := range []string{"connections_open", "connections_in_use", "connections_idle", "wait_total", "wait_seconds_total", "connections_closed_idle_total"} {
				if _, ok := m.samples[`medimg_db_`+name+`{pool="`+pool+`"}`]; !ok {
					t.Errorf("no medimg_db_%s for pool %s", name, pool)
				}
			}
			if got := m.samples[`medimg_db_connections_max{pool="`+pool+`"}`]; got < 1 {
				t.Errorf("medimg_db_connections_max{pool=%q} = %v", pool, got)
			}
		}
		// Every database call is timed, named by its generated query or its first keyword: two
		// stored instances are two InsertInstance calls and at least two commits; the QIDO search
		// is SQL built at run time.
		for _, q := range []string{"InsertInstance", "commit", "select", "TokenByHash"} {
			if got := m.samples[`medimg_db_query_duration_seconds_count{query="`+q+`"}`]; got < 1 {
				t.Errorf(`medimg_db_query_duration_seconds_count{query=%q} = %v, want at least 1`, q, got)
			}
		}
		if got := m.samples[`medimg_db_query_duration_seconds_count{query="InsertInstance"}`]; got != 2 {
			t.Errorf("InsertInstance timed %v times, want 2 (two instances stored)", got)
		}
		queryLabel := regexp.MustCompile(`^medimg_db_query_[a-z_]+\{query="[A-Za-z]+"\}$`)
		for k := range m.samples {
			if strings.HasPrefix(k, "medimg_db_query_") && !strings.Contains(k, "_bucket") && !queryLabel.MatchString(k) {
				t.Errorf("query label not a name: %s", k)
			}
			if strings.Contains(k, "1.2.") || strings.Contains(k, "2.25.") {
				t.Errorf("a UID in a label: %s", k)
			}
		}
	})
}

// metricName finds medimg metric names in PromQL expressions.
var metricName = regexp.MustCompile(`medimg_[a-z_]+`)

// TestDashboardsAndAlertsUseExportedMetrics fails when a Grafana dashboard or an alert rule asks
// for a medimg metric that the server does not export (a rename, a typo).
func TestDashboardsAndAlertsUseExportedMetrics(t *testing.T) {
	files, err := filepath.Glob("../../deploy/grafana/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards under deploy/grafana: %v", err)
	}
	files = append(files, "../../deploy/prometheus/alerts.yml")
	used := map[string][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range metricName.FindAllString(string(b), -1) {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(name, suffix); ok && !strings.HasSuffix(name, "_total_count") {
					name = base
					break
				}
			}
			if !slices.Contains(used[name], f) {
				used[name] = append(used[name], filepath.Base(f))
			}
		}
	}
	srv := start(t, nil, "--database", querytest.DSN(t, "sqlite"), "--blobs", "file:"+t.TempDir())
	exerciseServer(t, srv)
	m := srv.scrape(t)
	if len(used) < 10 {
		t.Errorf("only %d medimg metrics found in the dashboards and alerts", len(used))
	}
	for name, where := range used {
		if !m.families[name] {
			t.Errorf("%s (used in %s) is not exported", name, strings.Join(where, ", "))
		}
	}
}

// TestAlertRules runs Prometheus's own checker on the rules and the Compose profile's configuration,
// and the rules' unit tests (alerts_test.yml: each alert fires on a bad service with its
// annotations rendered, and none fires on a healthy one).
// Without promtool the test is skipped, naming the package, except under CI=true, where it fails.
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but no promtool: .ci/run installs Debian's prometheus package")
		}
		t.Skip("alert rule tests skipped: install promtool (apt-get install --no-install-recommends prometheus)")
	}
	for _, args := range [][]string{
		{"check", "rules", "alerts.yml"},
		{"test", "rules", "alerts_test.yml"},
		{"check", "config", "prometheus-compose.yml"}, // the monitoring profile's (prometheus.yml uses Kubernetes discovery, which Debian's promtool lacks)
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "../../deploy/prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
