package dicomweb_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
)

var benchStudies = flag.Int("bench-studies", 5000, "studies loaded by BenchmarkSearch (each 4 series × 5 instances)")

// syntheticArchive generates the benchmark's studies: 4 series of 5 instances each, patients with
// names and IDs drawn from small vocabularies so that filters match a realistic share.
type syntheticArchive struct{ studies int }

var (
	lastNames  = []string{"Doe", "Smith", "Müller", "Garcia", "Nguyen", "Kowalski", "Okafor", "Rossi", "Tanaka", "Dubois"}
	firstNames = []string{"John", "Jane", "Ana", "Li", "Omar", "Eva", "Raj", "Mia"}
	modalities = []string{"CT", "MR", "PT", "CR", "US", "DX", "MG", "NM"}
	metadata   = `{"00080005":{"vr":"CS","Value":["ISO_IR 192"]},"00080008":{"vr":"CS","Value":["ORIGINAL","PRIMARY","AXIAL"]},` +
		`"00280002":{"vr":"US","Value":[1]},"00280004":{"vr":"CS","Value":["MONOCHROME2"]},"00280010":{"vr":"US","Value":[512]},` +
		`"00280011":{"vr":"US","Value":[512]},"00281050":{"vr":"DS","Value":[40]},"00281051":{"vr":"DS","Value":[400]},` +
		`"7FE00010":{"vr":"OW","BulkDataURI":"bulkdata/7FE00010"},"00181050":{"vr":"DS","Value":[1.25]},"00200032":{"vr":"DS","Value":[-125,-125,%d]}}`
)

func (a syntheticArchive) instance(study, series, inst int) queries.NewInstance {
	n, sn := int64(inst+1), int64(series+1)
	studyUID := fmt.Sprintf("2.25.1%07d", study)
	seriesUID := fmt.Sprintf("%s.%d", studyUID, sn)
	return queries.NewInstance{
		Study: queries.StudyAttributes{
			StudyInstanceUID: studyUID,
			PatientName:      lastNames[study%len(lastNames)] + "^" + firstNames[(study/len(lastNames))%len(firstNames)],
			PatientID:        fmt.Sprintf("PID%06d", study%(a.studies/2+1)), // most patients have two studies
			StudyDate:        fmt.Sprintf("%04d%02d%02d", 2010+study%15, study%12+1, study%28+1),
			StudyTime:        fmt.Sprintf("%02d%02d00", study%24, study%60),
			AccessionNumber:  fmt.Sprintf("ACC%07d", study),
			StudyDescription: "Synthetic study",
		},
		Series: queries.SeriesAttributes{SeriesInstanceUID: seriesUID, Modality: modalities[(study+series)%len(modalities)], SeriesNumber: &sn},
		Instance: queries.InstanceAttributes{
			SOPInstanceUID: fmt.Sprintf("%s.%d", seriesUID, n), SOPClassUID: "1.2.840.10008.5.1.4.1.1.2", InstanceNumber: &n,
			TransferSyntaxUID: "1.2.840.10008.1.2.1", Rows: 512, Columns: 512, BitsAllocated: 16, NumberOfFrames: 1,
			BlobKey: fmt.Sprintf("bench/%s/%d/%d", studyUID, sn, n), Size: 525000, SHA256: "0",
			Metadata: fmt.Sprintf(metadata, n), Frames: `{"frames":[[1000,524288]]}`, BulkData: `{}`,
		},
	}
}

