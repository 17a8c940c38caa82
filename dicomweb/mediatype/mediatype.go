// Package mediatype parses the media types of DICOMweb headers leniently enough for real clients:
// cornerstone and OHIF send unquoted parameter values that contain '/' and '*'
// (type=application/octet-stream; transfer-syntax=*), which RFC 7231 tokens, and so Go's
// mime.ParseMediaType, do not allow.
package mediatype

import (
	"errors"
	"fmt"
	"strings"

	"github.com/medimg/medimg/dicomweb/clip"
)

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("bad media type")

// MediaType is a parsed media type: type/subtype lower-cased, parameter names lower-cased, values
// unquoted.
type MediaType struct {
	Type   string
	Params map[string]string
}

// Parse parses one media type with parameters; values may be quoted strings (with \-escapes) or
// any run of characters other than ';', ',' and white space.
func Parse(s string) (MediaType, error) {
	s = strings.TrimSpace(s)
	typ, rest, _ := strings.Cut(s, ";")
	typ = strings.ToLower(strings.TrimSpace(typ))
	if major, minor, ok := strings.Cut(typ, "/"); !ok || major == "" || minor == "" || strings.ContainsAny(typ, " \t\"") {
		return MediaType{}, fmt.Errorf("%w: %q is not type/subtype", ErrSyntax, clip.String(s))
	}
	mt := MediaType{Type: typ, Params: map[string]string{}}
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		name, after, ok := strings.Cut(rest, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || name == "" || strings.ContainsAny(name, ` ;"`) {
			return MediaType{}, fmt.Errorf("%w: parameter %q of %q", ErrSyntax, clip.String(rest), clip.String(s))
		}
		value, remaining, err := parseValue(strings.TrimLeft(after, " \t"))
		if err != nil {
			return MediaType{}, fmt.Errorf("%w: parameter %s of %q: %v", ErrSyntax, clip.String(name), clip.String(s), err)
		}
		mt.Params[name] = value
		remaining = strings.TrimSpace(remaining)
		if remaining != "" && remaining[0] != ';' {
			return MediaType{}, fmt.Errorf("%w: unexpected %q in %q", ErrSyntax, clip.String(remaining), clip.String(s))
		}
		rest = strings.TrimPrefix(remaining, ";")
	}
	return mt, nil
}

// parseValue reads a quoted string or a bare value from the start of s.
func parseValue(s string) (value, rest string, err error) {
	if !strings.HasPrefix(s, `"`) {
		end := strings.IndexAny(s, "; \t")
		if end < 0 {
			end = len(s)
		}
		if end == 0 {
			return "", "", errors.New("empty value")
		}
		return s[:end], s[end:], nil
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("unterminated quoted string")
}
