package dicomweb_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/queries/querytest"
)

// uidTemplate makes an instance whose SOP Instance UID can be swapped for another of the same
// length without re-encoding, so that the benchmark client spends its time sending, not generating.
type uidTemplate struct {
	data []byte
	uid  []byte
}

func newUIDTemplate(tb testing.TB, spec dicomgen.Spec) uidTemplate {
	spec.SOPInstanceUID = "2.25.9" + fmt.Sprintf("%038d", 0)
	return uidTemplate{data: generated(tb, spec), uid: []byte(spec.SOPInstanceUID)}
}

func (u uidTemplate) instance(n uint64) []byte {
	return bytes.ReplaceAll(u.data, u.uid, []byte("2.25.9"+fmt.Sprintf("%038d", n)))
}

// BenchmarkStoreInstances measures STOW-RS ingest on SQLite and the filesystem with 4 concurrent
// clients: instances/s and MB/s of DICOM stored. With MEDIMG_TEST_POSTGRES_URL set, the same cases
// run again on PostgreSQL under postgres/.
//
//	go test -run '^$' -bench StoreInstances -benchtime 2000x ./dicomweb/
//
// On ext4 without a journal (this project's VMs) creating a file walks past every inode of its
// block group deleted in the last one to five minutes, so a run that starts after another run's
// clean-up measures that walk: give each run a TMPDIR in a part of the disk nothing has just
// deleted files in (README, Benchmarks).
func BenchmarkStoreInstances(b *testing.B) {
	benchStoreCases(b, "sqlite")
	if os.Getenv(querytest.EnvPostgresURL) != "" {
		b.Run("postgres", func(b *testing.B) { benchStoreCases(b, "postgres") })
	}
}

// benchStoreCases runs the STOW cases on engine.
func benchStoreCases(b *testing.B, engine string) {
	cases := []struct {
		name       string
		spec       dicomgen.Spec
		perRequest int
	}{
		{"64x64_16bit/1_per_request", dicomgen.Spec{Rows: 64, Columns: 64}, 1},
		{"64x64_16bit/20_per_request", dicomgen.Spec{Rows: 64, Columns: 64}, 20},
		{"512x512_CT/1_per_request", dicomgen.Spec{Rows: 512, Columns: 512}, 1},
		{"512x512_CT/20_per_request", dicomgen.Spec{Rows: 512, Columns: 512}, 20},
	}
	for _, bc := range cases {
		// One server per case, made here rather than in the sub-benchmark, which runs several
		// times: removing a store's thousands of files between runs makes ext4 scan past the
		// freshly deleted inodes on every file it creates next, measuring the clean-up, not STOW.
		s := newServer(b, engine, dicomweb.Config{})
		b.Run(bc.name, func(b *testing.B) { benchStore(b, s, bc.spec, bc.perRequest) })
	}
}

// benchInstances numbers the instances of all benchmark runs, which share servers.
var benchInstances atomic.Uint64

func benchStore(b *testing.B, s *server, spec dicomgen.Spec, perRequest int) {
	spec.StudyInstanceUID = dicomgen.UID()
	spec.SeriesInstanceUID = dicomgen.UID()
	tmpl := newUIDTemplate(b, spec)
	b.SetBytes(int64(len(tmpl.data) * perRequest))
	b.SetParallelism(4 / runtime.GOMAXPROCS(0)) // 4 clients on this 2-core machine
	// Each client keeps its connection, as a gateway does: http.DefaultClient keeps 2 idle per
	// host, so 2 of the 4 clients opened a new connection for every request.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 4
	client := &http.Client{Transport: transport}
	defer transport.CloseIdleConnections()
	b.ResetTimer()
	start, cpu := time.Now(), processCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			parts := make([]part, perRequest)
			for i := range parts {
				parts[i] = dicomPart(tmpl.instance(benchInstances.Add(1)))
			}
			body := multipartBody(b, "medimg-test-boundary", parts...)
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/dicomweb/studies", bytes.NewReader(body))
			req.Header.Set("Content-Type", stowContentType)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d %q", resp.StatusCode, resp.Header.Values("Warning"))
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*perRequest)/time.Since(start).Seconds(), "instances/s")
	b.ReportMetric(float64(processCPU()-cpu)/float64(time.Microsecond)/float64(b.N*perRequest), "cpu-µs/instance")
}

// TestStoreMemoryIsFlatInBodySize sends a 64 MiB instance and checks that the server's heap grows
// by far less than that while storing it: the body is streamed to the blob store part by part and
// the pixel data is never loaded.
func TestStoreMemoryIsFlatInBodySize(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 64 MiB")
	}
	s := newServer(t, "sqlite", dicomweb.Config{})
	_, size, growth := stowGenerated(t, s, dicomgen.Spec{Rows: 512, Columns: 512, NumberOfFrames: 128})
	t.Logf("body %d MiB, peak heap growth %d MiB", size>>20, growth>>20)
	if growth > size/4 {
		t.Errorf("heap grew by %d MiB for a %d MiB body: the body is not streamed", growth>>20, size>>20)
	}
}

// TestClaimedFrameCountCostsNoMemory stores a 1×1 image that claims fifty million frames (with the
// 100 MB of pixel data that makes the claim true) and serves its last frame: the frame index is three
// numbers, so neither step allocates per frame (it grew by about 2 GB when it did).
func TestClaimedFrameCountCostsNoMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 100 MB")
	}
	const frames = 50_000_000
	s := newServer(t, "sqlite", dicomweb.Config{})
	resp, _, growth := stowGenerated(t, s, dicomgen.Spec{Rows: 1, Columns: 1, NumberOfFrames: frames})
	t.Logf("store: peak heap growth %d MiB", growth>>20)
	if growth > 64<<20 {
		t.Errorf("storing an instance claiming %d frames grew the heap by %d MiB", frames, growth>>20)
	}
	inst := strings.TrimPrefix(resp.referenced[0].retrieveURL, s.URL)
	var last response
	growth = peakHeapGrowth(t, func() {
		last = s.get(t, inst+"/frames/"+strconv.Itoa(frames), "Accept", "application/octet-stream")
	})
	if last.status != 200 || len(last.body) != 2 {
		t.Errorf("frame %d: %d, %d bytes", frames, last.status, len(last.body))
	}
	if growth > 16<<20 {
		t.Errorf("serving frame %d grew the heap by %d MiB", frames, growth>>20)
	}
}

// stowGenerated writes spec's instance to a file and stores it in one STOW streamed from that file,
// returning the answer, the file's size and the server's peak heap growth while it stored it.
func stowGenerated(t *testing.T, s *server, spec dicomgen.Spec) (resp stowResponse, size, growth int64) {
	t.Helper()
	return stowFile(t, s, func(w io.Writer) error { return dicomgen.Write(w, spec) })
}
