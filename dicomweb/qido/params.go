package qido

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
)

// reserved applies the parameters that are not matching keys, gathered by lower-case name.
func (p *parser) reserved(r map[string][]string) error {
	for _, name := range []string{"limit", "offset", "fuzzymatching"} {
		if len(r[name]) > 1 {
			// Two pages or two answers to "fuzzy?" cannot both be honoured; better say so than pick one.
			return badParam(name, "given %d times; give it once", len(r[name]))
		}
	}
	p.q.Limit = p.defaultLimit
	if vs := r["limit"]; len(vs) == 1 {
		if err := p.limit(vs[0]); err != nil {
			return err
		}
	}
	if vs := r["offset"]; len(vs) == 1 {
		n, err := count("offset", vs[0], 0)
		if err != nil {
			return err
		}
		p.q.Offset = n
	}
	if vs := r["fuzzymatching"]; len(vs) == 1 {
		switch strings.ToLower(vs[0]) {
		case "true":
			p.q.Fuzzy = true
		case "false":
		default:
			return badParam("fuzzymatching", "%s is neither true nor false", quote(vs[0]))
		}
	}
	for _, v := range r["includefield"] {
		p.includeField(v)
	}
	return nil
}

func (p *parser) limit(s string) error {
	n, err := count("limit", s, 1)
	if err != nil {
		return err
	}
	if n > p.maxLimit {
		p.warnf("limit %s reduced to the maximum of %d", printable(s), p.maxLimit)
		n = p.maxLimit
	}
	p.q.Limit = n
	return nil
}

// count parses a decimal count of at least least. Only digits (and a minus, to say why it is
// refused) are taken, so that "+5", " 5" or "0x5" are refused rather than read in a way the client
// may not have meant. A number too large for an int saturates: as a limit it is clamped anyway,
// and as an offset it is past every result either way.
func count(name, s string, least int) (int, error) {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, badParam(name, "%s is not a whole number", quote(s))
	}
	n, err := strconv.Atoi(s)
	if errors.Is(err, strconv.ErrRange) && digits == s {
		n = math.MaxInt
	}
	if n < least {
		return 0, badParam(name, "%d is less than %d", n, least)
	}
	return n, nil
}

// includeField adds the attributes of one includefield value. An attribute the server does not
// know is only a warning (PS3.18 §8.3.4): the search still answers with what it has.
func (p *parser) includeField(v string) {
	for f := range strings.SplitSeq(v, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
		case strings.EqualFold(f, "all"):
			p.q.IncludeAll = true
		default:
			t, ok := p.dict.tag(f)
			if !ok {
				p.warnf("includefield %s ignored: not a DICOM attribute keyword or tag", printable(f))
			} else if !slices.Contains(p.q.IncludeFields, t) {
				p.q.IncludeFields = append(p.q.IncludeFields, t)
			}
		}
	}
}

// key turns the values of one matching key into conditions, or ignores the key with a warning.
func (p *parser) key(k string, values []string) error {
	a, ok := Lookup(k)
	if !ok {
		if name, known := p.dict.describe(k); known {
			p.warnf("parameter %s ignored: %s is not supported for matching", printable(k), name)
		} else {
			p.warnf("parameter %s ignored: not a known parameter or DICOM attribute", printable(k))
		}
		return nil
	}
	if a.Level > p.q.Level {
		p.warnf("parameter %s ignored: %s belongs to the %v level and cannot be matched in a %v search",
			printable(k), a.Keyword, a.Level, p.q.Level)
		return nil
	}
	for _, v := range values {
		c, ok, err := condition(a, k, v)
		if err != nil {
			return err
		}
		if ok {
			p.q.Conditions = append(p.q.Conditions, c)
		}
	}
	return nil
}
