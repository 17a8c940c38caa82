package dicomweb_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/queries/querytest"
)

// BenchmarkRetrieve measures WADO-RS on SQLite and the filesystem: series metadata of 200 and
// 1,000 instances and study metadata of 3,000, one frame of a CT slice, frames 1 and 1,000 of a
// 2,000-frame instance (equal times show the ranged read), the rendered JPEG and thumbnail of a CT
// slice (cached after the first request), the rendered JPEG of a CT slice uncached (a new window
// each request: decode, render and encode every time; the generated slice is noise, the real one
// is frame 1 of the enhanced CT 5.dcm), and a 200-slice CT series (100 MB) as multipart. With
// MEDIMG_TEST_POSTGRES_URL set, the metadata and uncached rendered cases also run on PostgreSQL
// (as postgres/…). Each case reports p50 and p95 latency and the process's CPU time per request.
//
//	go test -run '^$' -bench Retrieve -benchtime 200x ./dicomweb/
func BenchmarkRetrieve(b *testing.B) {
	runRetrieveCases(b, newServer(b, "sqlite", dicomweb.Config{}), true)
	if os.Getenv(querytest.EnvPostgresURL) != "" {
		b.Run("postgres", func(b *testing.B) {
			runRetrieveCases(b, newServer(b, "postgres", dicomweb.Config{}), false)
		})
	}
}

// retrieveCase is one request of BenchmarkRetrieve; vary, when set, adds a query that differs on
// every request (to miss the render cache).
type retrieveCase struct {
	name, path, accept string
	vary               func(i int) string
}

// runRetrieveCases loads s and runs the cases of BenchmarkRetrieve on it: all of them, or (all
// false) only those whose time depends on the database.
func runRetrieveCases(b *testing.B, s *server, all bool) {
	series := func(n int, spec dicomgen.Spec) (study, se string) { return storeSeries(b, s, n, spec) }
	small := dicomgen.Spec{Rows: 16, Columns: 16}
	st1000, se1000 := series(1000, small)
	small.StudyInstanceUID = dicomgen.UID()
	for range 3 {
		series(1000, small)
	}
	ct := s.stored(&testing.T{}, generated(b, dicomgen.Spec{Rows: 512, Columns: 512}))
	realCT := s.stored(&testing.T{}, realFile(b, "5.dcm"))
	window := func(i int) string { return fmt.Sprintf("?window=40,%d", 400+i) }
	cases := []retrieveCase{
		{name: "metadata_series_1000", path: fmt.Sprintf("/dicomweb/studies/%s/series/%s/metadata", st1000, se1000), accept: "application/dicom+json"},
		{name: "metadata_study_3000", path: fmt.Sprintf("/dicomweb/studies/%s/metadata", small.StudyInstanceUID), accept: "application/dicom+json"},
		{name: "rendered_jpeg_512x512_CT_uncached", path: ct + "/rendered", accept: "image/jpeg", vary: window},
		{name: "rendered_jpeg_real_CT_uncached", path: realCT + "/frames/1/rendered", accept: "image/jpeg", vary: window},
	}
	if all {
		st200, se200 := series(200, dicomgen.Spec{Rows: 512, Columns: 512})
		multi := s.stored(&testing.T{}, generated(b, dicomgen.Spec{Rows: 128, Columns: 128, NumberOfFrames: 2000}))
		cases = append([]retrieveCase{
			{name: "metadata_series_200", path: fmt.Sprintf("/dicomweb/studies/%s/series/%s/metadata", st200, se200), accept: "application/dicom+json"},
		}, cases...)
		cases = append(cases, []retrieveCase{
			{name: "frame_1_of_512x512_CT", path: ct + "/frames/1", accept: cornerstoneAccept},
			{name: "frame_1_of_2000", path: multi + "/frames/1", accept: cornerstoneAccept},
			{name: "frame_1000_of_2000", path: multi + "/frames/1000", accept: cornerstoneAccept},
			{name: "rendered_jpeg_512x512_CT", path: ct + "/rendered", accept: "image/jpeg"},
			{name: "thumbnail_512x512_CT", path: ct + "/thumbnail", accept: "image/jpeg"},
			{name: "series_200_CT_100MB", path: fmt.Sprintf("/dicomweb/studies/%s/series/%s", st200, se200), accept: `multipart/related; type="application/dicom"; transfer-syntax=*`},
		}...)
	}

	get := func(b *testing.B, path, accept string) int64 {
		req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %d", path, resp.StatusCode)
		}
		return n
	}
	requests := 0 // never the same window twice on one server
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			durations := make([]time.Duration, 0, b.N)
			var bytes int64
			cpu := processCPU()
			for b.Loop() {
				path := bc.path
				if bc.vary != nil {
					requests++
					path += bc.vary(requests)
				}
				start := time.Now()
				bytes = get(b, path, bc.accept)
				durations = append(durations, time.Since(start))
			}
			b.ReportMetric(ms(processCPU()-cpu)/float64(len(durations)), "cpu-ms/op")
			b.SetBytes(bytes)
			slices.Sort(durations)
			b.ReportMetric(ms(durations[len(durations)/2]), "p50-ms")
			b.ReportMetric(ms(durations[len(durations)*95/100]), "p95-ms")
		})
	}
}