// load stores the archive through the store with 4 writers, as concurrent STOW clients would.
func (a syntheticArchive) load(tb testing.TB, s *queries.Store) time.Duration {
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				study := int(next.Add(1)) - 1
				if study >= a.studies {
					return
				}
				for series := range 4 {
					for inst := range 5 {
						if _, err := s.AddInstance(context.Background(), a.instance(study, series, inst), false); err != nil {
							tb.Error(err)
							return
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := s.Analyze(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return time.Since(start)
}

// BenchmarkSearch loads -bench-studies studies (default 5,000: 100,000 instances) into each engine
// and measures QIDO-RS end to end (HTTP, parsing, SQL, JSON), reporting p50 and p95 per query. It
// also prints each query's plan and fails if a narrowing query scans a whole table.
//
//	go test -run '^$' -bench Search -benchtime 200x ./dicomweb/
func BenchmarkSearch(b *testing.B) {
	a := syntheticArchive{studies: *benchStudies}
	for _, engine := range querytest.Engines {
		b.Run(engine, func(b *testing.B) {
			s := newServer(b, engine, dicomweb.Config{})
			took := a.load(b, s.store)
			b.Logf("%s: loaded %d instances in %s (%.0f instances/s)", engine, a.studies*20, took.Round(time.Millisecond), float64(a.studies*20)/took.Seconds())
			mid := a.studies / 2
			midStudy := fmt.Sprintf("2.25.1%07d", mid)
			queriesToRun := []struct {
				name, path string
				level      queries.Level
				search     queries.Search
				index      bool // must be answered from an index
			}{
				{"studies_by_PatientID", "/dicomweb/studies?PatientID=PID000042", queries.StudyLevel,
					queries.Search{Conditions: []queries.Condition{{Keyword: "PatientID", Kind: queries.MatchExact, Values: []string{"PID000042"}}}}, true},
				{"studies_by_PatientName_wildcard", "/dicomweb/studies?PatientName=*doe*&limit=101", queries.StudyLevel, queries.Search{}, false},
				{"studies_by_PatientName_prefix", "/dicomweb/studies?PatientName=doe*&limit=101", queries.StudyLevel,
					queries.Search{Conditions: []queries.Condition{{Keyword: "PatientName", Kind: queries.MatchWildcard, Values: []string{"doe*"}}}, Limit: 101}, true},
				{"studies_by_StudyDate_range", "/dicomweb/studies?StudyDate=20200101-20201231&limit=101", queries.StudyLevel,
					queries.Search{Conditions: []queries.Condition{{Keyword: "StudyDate", Kind: queries.MatchRange, Lower: "20200101", Upper: "20201231"}}, Limit: 101}, true},
				{"studies_by_ModalitiesInStudy", "/dicomweb/studies?ModalitiesInStudy=NM&limit=101", queries.StudyLevel, queries.Search{}, false},
				{"studies_no_filter_limit_100", "/dicomweb/studies?limit=100", queries.StudyLevel, queries.Search{Limit: 100}, true},
				{"series_of_a_study", "/dicomweb/studies/" + midStudy + "/series", queries.SeriesLevel, queries.Search{StudyUID: midStudy}, true},
				{"instances_of_a_series", "/dicomweb/studies/" + midStudy + "/series/" + midStudy + ".2/instances", queries.InstanceLevel,
					queries.Search{StudyUID: midStudy, SeriesUID: midStudy + ".2"}, true},
				{"instances_by_SOPInstanceUID", "/dicomweb/instances?SOPInstanceUID=" + midStudy + ".3.4", queries.InstanceLevel,
					queries.Search{Conditions: []queries.Condition{{Keyword: "SOPInstanceUID", Kind: queries.MatchList, Values: []string{midStudy + ".3.4"}}}}, true},
			}
			for _, q := range queriesToRun {
				if q.index {
					plan, err := s.store.ExplainSearch(context.Background(), q.level, q.search)
					if err != nil {
						b.Fatal(err)
					}
					b.Logf("%s plan:\n%s", q.name, plan)
					if strings.Contains(plan, "Seq Scan on studies") || strings.Contains(plan, "Seq Scan on instances") ||
						strings.Contains(plan, "Seq Scan on series") || fullScanSQLite(plan) {
						b.Errorf("%s reads a whole table:\n%s", q.name, plan)
					}
				}
				b.Run(q.name, func(b *testing.B) {
					durations := make([]time.Duration, 0, b.N)
					for b.Loop() {
						start := time.Now()
						resp, err := http.Get(s.URL + q.path)
						if err != nil {
							b.Fatal(err)
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							b.Fatalf("%s: status %d", q.path, resp.StatusCode)
						}
						durations = append(durations, time.Since(start))
					}
					slices.Sort(durations)
					b.ReportMetric(ms(durations[len(durations)/2]), "p50-ms")
					b.ReportMetric(ms(durations[len(durations)*95/100]), "p95-ms")
				})
			}
		})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// fullScanSQLite reports a SQLite plan line that scans a table without an index.
func fullScanSQLite(plan string) bool {
	for _, line := range strings.Split(plan, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "SCAN ") && !strings.Contains(line, "USING") {
			return true
		}
	}
	return false
}
