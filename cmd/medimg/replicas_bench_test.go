package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
)

var (
	benchReplicas         = flag.Bool("bench-replicas", false, "run TestBenchmarkReplicas: STOW and read throughput of one replica against two (PostgreSQL + S3)")
	benchReplicasDuration = flag.Duration("bench-replicas-duration", 8*time.Second, "how long TestBenchmarkReplicas drives each configuration")
	benchReplicasRounds   = flag.Int("bench-replicas-rounds", 1, "how many times TestBenchmarkReplicas measures every configuration, interleaved")
)

const (
	benchClients    = 4 // concurrent clients, as in dicomweb.BenchmarkStoreInstances
	benchPerRequest = 5 // instances per STOW request
	benchWarmUp     = time.Second
	benchSeedStudy  = 20 // studies (one series of benchPerRequest instances each) seeded for the read load
)

// TestBenchmarkReplicas measures what a second replica on the same PostgreSQL database and S3
// bucket does to throughput: the same STOW load (4 clients, 64×64 instances, 5 per request) and
// then a read load (QIDO studies?limit=10 and series metadata, alternately) against one replica and
// against two with the clients split between them, each configuration on a fresh database and
// bucket; and, for comparison, the single-replica STOW load on file blobs. Every non-2xx answer is
// an error; there must be none. start takes *testing.T, so this is a test behind a flag, not a
// testing.B benchmark:
//
//	MEDIMG_TEST_POSTGRES_URL=postgres://... go test -run '^TestBenchmarkReplicas$' -bench-replicas -v ./cmd/medimg/
//
// Everything (clients, replicas, fake S3, PostgreSQL) shares the machine's cores, so a second
// replica adds no CPU: the question it answers is whether two replicas lose throughput to
// contention (row locks on the shared study and series, connection pools), not whether they scale.
func TestBenchmarkReplicas(t *testing.T) {
	if !*benchReplicas {
		t.Skip("a benchmark: run with -bench-replicas")
	}
	querytest.DSN(t, queries.Postgres) // skips without PostgreSQL, before anything is measured
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	type config struct {
		name     string
		load     string // "stow" or "read"
		blobs    string // "s3" or "file"
		replicas int
	}
	configs := []config{
		{"STOW  s3   1 replica ", "stow", "s3", 1},
		{"STOW  s3   2 replicas", "stow", "s3", 2},
		{"STOW  file 1 replica ", "stow", "file", 1},
		{"read  s3   1 replica ", "read", "s3", 1},
		{"read  s3   2 replicas", "read", "s3", 2},
	}
	results := map[string][]loadResult{}
	for round := range *benchReplicasRounds {
		for _, c := range configs {
			t.Run(fmt.Sprintf("%s/%s/%d/round%d", c.load, c.blobs, c.replicas, round+1), func(t *testing.T) {
				replicas := startBenchReplicas(t, c.blobs, c.replicas)
				var r loadResult
				switch c.load {
				case "stow":
					r = benchStowLoad(t, replicas)
				case "read":
					r = benchReadLoad(t, replicas)
				}
				t.Logf("%s: %s", c.name, r)
				results[c.name] = append(results[c.name], r)
			})
		}
	}

	// The table: per configuration, each round and the mean; then the ratios of the means.
	mean := func(name string, f func(loadResult) float64) float64 {
		var sum float64
		for _, r := range results[name] {
			sum += f(r)
		}
		return sum / float64(len(results[name]))
	}
	inst := func(r loadResult) float64 { return r.instancesPerSecond() }
	reqs := func(r loadResult) float64 { return r.requestsPerSecond() }
	var table strings.Builder
	fmt.Fprintf(&table, "\n%d clients, %v per configuration after %v warm-up, %d round(s); STOW: 64×64 16-bit, %d instances per request\n",
		benchClients, *benchReplicasDuration, benchWarmUp, *benchReplicasRounds, benchPerRequest)
	fmt.Fprintf(&table, "%-22s %6s %12s %11s %9s %8s %8s %8s\n", "configuration", "round", "instances/s", "requests/s", "requests", "errors", "p50", "p99")
	totalErrors := 0
	for _, c := range configs {
		for i, r := range results[c.name] {
			is := "-"
			if c.load == "stow" {
				is = fmt.Sprintf("%.0f", r.instancesPerSecond())
			}
			fmt.Fprintf(&table, "%-22s %6d %12s %11.1f %9d %8d %8v %8v\n", c.name, i+1, is, r.requestsPerSecond(), r.requests, r.errors,
				r.percentile(50).Round(100*time.Microsecond), r.percentile(99).Round(100*time.Microsecond))
			totalErrors += r.errors
		}
		if len(results[c.name]) > 1 {
			is := "-"
			if c.load == "stow" {
				is = fmt.Sprintf("%.0f", mean(c.name, inst))
			}
			fmt.Fprintf(&table, "%-22s %6s %12s %11.1f\n", c.name, "mean", is, mean(c.name, reqs))
		}
	}
	ratio := func(label, a, b string, f func(loadResult) float64) {
		if len(results[a]) > 0 && len(results[b]) > 0 {
			fmt.Fprintf(&table, "%-46s %.2f\n", label, mean(a, f)/mean(b, f))
		}
	}
	ratio("STOW s3: two replicas / one (instances/s)", "STOW  s3   2 replicas", "STOW  s3   1 replica ", inst)
	ratio("read s3: two replicas / one (requests/s)", "read  s3   2 replicas", "read  s3   1 replica ", reqs)
	ratio("STOW one replica: file / s3 (instances/s)", "STOW  file 1 replica ", "STOW  s3   1 replica ", inst)
	fmt.Fprintf(&table, "errors (non-2xx or failed requests), all configurations: %d\n", totalErrors)
	t.Log(table.String())
	if totalErrors != 0 {
		t.Errorf("%d requests failed", totalErrors)
	}
}

