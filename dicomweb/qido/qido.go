// Package qido parses the query parameters of a QIDO-RS search (PS3.18 §8.3.4, §10.6.1) into
// matching conditions (PS3.4 §C.2.2.2). It knows nothing of HTTP or SQL: the handler hands it the
// decoded query string and the level of the resource, and the store turns the Query into SQL.
package qido

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/medimg/medimg/dicomweb/clip"
)

// Level is the level of a QIDO-RS resource and of the attributes it matches.
type Level int

// The three QIDO-RS levels, ordered from the top: a greater Level is a lower level.
const (
	Study Level = iota + 1
	Series
	Instance
)

// String returns the level in words, as warnings and errors show it.
func (l Level) String() string {
	switch l {
	case Study:
		return "study"
	case Series:
		return "series"
	case Instance:
		return "instance"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// Kind is how a condition matches (PS3.4 C.2.2.2).
type Kind int

// The kinds of matching the parser produces.
const (
	Exact    Kind = iota + 1 // single value matching: Values has one value
	List                     // list of values (UIDs; ModalitiesInStudy): Values has one or more, any matches
	Wildcard                 // Values[0] is the pattern with '*' (any run) and '?' (one character) as sent
	Range                    // Lower/Upper inclusive, either may be empty (open); dates YYYYMMDD, times HHMMSS.FFFFFF as sent
)

// Condition is one matching key.
type Condition struct {
	Keyword string // the registry's keyword, e.g. "PatientName", "ScheduledProcedureStepID"
	Tag     uint32 // e.g. 0x00100010; for the two sequence keys, the nested tag (0x00400009 / 0x00401001)
	VR      string
	Level   Level // the level the attribute belongs to (a study key used on /series is still Study)
	Kind    Kind
	Values  []string
	Lower   string
	Upper   string
}

// Query is a parsed QIDO-RS request.
type Query struct {
	Level Level
	// Conditions are ANDed; a repeated key gives several. Their order is that of the sorted keys,
	// then of the values of each key, because url.Values has lost the order of the request.
	Conditions    []Condition
	IncludeFields []uint32 // tags asked by includefield, deduplicated, in order
	IncludeAll    bool     // includefield=all
	Fuzzy         bool     // fuzzymatching=true
	Limit, Offset int
	// Warnings are for the Warning: 299 header (PS3.18 §8.3.5.1): each ignored key or includefield
	// value, and a clamped limit, in words a user understands. They hold no double quote, backslash
	// or control character, so they fit in a quoted-string as they are.
	Warnings []string
}

// Options bounds the page size of a search.
type Options struct {
	DefaultLimit int // limit when the request has none; 0 means 100
	MaxLimit     int // a larger limit is clamped with a warning; 0 means 1000
}

// ErrBadParameter is wrapped by every error Parse returns for a request the client must fix (a 400);
// the message names the parameter and says what is wrong.
var ErrBadParameter = errors.New("bad query parameter")

// maxValueBytes bounds every parameter value but a UID list: no matching value is that long, and
// it keeps echoed values and the work done per parameter small.
const maxValueBytes = 1024

// The limits of one search, so that a query can never reach a database limit (SQLite's 32,766
// bound variables, PostgreSQL's 65,535) and fail as a 500: a request over them is a 400 naming the
// limit.
const (
	// MaxParameters is the most matching parameters (key=value pairs of matching keys, a repeated
	// key counting once per value) of one search. Unknown keys are not counted: they are ignored
	// with a bounded number of warnings.
	MaxParameters = 100
	// MaxListValues is the most UIDs (or modalities) of one list, and of all lists of a search.
	MaxListValues = 1000
	// maxListBytes bounds a list value: MaxListValues UIDs of 64 characters and their separators.
	maxListBytes = MaxListValues * 65
)

// Parse turns the percent-decoded query of a search at level into a Query. Unknown or unusable keys
// are ignored with a warning, as PS3.18 §8.3.4 asks; malformed values are errors wrapping
// ErrBadParameter. A level other than Study, Series or Instance is the caller's bug and gives an
// error that does not wrap ErrBadParameter.
func Parse(v url.Values, level Level, opts Options) (*Query, error) {
	if level < Study || level > Instance {
		return nil, fmt.Errorf("qido: %v is not a search level", level)
	}
	p := parser{q: &Query{Level: level}}
	p.defaultLimit, p.maxLimit = opts.limits()
	reserved := map[string][]string{}
	var keys []string
	matching := 0
	for _, k := range slices.Sorted(maps.Keys(v)) {
		maxBytes := maxValueBytes
		a, known := Lookup(k)
		if known && a.VR == "UI" {
			maxBytes = maxListBytes
		}
		for _, s := range v[k] {
			if n := strings.Count(s, ",") + strings.Count(s, `\`) + 1; known && a.VR == "UI" && n > MaxListValues {
				return nil, badParam(k, "a list of %d UIDs; at most %d are allowed", n, MaxListValues)
			}
			if len(s) > maxBytes {
				return nil, badParam(k, "a value of %d bytes is longer than the %d allowed", len(s), maxBytes)
			}
		}
		// The reserved names are case-insensitive, so "limit" and "Limit" are one parameter.
		switch name := strings.ToLower(k); name {
		case "limit", "offset", "fuzzymatching", "includefield":
			reserved[name] = append(reserved[name], v[k]...)
		default:
			keys = append(keys, k)
			if known {
				matching += len(v[k])
			}
		}
	}
	if matching > MaxParameters {
		return nil, fmt.Errorf("%w: %d matching parameters; a search takes at most %d", ErrBadParameter, matching, MaxParameters)
	}
	if err := p.reserved(reserved); err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := p.key(k, v[k]); err != nil {
			return nil, err
		}
	}
	listed := 0
	for _, c := range p.q.Conditions {
		if c.Kind == List {
			listed += len(c.Values)
		}
	}
	if listed > MaxListValues {
		return nil, fmt.Errorf("%w: %d values in lists; a search takes at most %d", ErrBadParameter, listed, MaxListValues)
	}
	return p.finish(), nil
}

func (o Options) limits() (def, max int) {
	def, max = o.DefaultLimit, o.MaxLimit
	if def <= 0 {
		def = 100
	}
	if max <= 0 {
		max = 1000
	}
	return min(def, max), max
}

// parser carries the Query being built and the limits through the helpers that fill it.
type parser struct {
	q                      *Query
	defaultLimit, maxLimit int
	dict                   dictionary
	unshown                int // warnings beyond maxWarnings
}

// maxWarnings bounds the warnings of one request: they all go in one response header, and a query
// of thousands of made-up keys must not make it megabytes long.
const maxWarnings = 20

func (p *parser) warnf(format string, args ...any) {
	w := fmt.Sprintf(format, args...)
	switch {
	case slices.Contains(p.q.Warnings, w):
	case len(p.q.Warnings) == maxWarnings:
		p.unshown++
	default:
		p.q.Warnings = append(p.q.Warnings, w)
	}
}

// finish adds the warnings that sum up what the limits above left out.
func (p *parser) finish() *Query {
	if p.dict.exhausted {
		p.q.Warnings = append(p.q.Warnings, fmt.Sprintf(
			"only %d names were looked up in the DICOM dictionary; the others were taken as unknown", maxLookups))
	}
	if p.unshown > 0 {
		p.q.Warnings = append(p.q.Warnings, fmt.Sprintf("%d more warnings not shown", p.unshown))
	}
	return p.q
}

func badParam(name, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrBadParameter, printable(name), fmt.Sprintf(format, args...))
}

// printable makes client text safe to quote in a Warning header or an error: the header is a
// quoted-string, so double quotes, backslashes, control and non-ASCII bytes become '?', and a long
// key is clipped so that one silly parameter cannot make a huge header.
func printable(s string) string {
	b := []byte(clip.String(s))
	for i, c := range b {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			b[i] = '?'
		}
	}
	return string(b)
}
