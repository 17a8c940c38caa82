package dicomweb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
)

// qidoFixture stores three studies through STOW, as a modality would.
type qidoFixture struct {
	john, jane, other string // study UIDs
	johnCT, johnPT    string // series UIDs
	johnCT1           string // SOP Instance UID of John's first CT image
}

func storeQIDOFixture(t *testing.T, s *server) qidoFixture {
	t.Helper()
	f := qidoFixture{john: dicomgen.UID(), jane: dicomgen.UID(), other: dicomgen.UID(),
		johnCT: dicomgen.UID(), johnPT: dicomgen.UID(), johnCT1: dicomgen.UID()}
	john := dicomgen.Spec{StudyInstanceUID: f.john, PatientName: "Doe^John", PatientID: "PID-123", PatientBirthDate: "19700101",
		AccessionNumber: "A1001", StudyDescription: "CHEST CT", StudyDate: "20210305", StudyTime: "093000",
		ReferringPhysicianName: "Smith^Anna", SeriesDescription: "Axial"}
	jane := dicomgen.Spec{StudyInstanceUID: f.jane, PatientName: "Doe^Jane", PatientID: "PID-456", AccessionNumber: "B2002",
		StudyDescription: "Knee", StudyDate: "20230110", Modality: "MR"}
	other := dicomgen.Spec{StudyInstanceUID: f.other, PatientName: "Roe^Richard", PatientID: "PID-789", StudyDate: "20190101", Modality: "CR"}
	var parts []part
	for i, spec := range []dicomgen.Spec{john, john, john} {
		spec.SeriesInstanceUID, spec.SeriesNumber, spec.InstanceNumber = f.johnCT, 1, i+1
		if i == 0 {
			spec.SOPInstanceUID = f.johnCT1
		}
		if i == 2 {
			spec.SeriesInstanceUID, spec.SeriesNumber, spec.Modality, spec.InstanceNumber = f.johnPT, 2, "PT", 1
		}
		parts = append(parts, dicomPart(generated(t, spec)))
	}
	parts = append(parts, dicomPart(generated(t, jane)), dicomPart(generated(t, other)))
	if resp := s.stowParts(t, parts...); resp.status != http.StatusOK {
		t.Fatalf("fixture: status %d %q", resp.status, resp.warnings)
	}
	return f
}

// qidoResult is a response: status, warnings and the JSON objects.
type qidoResult struct {
	status      int
	contentType string
	warnings    []string
	items       []map[string]json.RawMessage
	body        string
}

func (s *server) qido(t *testing.T, path string, header ...string) qidoResult {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	r := qidoResult{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), warnings: resp.Header.Values("Warning"), body: string(body)}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &r.items); err != nil {
			t.Fatalf("%s: not a DICOM JSON array: %v\n%s", path, err, body)
		}
	}
	return r
}

// value returns the first value of an attribute as a string (PN: the Alphabetic group).
func value(item map[string]json.RawMessage, tag string) string {
	var a struct {
		Value []json.RawMessage `json:"Value"`
	}
	if json.Unmarshal(item[tag], &a) != nil || len(a.Value) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(a.Value[0], &s) == nil {
		return s
	}
	var pn struct{ Alphabetic string }
	if json.Unmarshal(a.Value[0], &pn) == nil && pn.Alphabetic != "" {
		return pn.Alphabetic
	}
	return strings.TrimSpace(string(a.Value[0]))
}

func column(r qidoResult, tag string) []string {
	var out []string
	for _, it := range r.items {
		out = append(out, value(it, tag))
	}
	return out
}

