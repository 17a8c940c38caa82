package dicomweb_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/qido"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
)

var (
	benchStudies = flag.Int("bench-studies", 2000, "studies loaded by BenchmarkSearch (each 5 series × 10 instances; 20000 is a million instances)")
	benchKeep    = flag.Bool("bench-keep", false, "BenchmarkSearch keeps its databases (medimg_bench_<studies>: a SQLite file in the temp directory, a PostgreSQL database) and reuses them in later runs")
)

// syntheticArchive generates the benchmark's studies: 5 series of 10 instances each, patients with
// names drawn from vocabularies that include look-alikes (Smith, Smithson, Goldsmith) and non-ASCII
// letters, dates over 15 years, and a handful of modalities.
type syntheticArchive struct{ studies int }

const (
	seriesPerStudy     = 5
	instancesPerSeries = 10
)

var (
	lastNames = []string{"Doe", "Smith", "Müller", "Garcia", "Nguyen", "Kowalski", "Okafor", "Rossi", "Tanaka", "Dubois",
		"Smithson", "Goldsmith", "Johansson", "Ødegaard", "Papadopoulos", "Kim", "Ivanova", "O'Brien", "Schmidt", "Novak",
		"Fernández", "Wójcik", "Haddad", "Larsen", "Cohen", "Silva", "Yilmaz", "Brown", "Murphy", "Lefèvre", "Sato",
		"Andersen", "Costa", "Horvath", "Jansen", "Li", "Walker", "Nakamura", "Petrov", "Moreau", "Becker"}
	firstNames = []string{"John", "Jane", "Ana", "Li", "Omar", "Eva", "Raj", "Mia", "Lukas", "Sofia", "Kenji", "Amara",
		"Björn", "Chloé", "Diego", "Fatima", "Hiro", "Ingrid", "José", "Katarzyna", "Leila", "Mateo", "Nadia"}
	modalities   = []string{"CT", "MR", "PT", "CR", "US", "DX", "MG", "NM"}
	descriptions = []string{"CT CHEST W CONTRAST", "MRI BRAIN WO", "PET-CT WHOLE BODY", "XR CHEST 2 VIEWS", "US ABDOMEN",
		"MAMMO SCREENING BILAT", "CT ABDOMEN PELVIS", "MRI KNEE RIGHT"}
	metadata = `{"00080005":{"vr":"CS","Value":["ISO_IR 192"]},"00080008":{"vr":"CS","Value":["ORIGINAL","PRIMARY","AXIAL"]},` +
		`"00280002":{"vr":"US","Value":[1]},"00280004":{"vr":"CS","Value":["MONOCHROME2"]},"00280010":{"vr":"US","Value":[512]},` +
		`"00280011":{"vr":"US","Value":[512]},"00281050":{"vr":"DS","Value":[40]},"00281051":{"vr":"DS","Value":[400]},` +
		`"7FE00010":{"vr":"OW","BulkDataURI":"bulkdata/7FE00010"},"00181050":{"vr":"DS","Value":[1.25]},"00200032":{"vr":"DS","Value":[-125,-125,%d]}}`
)

func (a syntheticArchive) instances() int { return a.studies * seriesPerStudy * instancesPerSeries }

// studyDate spreads the studies over 15 years, a few per day at a million instances.
func studyDate(study int) string {
	return time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, (study*7919)%5479).Format("20060102")
}