// startBenchReplicas starts n replicas on a fresh PostgreSQL database and a fresh blob store:
// one in-process gofakes3 bucket ("s3") or a temporary directory ("file").
func startBenchReplicas(t *testing.T, store string, n int) []*instance {
	t.Helper()
	dsn := querytest.DSN(t, queries.Postgres)
	var blobs string
	switch store {
	case "s3":
		backend := s3mem.New()
		if err := backend.CreateBucket("pacs"); err != nil {
			t.Fatal(err)
		}
		s3 := httptest.NewServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
		t.Cleanup(s3.Close)
		blobs = "s3://pacs?endpoint=" + s3.URL + "&path-style=true&region=us-east-1"
	case "file":
		blobs = "file:" + filepath.Join(t.TempDir(), "blobs")
	default:
		t.Fatalf("unknown blob store %q", store)
	}
	replicas := make([]*instance, n)
	for i := range replicas {
		replicas[i] = start(t, nil, "--database", dsn, "--blobs", blobs)
	}
	return replicas
}

// benchClient keeps a connection per client to each replica: http.DefaultClient keeps only two
// idle connections per host, which would make one replica with 4 clients reconnect all the time
// and two replicas with 2 clients each not at all, favouring two replicas.
func benchClient(t *testing.T) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 2 * benchClients
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// loadResult is what one configuration's clients did in the measured period.
type loadResult struct {
	elapsed   time.Duration
	requests  int
	instances int // STOW only
	errors    int
	latencies []time.Duration
}

func (r loadResult) requestsPerSecond() float64 { return float64(r.requests) / r.elapsed.Seconds() }
func (r loadResult) instancesPerSecond() float64 {
	return float64(r.instances) / r.elapsed.Seconds()
}

func (r loadResult) percentile(p int) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[(len(r.latencies)-1)*p/100]
}

func (r loadResult) String() string {
	instances := ""
	if r.instances > 0 {
		instances = fmt.Sprintf("%.0f instances/s, ", r.instancesPerSecond())
	}
	return fmt.Sprintf("%s%.1f requests/s, %d requests, %d errors, p50 %v, p99 %v in %v",
		instances, r.requestsPerSecond(), r.requests, r.errors,
		r.percentile(50).Round(100*time.Microsecond), r.percentile(99).Round(100*time.Microsecond), r.elapsed.Round(time.Millisecond))
}

// drive runs benchClients clients for d, client c sending to replicas[c%len(replicas)] (the
// clients split round-robin between the replicas). newRequest makes a client's next request and
// says how many instances it carries. Each non-2xx answer or failed request counts as an error;
// the first few are logged.
func drive(t *testing.T, client *http.Client, replicas []*instance, d time.Duration,
	newRequest func(in *instance, n uint64) (*http.Request, int)) loadResult {
	t.Helper()
	var seq atomic.Uint64
	var mu sync.Mutex
	var total loadResult
	logged := 0
	var wg sync.WaitGroup
	begin := time.Now()
	deadline := begin.Add(d)
	for c := range benchClients {
		in := replicas[c%len(replicas)]
		wg.Go(func() {
			var r loadResult
			for time.Now().Before(deadline) {
				req, instances := newRequest(in, seq.Add(1))
				sent := time.Now()
				resp, err := client.Do(req)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				r.latencies = append(r.latencies, time.Since(sent))
				r.requests++
				failed := err != nil || resp.StatusCode/100 != 2
				if failed {
					r.errors++
					mu.Lock()
					if logged < 5 {
						logged++
						if err != nil {
							t.Logf("%s %s: %v", req.Method, req.URL, err)
						} else {
							t.Logf("%s %s: %d %.300s", req.Method, req.URL, resp.StatusCode, body)
						}
					}
					mu.Unlock()
				} else {
					r.instances += instances
				}
			}
			mu.Lock()
			total.requests += r.requests
			total.instances += r.instances
			total.errors += r.errors
			total.latencies = append(total.latencies, r.latencies...)
			mu.Unlock()
		})
	}
	wg.Wait()
	total.elapsed = time.Since(begin)
	slices.Sort(total.latencies)
	return total
}