func TestSearchOHIFRequests(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		f := storeQIDOFixture(t, s)

		// The study list, exactly as OHIF sends it (DicomWebDataSource with supportsWildcard).
		r := s.qido(t, "/dicomweb/studies?PatientName=*doe*&00100020=*123*&AccessionNumber=*A1*&StudyDescription=*chest*&ModalitiesInStudy=CT&StudyDate=20200101-20241231&limit=101&offset=0&fuzzymatching=false&includefield=00081030%2C00080060%2C00080090%2C00100030",
			"Accept", "application/dicom+json")
		if r.status != http.StatusOK || r.contentType != "application/dicom+json" || len(r.items) != 1 {
			t.Fatalf("study list: %d %s %d items %q\n%s", r.status, r.contentType, len(r.items), r.warnings, r.body)
		}
		st := r.items[0]
		want := map[string]string{
			"0020000D": f.john, "00080020": "20210305", "00080030": "093000", "00080050": "A1001",
			"00100020": "PID-123", "00100010": "Doe^John", "00100030": "19700101", "00201208": "3", "00201206": "2",
			"00081030": "CHEST CT", "00080090": "Smith^Anna", "00080061": "CT", "00080060": "CT",
		}
		for tag, v := range want {
			if got := value(st, tag); got != v {
				t.Errorf("study %s = %q, want %q", tag, got, v)
			}
		}
		if got := value(st, "00081190"); got != s.URL+"/dicomweb/studies/"+f.john {
			t.Errorf("RetrieveURL = %q", got)
		}
		if !strings.Contains(string(st["00080061"]), `["CT","PT"]`) {
			t.Errorf("ModalitiesInStudy = %s, want CT and PT", st["00080061"])
		}

		// The series list of the study browser.
		r = s.qido(t, "/dicomweb/studies/"+f.john+"/series?includefield=0008103E%2C00080021", "Accept", "application/dicom+json")
		if r.status != 200 || len(r.items) != 2 {
			t.Fatalf("series list: %d, %d items", r.status, len(r.items))
		}
		if diff := cmp.Diff([]string{f.johnCT, f.johnPT}, column(r, "0020000E")); diff != "" {
			t.Errorf("series order (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"CT", "PT"}, column(r, "00080060")); diff != "" {
			t.Errorf("modalities (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"2", "1"}, column(r, "00201209")); diff != "" {
			t.Errorf("NumberOfSeriesRelatedInstances (-want +got):\n%s", diff)
		}
		if value(r.items[0], "00200011") != "1" || value(r.items[0], "0008103E") != "Axial" {
			t.Errorf("series attributes: %v", r.items[0])
		}

		// Several studies by UID, joined with an encoded backslash, and with commas.
		for _, sep := range []string{"%5C", ","} {
			r = s.qido(t, "/dicomweb/studies?StudyInstanceUID="+f.john+sep+f.other)
			if got := column(r, "0020000D"); !cmp.Equal(got, []string{f.john, f.other}) {
				t.Errorf("UID list with %s: %q", sep, got)
			}
		}
	})
}

func TestSearchMatching(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		f := storeQIDOFixture(t, s)
		tests := []struct {
			name, path string
			want       []string // StudyInstanceUIDs (or SOP Instance UIDs for instance paths), in order
			tag        string
		}{
			{"no_filter_newest_first", "/dicomweb/studies", []string{f.jane, f.john, f.other}, "0020000D"},
			{"percent_encoded_caret", "/dicomweb/studies?PatientName=DOE%5EJOHN", []string{f.john}, "0020000D"},
			{"encoded_star_is_a_wildcard", "/dicomweb/studies?PatientName=doe%2A", []string{f.jane, f.john}, "0020000D"},
			{"question_mark", "/dicomweb/studies?PatientName=Doe%5EJ%3Fhn", []string{f.john}, "0020000D"},
			{"tag_key", "/dicomweb/studies?00100020=PID-456", []string{f.jane}, "0020000D"},
			{"date_open_range", "/dicomweb/studies?StudyDate=20220101-", []string{f.jane}, "0020000D"},
			{"date_exact", "/dicomweb/studies?StudyDate=20190101", []string{f.other}, "0020000D"},
			{"modalities", "/dicomweb/studies?ModalitiesInStudy=MR", []string{f.jane}, "0020000D"},
			{"repeated_keys_and", "/dicomweb/studies?PatientName=doe*&StudyDate=-20211231", []string{f.john}, "0020000D"},
			{"fuzzy_name", "/dicomweb/studies?PatientName=jo&fuzzymatching=true", []string{f.john}, "0020000D"},
			{"fuzzy_referring_physician", "/dicomweb/studies?ReferringPhysicianName=anna&fuzzymatching=true", []string{f.john}, "0020000D"},
			{"series_across_studies", "/dicomweb/series?Modality=PT", []string{f.johnPT}, "0020000E"},
			{"instances_across_by_sop", "/dicomweb/instances?SOPInstanceUID=" + f.johnCT1, []string{f.johnCT1}, "00080018"},
			{"instances_of_series", "/dicomweb/studies/" + f.john + "/series/" + f.johnCT + "/instances", []string{"1", "2"}, "00200013"},
			{"instances_of_study_by_number", "/dicomweb/studies/" + f.john + "/instances?InstanceNumber=1", []string{f.johnCT, f.johnPT}, "0020000E"},
			{"paging", "/dicomweb/studies?limit=1&offset=1", []string{f.john}, "0020000D"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := s.qido(t, tt.path)
				if r.status != 200 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				if diff := cmp.Diff(tt.want, column(r, tt.tag)); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			})
		}
	})
}

