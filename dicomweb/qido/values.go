package qido

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/medimg/medimg/dicomweb/uids"
)

// condition parses one value of matching key a, sent as parameter param. ok is false for universal
// matching (PS3.4 C.2.2.2.3): an empty value or only '*' matches everything, so there is nothing
// for the store to test. Spaces around a value are not significant in any of the registry's VRs.
func condition(a Attribute, param, raw string) (c Condition, ok bool, err error) {
	s := strings.Trim(raw, " ")
	if strings.Trim(s, "*") == "" {
		return Condition{}, false, nil
	}
	c = Condition{Keyword: a.Keyword, Tag: a.Tag, VR: a.VR, Level: a.Level}
	switch {
	case a.VR == "UI":
		c.Kind = List
		c.Values, err = uidList(param, s)
	case a.VR == "DA":
		err = rangeOrExact(&c, param, s, dateValue{})
	case a.VR == "TM":
		err = rangeOrExact(&c, param, s, timeValue{})
	case a.VR == "IS":
		c.Kind = Exact
		c.Values, err = integer(param, s)
	case a.Keyword == "ModalitiesInStudy":
		c.Kind = List
		c.Values, err = codeList(param, s)
	default:
		err = text(&c, param, s)
	}
	return c, err == nil, err
}

// splitList splits a list of values: PS3.18 §8.3.4.1 separates them with commas, and the DICOM
// value separator '\' is accepted too since clients send either.
func splitList(s string) []string {
	return strings.Split(strings.ReplaceAll(s, `\`, ","), ",")
}

// uidList validates every UID here, so that the store never compares against text that cannot be
// a UID and a typo gets a 400 instead of an empty result.
func uidList(param, s string) ([]string, error) {
	var out []string
	for _, u := range splitList(s) { // at most MaxListValues, checked by Parse
		u = strings.Trim(u, " ")
		if err := uids.Validate(u); err != nil {
			return nil, badParam(param, "%s is not a valid UID: %v", quote(u), err)
		}
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out, nil
}

// codeList parses ModalitiesInStudy, the one multi-valued key (PS3.4 C.6.1.1.3.1): each value is
// matched exactly, so one that is not a code string could never match and is refused. Code strings
// are upper case by definition (PS3.5 §6.2), so "ct" is read as "CT", as text matching ignores case.
func codeList(param, s string) ([]string, error) {
	var out []string
	for _, v := range splitList(s) {
		v = strings.ToUpper(strings.Trim(v, " "))
		if !isCode(v) {
			return nil, badParam(param, "%s is not a code string (1 to 16 upper-case letters, digits, spaces or underscores)", quote(v))
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

func isCode(v string) bool {
	if v == "" || len(v) > 16 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != ' ' && c != '_' {
			return false
		}
	}
	return true
}

// integer parses an IS value and gives it back in canonical form, so that "007" and "+7" find the
// stored 7. IS is limited to 32 bits by PS3.5 §6.2.
func integer(param, s string) ([]string, error) {
	// IS values are kept in 64 bits; an IS has at most 12 characters, so any stored one fits.
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, badParam(param, "%s is not an integer between -9223372036854775808 and 9223372036854775807", quote(s))
	}
	return []string{strconv.FormatInt(n, 10)}, nil
}

// text parses a PN, LO, SH or CS value: a pattern when it holds a wildcard, else a single value.
// PS3.4 defines list matching only for UIDs, so a '\' is refused rather than taken as a character.
// Control characters and invalid UTF-8 are refused because no stored value holds them and
// PostgreSQL rejects them in a text parameter.
func text(c *Condition, param, s string) error {
	if strings.Contains(s, `\`) {
		return badParam(param, `%s has a '\'; matching a list of values is not supported for %s`, quote(s), c.Keyword)
	}
	if !utf8.ValidString(s) {
		return badParam(param, "%s is not valid UTF-8", quote(s))
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }); i >= 0 {
		return badParam(param, "%s has the control character %q", quote(s), s[i])
	}
	c.Kind = Exact
	if strings.ContainsAny(s, "*?") {
		c.Kind = Wildcard
	}
	c.Values = []string{s}
	return nil
}

// quote shows a client's value in an error message, cut short: the value may be 1024 bytes long.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