// benchTemplate is an instance whose SOP Instance UID can be swapped for another of the same
// length without re-encoding, so that the clients spend their time sending, not generating.
type benchTemplate struct {
	data, uid []byte
}

func newBenchTemplate(t *testing.T, spec dicomgen.Spec) benchTemplate {
	spec.SOPInstanceUID = "2.25.9" + fmt.Sprintf("%038d", 0)
	return benchTemplate{data: generated(t, spec), uid: []byte(spec.SOPInstanceUID)}
}

func (b benchTemplate) instance(n uint64) []byte {
	return bytes.ReplaceAll(b.data, b.uid, []byte("2.25.9"+fmt.Sprintf("%038d", n)))
}

// benchStowLoad is the STOW load of dicomweb.BenchmarkStoreInstances: every instance in one study
// and series, benchPerRequest instances of 64×64 16-bit per request. A warm-up period, not
// counted, comes first.
func benchStowLoad(t *testing.T, replicas []*instance) loadResult {
	t.Helper()
	client := benchClient(t)
	tmpl := newBenchTemplate(t, dicomgen.Spec{StudyInstanceUID: dicomgen.UID(), SeriesInstanceUID: dicomgen.UID(), Rows: 64, Columns: 64})
	stow := func(in *instance, n uint64) (*http.Request, int) {
		files := make([][]byte, benchPerRequest)
		for i := range files {
			files[i] = tmpl.instance(n*benchPerRequest + uint64(i))
		}
		ct, body := stowBody(t, files...)
		req := in.request(t, http.MethodPost, "/dicomweb/studies", ct, bytes.NewReader(body))
		req.Header.Set("Accept", "application/dicom+json")
		return req, benchPerRequest
	}
	warm := drive(t, client, replicas, benchWarmUp, stow)
	r := drive(t, client, replicas, *benchReplicasDuration, func(in *instance, n uint64) (*http.Request, int) {
		return stow(in, n+1<<32) // UIDs apart from the warm-up's
	})
	r.errors += warm.errors
	return r
}

// benchReadLoad seeds benchSeedStudy studies of one series of benchPerRequest instances each,
// then sends, alternately, QIDO /dicomweb/studies?limit=10 and the metadata of one of the series.
func benchReadLoad(t *testing.T, replicas []*instance) loadResult {
	t.Helper()
	client := benchClient(t)
	type series struct{ study, series string }
	var seeded []series
	for range benchSeedStudy {
		s := series{dicomgen.UID(), dicomgen.UID()}
		files := make([][]byte, benchPerRequest)
		for i := range files {
			files[i] = generated(t, dicomgen.Spec{StudyInstanceUID: s.study, SeriesInstanceUID: s.series, Rows: 64, Columns: 64, InstanceNumber: i + 1})
		}
		ct, body := stowBody(t, files...)
		if resp, text := do(t, replicas[0].request(t, http.MethodPost, "/dicomweb/studies", ct, bytes.NewReader(body))); resp.StatusCode != http.StatusOK {
			t.Fatalf("seeding: STOW %d %s", resp.StatusCode, text)
		}
		seeded = append(seeded, s)
	}
	read := func(in *instance, n uint64) (*http.Request, int) {
		path := "/dicomweb/studies?limit=10"
		if n%2 == 1 {
			s := seeded[(n/2)%uint64(len(seeded))]
			path = "/dicomweb/studies/" + s.study + "/series/" + s.series + "/metadata"
		}
		req := in.request(t, http.MethodGet, path, "", nil)
		req.Header.Set("Accept", "application/dicom+json")
		return req, 0
	}
	warm := drive(t, client, replicas, benchWarmUp, read)
	r := drive(t, client, replicas, *benchReplicasDuration, read)
	r.errors += warm.errors
	return r
}