func TestSearchResponses(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		f := storeQIDOFixture(t, s)
		t.Run("empty_result_is_204", func(t *testing.T) {
			r := s.qido(t, "/dicomweb/studies?PatientID=nobody")
			if r.status != http.StatusNoContent || r.body != "" {
				t.Errorf("status %d body %q", r.status, r.body)
			}
		})
		t.Run("unknown_study_scope_is_404", func(t *testing.T) {
			for _, path := range []string{"/dicomweb/studies/1.2.3/series", "/dicomweb/studies/1.2.3/instances",
				"/dicomweb/studies/" + f.john + "/series/1.2.3/instances", "/dicomweb/studies/" + f.jane + "/series/" + f.johnCT + "/instances"} {
				if r := s.qido(t, path); r.status != http.StatusNotFound || !strings.Contains(r.body, "not found") {
					t.Errorf("%s: %d %s", path, r.status, r.body)
				}
			}
		})
		t.Run("bad_requests_name_the_parameter", func(t *testing.T) {
			for path, param := range map[string]string{
				"/dicomweb/studies?StudyDate=2021-13-01":     "StudyDate",
				"/dicomweb/studies?StudyDate=20211301":       "StudyDate",
				"/dicomweb/studies?StudyInstanceUID=1.2.abc": "StudyInstanceUID",
				"/dicomweb/studies?limit=ten":                "limit",
				"/dicomweb/studies?offset=-1":                "offset",
				"/dicomweb/studies?fuzzymatching=maybe":      "fuzzymatching",
				"/dicomweb/instances?InstanceNumber=first":   "InstanceNumber",
				"/dicomweb/studies?PatientName=%zz":          "query string",
				"/dicomweb/studies/1.2.x/series":             "study",
			} {
				r := s.qido(t, path)
				if r.status != http.StatusBadRequest || !strings.Contains(r.body, param) {
					t.Errorf("%s: %d %s; want 400 naming %s", path, r.status, r.body, param)
				}
			}
		})
		t.Run("unknown_keys_are_ignored_with_a_warning", func(t *testing.T) {
			r := s.qido(t, "/dicomweb/studies?NoSuchKey=1&PatientName=doe*")
			if r.status != 200 || len(r.items) != 2 || len(r.warnings) == 0 || !strings.Contains(r.warnings[0], "NoSuchKey") {
				t.Errorf("status %d items %d warnings %q", r.status, len(r.items), r.warnings)
			}
		})
		t.Run("limit_over_maximum_is_clamped", func(t *testing.T) {
			r := s.qido(t, "/dicomweb/studies?limit=100000")
			if r.status != 200 || len(r.items) != 3 || !strings.Contains(strings.Join(r.warnings, " "), "1000") {
				t.Errorf("status %d items %d warnings %q", r.status, len(r.items), r.warnings)
			}
		})
		t.Run("more_results_warning", func(t *testing.T) {
			r := s.qido(t, "/dicomweb/studies?limit=2")
			if len(r.items) != 2 || !strings.Contains(strings.Join(r.warnings, " "), "more results") {
				t.Errorf("items %d warnings %q", len(r.items), r.warnings)
			}
		})
		t.Run("accept", func(t *testing.T) {
			for accept, status := range map[string]int{"application/json": 200, "*/*": 200, "application/dicom+json": 200, "application/dicom+xml": 406, "text/html": 406} {
				r := s.qido(t, "/dicomweb/studies", "Accept", accept)
				if r.status != status || (status == 200 && r.contentType != "application/dicom+json") {
					t.Errorf("Accept %s: %d %s", accept, r.status, r.contentType)
				}
			}
		})
		t.Run("includefield_all_at_instance_level", func(t *testing.T) {
			r := s.qido(t, "/dicomweb/studies/"+f.john+"/series/"+f.johnCT+"/instances?includefield=all&InstanceNumber=1")
			if r.status != 200 || len(r.items) != 1 {
				t.Fatalf("status %d items %d", r.status, len(r.items))
			}
			it := r.items[0]
			if value(it, "00280002") != "1" || value(it, "00280004") != "MONOCHROME2" {
				t.Errorf("stored attributes missing: %v", it)
			}
			want := s.URL + "/dicomweb/studies/" + f.john + "/series/" + f.johnCT + "/instances/" + f.johnCT1 + "/bulkdata/7FE00010"
			if !strings.Contains(string(it["7FE00010"]), want) {
				t.Errorf("PixelData BulkDataURI not absolute: %s", it["7FE00010"])
			}
		})
		t.Run("includefield_from_metadata_at_study_level", func(t *testing.T) {
			r := s.qido(t, "/dicomweb/studies?PatientID=PID-123&includefield=PhotometricInterpretation")
			if value(r.items[0], "00280004") != "MONOCHROME2" {
				t.Errorf("includefield by keyword from metadata: %v", r.items[0])
			}
			if _, ok := r.items[0]["7FE00010"]; ok {
				t.Errorf("study result carries pixel data")
			}
		})
		t.Run("series_across_studies_carry_study_attributes", func(t *testing.T) {
			r := s.qido(t, "/dicomweb/series?PatientName=doe^john")
			if len(r.items) != 2 || value(r.items[0], "00100020") != "PID-123" || value(r.items[0], "0020000D") != f.john {
				t.Errorf("series items: %v", r.items)
			}
		})
	})
}