// processCPU is the CPU time this process (server and client) has used: on a machine shared with
// other work, CPU per request is steadier than latency, which counts the time spent waiting for
// a core.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// storeSeries stores n instances made from spec in one new series (of spec's study, else a new
// one), 20 per STOW request.
func storeSeries(tb testing.TB, s *server, n int, spec dicomgen.Spec) (study, series string) {
	tb.Helper()
	if spec.StudyInstanceUID == "" {
		spec.StudyInstanceUID = dicomgen.UID()
	}
	spec.SeriesInstanceUID = dicomgen.UID()
	tmpl := newUIDTemplate(tb, spec)
	for i := 0; i < n; i += 20 {
		var ps []part
		for j := i; j < min(i+20, n); j++ {
			ps = append(ps, dicomPart(tmpl.instance(benchInstances.Add(1))))
		}
		if r := s.stow(&testing.T{}, "/dicomweb/studies", stowContentType, multipartBody(tb, "medimg-test-boundary", ps...)); r.status != 200 {
			tb.Fatalf("store: %d", r.status)
		}
	}
	return spec.StudyInstanceUID, spec.SeriesInstanceUID
}

// TestStudyMetadataMemoryIsFlat asks the metadata of a study of 3,000 instances, compressed and
// not: it is streamed from the database in batches, so the server's heap grows by a small part of
// the response, never by all of it. The collector runs often meanwhile (GOGC 1), so that garbage
// not yet collected does not pass for memory held.
func TestStudyMetadataMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("stores 3,000 instances")
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		// 7 KB of metadata per instance (a long Study Description) make a 21 MB response, far above
		// what the collector's pacing adds to the heap.
		spec := dicomgen.Spec{Rows: 16, Columns: 16, StudyInstanceUID: dicomgen.UID(),
			Override: map[dicomgen.Tag]string{{Group: 0x0008, Element: 0x1030}: strings.Repeat("LARGE STUDY ", 500)}}
		for range 3 {
			storeSeries(t, s, 1000, spec)
		}
		defer debug.SetGCPercent(debug.SetGCPercent(1))
		for _, encoding := range []string{"identity", "gzip"} {
			var body int64
			var count int
			get := func() {
				req, _ := http.NewRequest(http.MethodGet, s.URL+"/dicomweb/studies/"+spec.StudyInstanceUID+"/metadata", nil)
				req.Header.Set("Accept", "application/dicom+json")
				req.Header.Set("Accept-Encoding", encoding)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var r io.Reader = resp.Body
				if resp.Header.Get("Content-Encoding") == "gzip" {
					if r, err = gzip.NewReader(resp.Body); err != nil {
						t.Fatal(err)
					}
				} else if encoding == "gzip" {
					t.Error("gzip asked, not sent")
				}
				counter := &countingWriter{}
				body, _ = io.Copy(counter, r)
				count = counter.objects
				if resp.StatusCode != 200 {
					t.Fatalf("status %d", resp.StatusCode)
				}
			}
			get() // warm: the pooled compressor (a fixed megabyte) and buffers exist after a first response
			growth := peakHeapGrowth(t, get)
			t.Logf("%s: %d KiB of JSON (%d instances), peak heap growth %d KiB", encoding, body>>10, count, growth>>10)
			if count != 3000 {
				t.Errorf("%s: %d instances in the response, want 3000", encoding, count)
			}
			if growth > body/3 { // a batch of metadata (about 1 MB here: 128 instances, about 150 on PostgreSQL) and its copies

				t.Errorf("%s: heap grew by %d KiB for a %d KiB response: the metadata is not streamed", encoding, growth>>10, body>>10)
			}
		}
	})
}

