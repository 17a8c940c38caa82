package qido

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The requests OHIF's study list and series panel send, byte for byte.
const (
	ohifStudies = "PatientName=*doe*&00100020=*123*&AccessionNumber=*A1*&StudyDescription=*chest*" +
		"&ModalitiesInStudy=CT&StudyDate=20200101-20241231&limit=101&offset=0&fuzzymatching=false" +
		"&includefield=00081030%2C00080060%2C00080090%2C00100030"
	ohifSeries = "includefield=0008103E%2C00080021"
)

func TestParseOHIF(t *testing.T) {
	tests := []struct {
		name  string
		query string
		level Level
		want  *Query
	}{
		{"study_search", ohifStudies, Study, &Query{
			Level: Study,
			// Sorted by key: the tag sorts before the keywords.
			Conditions: []Condition{
				cond(t, "PatientID", Wildcard, "*123*"),
				cond(t, "AccessionNumber", Wildcard, "*A1*"),
				cond(t, "ModalitiesInStudy", List, "CT"),
				cond(t, "PatientName", Wildcard, "*doe*"),
				between(t, "StudyDate", "20200101", "20241231"),
				cond(t, "StudyDescription", Wildcard, "*chest*"),
			},
			IncludeFields: []uint32{0x00081030, 0x00080060, 0x00080090, 0x00100030},
			Limit:         101,
		}},
		{"series_search", ohifSeries, Series, &Query{
			Level:         Series,
			IncludeFields: []uint32{0x0008103E, 0x00080021},
			Limit:         100,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRaw(t, tt.query, tt.level, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseStudyLevel(t *testing.T) {
	runParseCases(t, []parseCase{
		{name: "study_key", query: "StudyID=S1", want: []Condition{cond(t, "StudyID", Exact, "S1")}},
		{name: "series_key_ignored", query: "Modality=CT",
			warnings: []string{"parameter Modality ignored: Modality belongs to the series level and cannot be matched in a study search"}},
		{name: "instance_key_ignored", query: "SOPInstanceUID=1.2.3",
			warnings: []string{"parameter SOPInstanceUID ignored: SOPInstanceUID belongs to the instance level and cannot be matched in a study search"}},
		{name: "sequence_key_ignored", query: "RequestAttributesSequence.RequestedProcedureID=X",
			warnings: []string{"parameter RequestAttributesSequence.RequestedProcedureID ignored: RequestedProcedureID belongs to the series level and cannot be matched in a study search"}},
		{name: "ignored_key_value_not_checked", query: "SOPInstanceUID=not-a-uid",
			warnings: []string{"parameter SOPInstanceUID ignored: SOPInstanceUID belongs to the instance level and cannot be matched in a study search"}},
	})
}

func TestParseSeriesLevel(t *testing.T) {
	runParseCases(t, []parseCase{
		{name: "study_key_keeps_study_level", query: "StudyInstanceUID=1.2.3&Modality=CT", level: Series,
			want: []Condition{cond(t, "Modality", Exact, "CT"), cond(t, "StudyInstanceUID", List, "1.2.3")}},
		{name: "series_keys", query: "SeriesDescription=*AX*&SeriesNumber=2", level: Series,
			want: []Condition{cond(t, "SeriesDescription", Wildcard, "*AX*"), cond(t, "SeriesNumber", Exact, "2")}},
		{name: "instance_key_ignored", query: "00200013=1", level: Series,
			warnings: []string{"parameter 00200013 ignored: InstanceNumber belongs to the instance level and cannot be matched in a series search"}},
	})
}

func TestParseInstanceLevel(t *testing.T) {
	runParseCases(t, []parseCase{
		{name: "every_level", query: "PatientID=P1&SeriesInstanceUID=1.2&SOPClassUID=1.2.840.10008.5.1.4.1.1.2", level: Instance,
			want: []Condition{
				cond(t, "PatientID", Exact, "P1"),
				cond(t, "SOPClassUID", List, "1.2.840.10008.5.1.4.1.1.2"),
				cond(t, "SeriesInstanceUID", List, "1.2"),
			}},
		{name: "same_attribute_by_keyword_and_tag", query: "InstanceNumber=1&00200013=2", level: Instance,
			want: []Condition{cond(t, "InstanceNumber", Exact, "2"), cond(t, "InstanceNumber", Exact, "1")}},
	})
}

func TestParseWarnings(t *testing.T) {
	runParseCases(t, []parseCase{
		{name: "unknown_key", query: "foo=bar",
			warnings: []string{"parameter foo ignored: not a known parameter or DICOM attribute"}},
		{name: "keyword_in_wrong_case", query: "patientname=DOE",
			warnings: []string{"parameter patientname ignored: not a known parameter or DICOM attribute"}},
		{name: "unsupported_keyword", query: "PatientAge=030Y",
			warnings: []string{"parameter PatientAge ignored: PatientAge (0010,1010) is not supported for matching"}},
		{name: "unsupported_tag", query: "00101010=030Y",
			warnings: []string{"parameter 00101010 ignored: PatientAge (0010,1010) is not supported for matching"}},
		{name: "unsupported_sequence_path", query: "RequestAttributesSequence.AccessionNumber=A1",
			warnings: []string{"parameter RequestAttributesSequence.AccessionNumber ignored: RequestAttributesSequence (0040,0275).AccessionNumber (0008,0050) is not supported for matching"}},
		{name: "private_tag", query: "00091001=x",
			warnings: []string{"parameter 00091001 ignored: not a known parameter or DICOM attribute"}},
		{name: "warnings_sorted_by_key", query: "zz=1&aa=2",
			warnings: []string{
				"parameter aa ignored: not a known parameter or DICOM attribute",
				"parameter zz ignored: not a known parameter or DICOM attribute",
			}},
		{name: "header_unsafe_key", query: "a%22b%0D%0Ac%5C=1",
			warnings: []string{"parameter a?b??c? ignored: not a known parameter or DICOM attribute"}},
		{name: "long_key_cut", query: "k" + strings.Repeat("0123456789", 20) + "=1",
			warnings: []string{"parameter k" + strings.Repeat("0123456789", 12) + "0123456... ignored: not a known parameter or DICOM attribute"}},
	})
}

func TestParseReservedParameters(t *testing.T) {
	tests := []struct {
		name  string
		query string
		opts  Options
		want  *Query
	}{
		{"defaults", "", Options{}, &Query{Level: Study, Limit: 100}},
		{"configured_default", "", Options{DefaultLimit: 25, MaxLimit: 50}, &Query{Level: Study, Limit: 25}},
		{"default_above_max", "", Options{DefaultLimit: 500, MaxLimit: 50}, &Query{Level: Study, Limit: 50}},
		{"limit_and_offset", "limit=10&offset=20", Options{}, &Query{Level: Study, Limit: 10, Offset: 20}},
		{"names_are_case_insensitive", "LIMIT=10&Offset=20&FuzzyMatching=TRUE&IncludeField=PatientAge", Options{},
			&Query{Level: Study, Limit: 10, Offset: 20, Fuzzy: true, IncludeFields: []uint32{0x00101010}}},
		{"limit_at_max", "limit=1000", Options{}, &Query{Level: Study, Limit: 1000}},
		{"limit_clamped", "limit=5000", Options{}, &Query{Level: Study, Limit: 1000,
			Warnings: []string{"limit 5000 reduced to the maximum of 1000"}}},
		{"huge_limit_clamped", "limit=99999999999999999999999", Options{MaxLimit: 200}, &Query{Level: Study, Limit: 200,
			Warnings: []string{"limit 99999999999999999999999 reduced to the maximum of 200"}}},
		{"fuzzy_false", "fuzzymatching=false", Options{}, &Query{Level: Study, Limit: 100}},
		{"includefield_keywords_and_tags", "includefield=PatientAge,00100010&includefield=0008103e", Options{},
			&Query{Level: Study, Limit: 100, IncludeFields: []uint32{0x00101010, 0x00100010, 0x0008103E}}},
		{"includefield_deduplicated", "includefield=PatientName,00100010&includefield=PatientName", Options{},
			&Query{Level: Study, Limit: 100, IncludeFields: []uint32{0x00100010}}},
		{"includefield_private_tag", "includefield=00091001", Options{},
			&Query{Level: Study, Limit: 100, IncludeFields: []uint32{0x00091001}}},
		{"includefield_all", "includefield=all&includefield=StudyID", Options{},
			&Query{Level: Study, Limit: 100, IncludeAll: true, IncludeFields: []uint32{0x00200010}}},
		{"includefield_empty_items", "includefield=&includefield=,+,", Options{}, &Query{Level: Study, Limit: 100}},
		{"includefield_unknown", "includefield=Foo,PatientName,Foo,Patient%27s+Name", Options{}, &Query{
			Level: Study, Limit: 100, IncludeFields: []uint32{0x00100010},
			Warnings: []string{
				"includefield Foo ignored: not a DICOM attribute keyword or tag",
				"includefield Patient's Name ignored: not a DICOM attribute keyword or tag",
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRaw(t, tt.query, Study, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.query, diff)
			}
		})
	}
}

func TestParseBadReservedParameters(t *testing.T) {
	runParseCases(t, []parseCase{
		{name: "non_numeric_limit", query: "limit=ten", err: `limit: "ten" is not a whole number`},
		{name: "empty_limit", query: "limit=", err: `limit: "" is not a whole number`},
		{name: "signed_limit", query: "limit=%2B5", err: "not a whole number"},
		{name: "limit_zero", query: "limit=0", err: "limit: 0 is less than 1"},
		{name: "negative_limit", query: "limit=-5", err: "limit: -5 is less than 1"},
		{name: "negative_offset", query: "offset=-1", err: "offset: -1 is less than 0"},
		{name: "fractional_offset", query: "offset=1.5", err: `offset: "1.5" is not a whole number`},
		{name: "bad_fuzzymatching", query: "fuzzymatching=yes", err: `fuzzymatching: "yes" is neither true nor false`},
		{name: "repeated_limit", query: "limit=10&limit=20", err: "limit: given 2 times; give it once"},
		{name: "repeated_limit_in_two_cases", query: "limit=10&Limit=10", err: "limit: given 2 times"},
		{name: "repeated_offset", query: "offset=0&offset=0", err: "offset: given 2 times"},
		{name: "repeated_fuzzymatching", query: "fuzzymatching=true&fuzzymatching=true", err: "fuzzymatching: given 2 times"},
	})
}

func TestParseRejectsAnUnknownLevel(t *testing.T) {
	_, err := Parse(url.Values{}, Level(7), Options{})
	if err == nil || errors.Is(err, ErrBadParameter) {
		t.Fatalf("Parse at level 7: error %v, want a caller error that is not ErrBadParameter", err)
	}
}

// Made-up names cost a scan of the whole dictionary each, and every warning goes in one header: a
// request full of them must neither burn CPU nor make a huge header.
func TestParseBoundsItsWork(t *testing.T) {
	v := url.Values{}
	for i := range 1000 {
		v.Add(fmt.Sprintf("Made%dUp", i), "x")
		v.Add("includefield", fmt.Sprintf("Made%dUp", i))
	}
	start := time.Now()
	q, err := Parse(v, Study, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("Parse took %v", elapsed)
	}
	want := []string{
		"only 64 names were looked up in the DICOM dictionary; the others were taken as unknown",
		"1980 more warnings not shown",
	}
	if len(q.Warnings) != maxWarnings+len(want) {
		t.Fatalf("%d warnings, want %d", len(q.Warnings), maxWarnings+len(want))
	}
	if diff := cmp.Diff(want, q.Warnings[maxWarnings:]); diff != "" {
		t.Errorf("last warnings (-want +got):\n%s", diff)
	}
}