func (a syntheticArchive) instance(study, series, inst int) queries.NewInstance {
	n, sn := int64(inst+1), int64(series+1)
	studyUID := fmt.Sprintf("2.25.1%07d", study)
	seriesUID := fmt.Sprintf("%s.%d", studyUID, sn)
	return queries.NewInstance{
		Study: queries.StudyAttributes{
			StudyInstanceUID: studyUID,
			PatientName:      lastNames[study%len(lastNames)] + "^" + firstNames[(study/len(lastNames))%len(firstNames)],
			PatientID:        fmt.Sprintf("PID%06d", study%(a.studies/2+1)), // most patients have two studies
			StudyDate:        studyDate(study),
			StudyTime:        fmt.Sprintf("%02d%02d00", study%24, study%60),
			AccessionNumber:  fmt.Sprintf("ACC%07d", study),
			StudyDescription: descriptions[study%len(descriptions)],
			ReferringPhysicianName: lastNames[(study/7)%len(lastNames)] + "^" +
				firstNames[(study/3)%len(firstNames)],
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

// load stores the archive with the store's bulk path, 100 studies per transaction, skipping the
// studies a kept database already holds (it resumes an interrupted load).
func (a syntheticArchive) load(tb testing.TB, s *queries.Store) (time.Duration, int) {
	const studiesPerBatch = 100
	ctx := context.Background()
	start := time.Now()
	loaded := 0
	for first := 0; first < a.studies; first += studiesPerBatch {
		last := min(first+studiesPerBatch, a.studies) - 1
		found, _, err := s.SearchStudies(ctx, queries.Search{Conditions: []queries.Condition{{Keyword: "StudyInstanceUID",
			Kind: queries.MatchList, Values: []string{fmt.Sprintf("2.25.1%07d", last)}}}})
		if err != nil {
			tb.Fatal(err)
		}
		if len(found) > 0 {
			continue
		}
		batch := make([]queries.NewInstance, 0, studiesPerBatch*seriesPerStudy*instancesPerSeries)
		for study := first; study <= last; study++ {
			for series := range seriesPerStudy {
				for inst := range instancesPerSeries {
					batch = append(batch, a.instance(study, series, inst))
				}
			}
		}
		if err := s.BulkAdd(ctx, batch); err != nil {
			tb.Fatal(err)
		}
		loaded += len(batch)
	}
	if loaded > 0 {
		if err := s.Analyze(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	return time.Since(start), loaded
}

// minPlanStudies is the archive size from which PostgreSQL's plans must use indexes.
const minPlanStudies = 10000

// benchQuery is one QIDO-RS request of BenchmarkSearch. index: its plan must not read a whole table.
type benchQuery struct {
	name  string
	level qido.Level
	scope []string
	query string
	index bool
	empty bool // answered 204 No Content
}

func (q benchQuery) path() string {
	p := map[qido.Level]string{qido.Study: "/studies", qido.Series: "/series", qido.Instance: "/instances"}[q.level]
	switch len(q.scope) {
	case 1:
		p = "/studies/" + q.scope[0] + p
	case 2:
		p = "/studies/" + q.scope[0] + "/series/" + q.scope[1] + p
	}
	return "/dicomweb" + p + "?" + q.query
}

func (a syntheticArchive) queries() []benchQuery {
	mid := a.studies / 2
	midStudy := fmt.Sprintf("2.25.1%07d", mid)
	deepInstance, deepSeries := a.instances()/10, a.studies*seriesPerStudy/2
	date := studyDate(mid)
	year := date[:4]
	return []benchQuery{
		{"studies_by_PatientID", qido.Study, nil, "PatientID=PID000042", true, false},
		{"studies_by_PatientName_infix", qido.Study, nil, "PatientName=*smith*&limit=101", true, false},
		{"studies_by_PatientName_infix_rare", qido.Study, nil, "PatientName=*degaa*&limit=101", true, false},
		{"studies_by_PatientName_fuzzy", qido.Study, nil, "PatientName=smi&fuzzymatching=true&limit=101", true, false},
		{"studies_by_PatientName_fuzzy_two_words", qido.Study, nil, "PatientName=jan%20smi&fuzzymatching=true&limit=101", true, false},
		{"studies_by_PatientName_prefix", qido.Study, nil, "PatientName=doe*&limit=101", true, false},
		{"studies_by_StudyDescription_infix", qido.Study, nil, "StudyDescription=*knee*&limit=101", true, false},
		// A word no description holds: the trigram index answers it, not a walk of every study.
		{"studies_by_StudyDescription_infix_absent", qido.Study, nil, "StudyDescription=*wrist*&limit=101", true, true},
		{"studies_by_StudyDate_range", qido.Study, nil, "StudyDate=" + year + "0101-" + year + "1231&limit=101", true, false},
		{"studies_by_ModalitiesInStudy", qido.Study, nil, "ModalitiesInStudy=NM&limit=101", false, false},
		{"studies_no_filter_limit_100", qido.Study, nil, "limit=100", true, false},
		{"series_of_a_study", qido.Series, []string{midStudy}, "", true, false},
		{"series_no_filter_limit_100", qido.Series, nil, "limit=100", true, false},
		{"series_deep_offset", qido.Series, nil, fmt.Sprintf("limit=10&offset=%d", deepSeries), true, false},
		{"series_by_Modality", qido.Series, nil, "Modality=MR&limit=100", true, false},
		{"series_by_StudyDate", qido.Series, nil, "StudyDate=" + date + "&limit=100", true, false},
		// Half way into the series of one modality in eight.
		{"series_by_Modality_deep_offset", qido.Series, nil, fmt.Sprintf("Modality=MR&limit=10&offset=%d", deepSeries/8), true, false},
		{"instances_of_a_series", qido.Instance, []string{midStudy, midStudy + ".2"}, "", true, false},
		{"instances_by_SOPInstanceUID", qido.Instance, nil, "SOPInstanceUID=" + midStudy + ".3.4", true, false},
		{"instances_no_filter_limit_100", qido.Instance, nil, "limit=100", true, false},
		{"instances_deep_offset", qido.Instance, nil, fmt.Sprintf("limit=10&offset=%d", deepInstance), true, false},
		{"instances_by_Modality", qido.Instance, nil, "Modality=MR&limit=100", true, false},
		{"instances_by_StudyDate", qido.Instance, nil, "StudyDate=" + date + "&limit=100", true, false},
		{"instances_by_Modality_deep_offset", qido.Instance, nil, fmt.Sprintf("Modality=MR&limit=10&offset=%d", deepInstance*5/8), true, false},
		// The worst case of walking the stored order: a modality no series has (204, no results).
		{"instances_by_Modality_absent", qido.Instance, nil, "Modality=XA&limit=100", true, true},
	}
}

// BenchmarkSearch loads -bench-studies studies (default 2,000: 100,000 instances; 20,000 is a
// million) into each engine and measures QIDO-RS end to end (HTTP, parsing, SQL, JSON), reporting
// p50 and p95 per query. It also prints each query's plan and fails if a narrowing query's plan
// reads a whole table (on PostgreSQL from 10,000 studies on, where its planner stops preferring to
// read small tables whole). With -bench-keep the loaded databases stay for the next run.
//
//	go test -run '^$' -bench Search -benchtime 200x ./dicomweb/
//	go test -run '^$' -bench Search -benchtime 200x -bench-studies 20000 -bench-keep -timeout 2h ./dicomweb/
func BenchmarkSearch(b *testing.B) {
	a := syntheticArchive{studies: *benchStudies}
	for _, engine := range querytest.Engines {
		b.Run(engine, func(b *testing.B) {
			store := querytest.Open(b, engine)
			if *benchKeep {
				store = querytest.OpenKept(b, engine, fmt.Sprintf("medimg_bench_%d", a.studies))
			}
			s := serveStore(b, store, dicomweb.Config{})
			if took, loaded := a.load(b, s.store); loaded > 0 {
				b.Logf("%s: loaded %d instances in %s (%.0f instances/s)", engine, loaded, took.Round(time.Millisecond), float64(loaded)/took.Seconds())
			}
			logSize(b, s.store, engine, a)
			for _, q := range a.queries() {
				// PostgreSQL rightly reads a table of a few thousand rows whole rather than use
				// an index: its plans are checked from minPlanStudies on, SQLite's always.
				if q.index && (engine == queries.SQLite || a.studies >= minPlanStudies) {
					checkPlan(b, s.store, q)
				}
				b.Run(q.name, func(b *testing.B) { timeQuery(b, s.URL+q.path(), q.empty) })
			}
		})
	}
}

func timeQuery(b *testing.B, u string, empty bool) {
	durations := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		resp, err := http.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if want := map[bool]int{false: http.StatusOK, true: http.StatusNoContent}[empty]; resp.StatusCode != want || (n == 0) != empty {
			b.Fatalf("%s: status %d, %d bytes", u, resp.StatusCode, n)
		}
		durations = append(durations, time.Since(start))
	}
	slices.Sort(durations)
	b.ReportMetric(ms(durations[len(durations)/2]), "p50-ms")
	b.ReportMetric(ms(durations[len(durations)*95/100]), "p95-ms")
}

// checkPlan logs the plan of the statement the server runs for q and fails when it reads a whole
// table.
func checkPlan(b *testing.B, s *queries.Store, q benchQuery) {
	search, err := dicomweb.SearchOf(q.level, q.query, q.scope...)
	if err != nil {
		b.Fatalf("%s: %v", q.query, err)
	}
	level := map[qido.Level]queries.Level{qido.Study: queries.StudyLevel, qido.Series: queries.SeriesLevel, qido.Instance: queries.InstanceLevel}[q.level]
	plan, err := s.ExplainSearch(context.Background(), level, search)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s plan:\n%s", q.name, plan)
	if fullScan(plan) {
		b.Errorf("%s reads a whole table:\n%s", q.name, plan)
	}
}

// fullScan reports a plan line that reads a whole table: PostgreSQL's Seq Scan of an index table,
// or a SQLite SCAN without an index (a virtual table scan with an index of its own is a lookup).
func fullScan(plan string) bool {
	for _, line := range strings.Split(plan, "\n") {
		line = strings.TrimSpace(line)
		for _, table := range []string{"studies", "series", "instances"} {
			if strings.Contains(line, "Seq Scan on "+table) {
				return true
			}
		}
		// "page" is the few primary keys of the page an unscoped search selected first.
		if strings.HasPrefix(line, "SCAN ") && !strings.Contains(line, " USING ") && line != "SCAN page" && !virtualIndexScan(line) {
			return true
		}
	}
	return false
}

// virtualIndexScan reports a SQLite plan line of a virtual table searched through its own index
// ("SCAN studies_text VIRTUAL TABLE INDEX 0:M1"); without constraints after the colon it is a scan.
func virtualIndexScan(line string) bool {
	_, idx, ok := strings.Cut(line, " VIRTUAL TABLE INDEX ")
	if !ok {
		return false
	}
	_, constraints, _ := strings.Cut(idx, ":")
	return constraints != ""
}

// logSize logs the database size per million instances: the SQLite file and its WAL after a
// checkpoint, pg_database_size on PostgreSQL.
func logSize(b *testing.B, s *queries.Store, engine string, a syntheticArchive) {
	size, err := s.DatabaseSize(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: database %.1f MiB for %d instances (%.0f MiB per million)", engine, float64(size)/(1<<20), a.instances(),
		float64(size)/(1<<20)*1e6/float64(a.instances()))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
