package qido

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// parseCase is one row of the table tests: a raw query string as a browser sends it, and either the
// conditions and warnings it gives or a piece of the error message.
type parseCase struct {
	name     string
	query    string
	level    Level // 0 means Study
	want     []Condition
	warnings []string
	err      string
}

func runParseCases(t *testing.T, cases []parseCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			level := tc.level
			if level == 0 {
				level = Study
			}
			q, err := parseRaw(t, tc.query, level, Options{})
			if tc.err != "" {
				if err == nil {
					t.Fatalf("Parse(%q) succeeded, want an error with %q", tc.query, tc.err)
				}
				if !errors.Is(err, ErrBadParameter) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Parse(%q) error = %v, want one wrapping ErrBadParameter with %q", tc.query, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.query, err)
			}
			if diff := cmp.Diff(tc.want, q.Conditions, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.warnings, q.Warnings, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// parseRaw parses the query string the way the HTTP layer does before calling Parse.
func parseRaw(t testing.TB, raw string, level Level, opts Options) (*Query, error) {
	t.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("url.ParseQuery(%q): %v", raw, err)
	}
	return Parse(v, level, opts)
}

// cond builds the condition the registry gives for keyword, with Values for Exact, List and
// Wildcard.
func cond(t testing.TB, keyword string, kind Kind, values ...string) Condition {
	t.Helper()
	a, ok := Lookup(keyword)
	if !ok {
		t.Fatalf("%s is not in the registry", keyword)
	}
	return Condition{Keyword: a.Keyword, Tag: a.Tag, VR: a.VR, Level: a.Level, Kind: kind, Values: values}
}

func between(t testing.TB, keyword, lower, upper string) Condition {
	t.Helper()
	c := cond(t, keyword, Range)
	c.Lower, c.Upper = lower, upper
	return c
}