// countingWriter counts the instances of a metadata response by their SOP Instance UID attribute.
type countingWriter struct {
	objects int
	tail    []byte // the end of the last write, in case the attribute straddles two
}

func (w *countingWriter) Write(p []byte) (int, error) {
	const key = `"00080018"`
	buf := append(w.tail, p...)
	w.objects += bytes.Count(buf, []byte(key))
	keep := min(len(buf), len(key)-1)
	w.tail = append(w.tail[:0], buf[len(buf)-keep:]...)
	return len(p), nil
}

// TestRetrieveMemoryIsFlat retrieves a 64 MiB instance (as stored, as frames, and transcoded) and
// checks that the server's heap grows by far less than that: files are streamed, never loaded.
func TestRetrieveMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 64 MiB several times")
	}
	s := newServer(t, "sqlite", dicomweb.Config{})
	spec := dicomgen.Spec{Rows: 512, Columns: 512, NumberOfFrames: 128}
	big := generated(t, spec)
	inst := s.stored(t, big)
	size := int64(len(big))
	// big is not used below, so the collector may free it while the benchmark runs.
	for _, tc := range []struct{ path, accept string }{
		{inst, `multipart/related; type="application/dicom"; transfer-syntax=*`},
		{inst, `multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2`},
		{inst + "/frames/1,64,128", cornerstoneAccept},
		{inst, "application/zip"},
	} {
		growth := peakHeapGrowth(t, func() {
			req, _ := http.NewRequest(http.MethodGet, s.URL+tc.path, nil)
			req.Header.Set("Accept", tc.accept)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
		if growth > size/4 {
			t.Errorf("%s (%s): heap grew by %d MiB for a %d MiB instance", tc.path, tc.accept, growth>>20, size>>20)
		}
	}
}

// peakHeapGrowth runs fn and returns how far the heap in use rose above where it started.
func peakHeapGrowth(t *testing.T, fn func()) int64 {
	t.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseline := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return int64(peak.Load()) - int64(baseline)
}

// TestRenderedMemoryIsFlat asks every frame of a 128-frame instance rendered: images are rendered as
// they are written (and a multi-image response is not cached), so the heap holds a couple of images,
// not the 128 of the response.
func TestRenderedMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("renders 128 frames")
	}
	s := newServer(t, "sqlite", dicomweb.Config{})
	inst := s.stored(t, generated(t, dicomgen.Spec{Rows: 512, Columns: 512, NumberOfFrames: 128}))
	var body int64
	growth := peakHeapGrowth(t, func() {
		req, _ := http.NewRequest(http.MethodGet, s.URL+inst+"/rendered", nil)
		req.Header.Set("Accept", "image/png")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Logf("rendered 128 frames: %d MiB sent, peak heap growth %d MiB", body>>20, growth>>20)
	// Holding the response's images would take all of body; a few frames in flight take a few MiB.
	if growth > 16<<20 || body < 24<<20 {
		t.Errorf("heap grew by %d MiB for a %d MiB response: the images are not streamed", growth>>20, body>>20)
	}
}
