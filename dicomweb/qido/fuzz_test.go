package qido

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/medimg/medimg/dicomweb/uids"
)

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		ohifStudies,
		ohifSeries,
		"StudyInstanceUID=1.2.3%5C1.2.4&StudyInstanceUID=1.2.5,1.2.6",
		"PatientName=DOE%5EJOHN",
		"PatientName=DOE%2A&StudyTime=10-1030&SeriesNumber=%2B3",
		"StudyDate=20241231-20200101&limit=0&offset=-1&fuzzymatching=maybe&limit=2",
		"RequestAttributesSequence.ScheduledProcedureStepID=S*&00400275.00401001=R1",
		"foo=bar&PatientAge=1&SOPInstanceUID=1.2&includefield=Foo,all&limit=99999",
	} {
		for level := range uint8(3) {
			f.Add(seed, level)
		}
	}
	opts := Options{DefaultLimit: 50, MaxLimit: 200}
	f.Fuzz(func(t *testing.T, raw string, level uint8) {
		// ParseQuery returns what it could parse along with its error; Parse must cope with both.
		v, _ := url.ParseQuery(raw)
		q, err := Parse(v, Level(level%3+1), opts)
		if err != nil {
			if !errors.Is(err, ErrBadParameter) {
				t.Fatalf("error %v does not wrap ErrBadParameter", err)
			}
			return
		}
		if q.Limit < 1 || q.Limit > opts.MaxLimit || q.Offset < 0 {
			t.Fatalf("limit %d, offset %d", q.Limit, q.Offset)
		}
		if len(q.Warnings) > maxWarnings+2 {
			t.Fatalf("%d warnings", len(q.Warnings))
		}
		for _, w := range q.Warnings {
			if strings.ContainsAny(w, "\"\\\r\n\x00") {
				t.Fatalf("warning %q cannot go in a Warning header", w)
			}
		}
		for _, c := range q.Conditions {
			checkCondition(t, q.Level, c)
		}
	})
}

// checkCondition holds what the store relies on: the condition is on a key of the registry usable at
// the level, every UID is valid, and no text would make the database choke.
func checkCondition(t *testing.T, level Level, c Condition) {
	t.Helper()
	a, ok := Lookup(c.Keyword)
	if !ok || a.Tag != c.Tag || a.VR != c.VR || a.Level != c.Level || c.Level > level {
		t.Fatalf("condition %+v does not fit the registry at level %v", c, level)
	}
	switch c.Kind {
	case Range:
		if (c.Lower == "" && c.Upper == "") || len(c.Values) != 0 {
			t.Fatalf("range %+v", c)
		}
	case Exact, Wildcard:
		if len(c.Values) != 1 {
			t.Fatalf("%+v has %d values", c, len(c.Values))
		}
	case List:
		if len(c.Values) == 0 {
			t.Fatalf("empty list %+v", c)
		}
	default:
		t.Fatalf("kind %d", c.Kind)
	}
	for i, s := range slices.Concat(c.Values, []string{c.Lower, c.Upper}) {
		if c.VR == "UI" && i < len(c.Values) {
			if err := uids.Validate(s); err != nil {
				t.Fatalf("condition %+v: %v", c, err)
			}
		}
		if !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\\") {
			t.Fatalf("condition %+v has %q", c, s)
		}
	}
}
