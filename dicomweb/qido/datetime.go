package qido

import (
	"strings"
	"time"
)

// temporal is what range matching needs to know of a DA or TM value.
type temporal interface {
	valid(s string) bool
	// bound gives s as the first (or, with last, the last) moment it names in a form that compares
	// as a string, so that a reversed range is caught even when the ends have different precision.
	bound(s string, last bool) string
	String() string // the expected form, for error messages
}

// rangeOrExact parses a DA or TM value: a single value, or a range "a-b", "a-" or "-b" with
// inclusive ends (PS3.4 C.2.2.2.5). The ends are kept as sent; the store knows their formats.
func rangeOrExact(c *Condition, param, s string, t temporal) error {
	lower, upper, isRange := strings.Cut(s, "-")
	if !isRange {
		if !t.valid(s) {
			return badParam(param, "%s is not a valid %v", quote(s), t)
		}
		c.Kind, c.Values = Exact, []string{s}
		return nil
	}
	lower, upper = strings.Trim(lower, " "), strings.Trim(upper, " ")
	if lower == "" && upper == "" {
		return badParam(param, "a range needs a lower or an upper end")
	}
	for _, end := range []string{lower, upper} {
		if end != "" && !t.valid(end) {
			return badParam(param, "%s in the range %s is not a valid %v", quote(end), quote(s), t)
		}
	}
	if lower != "" && upper != "" && t.bound(lower, false) > t.bound(upper, true) {
		return badParam(param, "the range %s ends before it starts", quote(s))
	}
	c.Kind, c.Lower, c.Upper = Range, lower, upper
	return nil
}

// dateValue is a DA value: YYYYMMDD, a date that exists.
type dateValue struct{}

func (dateValue) String() string { return "date (YYYYMMDD)" }

func (dateValue) valid(s string) bool {
	if len(s) != 8 || !isDigits(s) {
		return false
	}
	y, m, d := atoi(s[:4]), atoi(s[4:6]), atoi(s[6:])
	// time.Date normalises 20230230 to March 2, so a date that comes back changed does not exist.
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	return t.Year() == y && int(t.Month()) == m && t.Day() == d
}

func (dateValue) bound(s string, _ bool) string { return s }

// timeValue is a TM value: HH, HHMM, HHMMSS or HHMMSS.F to HHMMSS.FFFFFF.
type timeValue struct{}

func (timeValue) String() string { return "time (HH, HHMM, HHMMSS or HHMMSS.FFFFFF)" }

func (timeValue) valid(s string) bool {
	whole, frac, hasFrac := strings.Cut(s, ".")
	if hasFrac && (len(whole) != 6 || len(frac) < 1 || len(frac) > 6 || !isDigits(frac)) {
		return false
	}
	if (len(whole) != 2 && len(whole) != 4 && len(whole) != 6) || !isDigits(whole) {
		return false
	}
	limits := [...]int{24, 60, 60}
	for i := 0; i < len(whole); i += 2 {
		if atoi(whole[i:i+2]) >= limits[i/2] {
			return false
		}
	}
	return true
}

// bound reads a shorter time as a whole hour or minute: "10" starts at 10:00:00.000000 and ends at
// 10:59:59.999999, so "1030-10" is a range and not a reversed one.
func (timeValue) bound(s string, last bool) string {
	whole, frac, _ := strings.Cut(s, ".")
	fill, fracFill := "000000", "000000"
	if last {
		fill, fracFill = "595959", "999999"
	}
	return whole + fill[len(whole):] + "." + frac + fracFill[len(frac):]
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// atoi reads a short run of digits already checked by isDigits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