func TestSearchCaseSensitiveOption(t *testing.T) {
	s := newServer(t, "sqlite", dicomweb.Config{CaseSensitiveSearch: true})
	f := storeQIDOFixture(t, s)
	if r := s.qido(t, "/dicomweb/studies?PatientName=doe*"); r.status != http.StatusNoContent {
		t.Errorf("case-sensitive search matched a different case: %d", r.status)
	}
	if r := s.qido(t, "/dicomweb/studies?PatientName=Doe%5EJohn"); len(r.items) != 1 || value(r.items[0], "0020000D") != f.john {
		t.Errorf("case-sensitive exact: %d %v", r.status, r.items)
	}
}

// TestSearchPagingWhileStoring pages through the study list while other clients add instances and
// series to the studies listed: every study appears exactly once.
func TestSearchPagingWhileStoring(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		var studies []string
		var parts []part
		for i := range 12 {
			spec := dicomgen.Spec{StudyInstanceUID: dicomgen.UID(), StudyDate: fmt.Sprintf("2020%02d01", i%12+1)}
			studies = append(studies, spec.StudyInstanceUID)
			parts = append(parts, dicomPart(generated(t, spec)))
		}
		if resp := s.stowParts(t, parts...); resp.status != 200 {
			t.Fatalf("setup: %d", resp.status)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				s.stowParts(t, dicomPart(generated(t, dicomgen.Spec{StudyInstanceUID: studies[i%len(studies)], Modality: "MR"})))
			}
		}()
		var seen []string
		for offset := 0; ; offset += 5 {
			r := s.qido(t, fmt.Sprintf("/dicomweb/studies?limit=5&offset=%d", offset))
			seen = append(seen, column(r, "0020000D")...)
			if len(r.items) < 5 {
				break
			}
		}
		close(stop)
		wg.Wait()
		slices.Sort(seen)
		slices.Sort(studies)
		if diff := cmp.Diff(studies, seen); diff != "" {
			t.Errorf("paging repeated or skipped studies (-want +got):\n%s", diff)
		}
		if n, _ := s.store.CountStudies(context.Background()); n != 12 {
			t.Errorf("%d studies", n)
		}
	})
}
