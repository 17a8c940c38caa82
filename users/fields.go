package users

import (
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/internal/httperr"
)

// math32 is the largest offset accepted: far beyond any real table, small enough for every engine.
const math32 = math.MaxInt32

// validation collects every invalid field of a request, so that one 422 names them all.
type validation struct {
	fields []httperr.FieldError
	// badQuery is a malformed query string (400 rather than 422).
	badQuery *httperr.Error
}

func (v *validation) add(field, msg string) {
	v.fields = append(v.fields, httperr.FieldError{Field: field, Message: msg})
}

// check records msg for field unless it is "".
func (v *validation) check(field, msg string) {
	if msg != "" {
		v.add(field, msg)
	}
}

// required returns *p after checking it with fn; a missing field is recorded.
func (v *validation) required(field string, p *string, fn func(string) string) string {
	if p == nil {
		v.add(field, "is required")
		return ""
	}
	v.check(field, fn(*p))
	return *p
}

// optional is required for a field that may be missing or "".
func (v *validation) optional(field string, p *string, fn func(string) string) string {
	if p == nil || *p == "" {
		return ""
	}
	v.check(field, fn(*p))
	return *p
}

func (v *validation) role(s string) string {
	if _, ok := ParseRole(s); !ok {
		v.add("role", "must be one of sender, reader, editor, admin")
	}
	return s
}

// query returns the request's query parameters after checking that each is one of known and given
// once: a misspelt filter must not silently match everything.
func (v *validation) query(c *gin.Context, known ...string) url.Values {
	q, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		v.badQuery = httperr.New(http.StatusBadRequest, "bad_request", "malformed query string")
		return url.Values{}
	}
	for name, values := range q {
		switch {
		case !slices.Contains(known, name):
			v.badQuery = httperr.New(http.StatusBadRequest, "bad_request", "unknown query parameter %.64q; known: %s", name, strings.Join(known, ", "))
		case len(values) > 1:
			v.badQuery = httperr.New(http.StatusBadRequest, "bad_request", "query parameter %s given %d times", name, len(values))
		}
	}
	return q
}

// number parses an integer query parameter in [min, max]; def when absent.
func (v *validation) number(q url.Values, name string, def, min, max int) int {
	if !q.Has(name) {
		return def
	}
	n, err := strconv.Atoi(q.Get(name))
	if err != nil || n < min || n > max {
		v.add(name, "must be a whole number from "+strconv.Itoa(min)+" to "+strconv.Itoa(max))
		return def
	}
	return n
}

// err is the 400 or 422 for what was collected, or nil.
func (v *validation) err() error {
	if v.badQuery != nil {
		return v.badQuery
	}
	if len(v.fields) == 0 {
		return nil
	}
	return &httperr.Error{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: "the request has invalid fields", Fields: v.fields}
}
