package dcmjson

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/suyashkumar/dicom/pkg/tag"
)

// openValues writes the start of an attribute object and, when n > 0, of its "Value" array.
func (e *encoder) openValues(vr string, n int) {
	e.buf = appendVR(e.buf, vr)
	if n > 0 {
		e.buf = append(e.buf, `,"Value":[`...)
	}
}

func (e *encoder) closeValues(n int) {
	if n > 0 {
		e.buf = append(e.buf, ']')
	}
	e.buf = append(e.buf, '}')
}

func (e *encoder) comma(i int) {
	if i > 0 {
		e.buf = append(e.buf, ',')
	}
}

// binary writes an OB/OD/OF/OL/OV/OW/UN value inline or by reference, depending on its size.
func (e *encoder) binary(vr string, v []byte) {
	switch {
	case len(v) == 0:
		e.buf = appendVR(e.buf, vr)
		e.buf = append(e.buf, '}')
	case len(v) <= e.opts.InlineBinaryMax:
		e.buf = appendVR(e.buf, vr)
		e.buf = append(e.buf, `,"InlineBinary":"`...)
		e.buf = base64.StdEncoding.AppendEncode(e.buf, v)
		e.buf = append(e.buf, `"}`...)
	default:
		e.bulk(vr)
	}
}

func (e *encoder) ints(vr string, v []int) {
	if vr == "AT" {
		// The parser reads AT as a flat list of 16-bit halves: group, element, group, element…
		n := len(v) / 2
		e.openValues(vr, n)
		for i := range n {
			e.comma(i)
			e.buf = append(e.buf, '"')
			e.buf = appendTag(e.buf, tag.Tag{Group: uint16(v[2*i]), Element: uint16(v[2*i+1])})
			e.buf = append(e.buf, '"')
		}
		e.closeValues(n)
		return
	}
	integers(e, vr, v)
}

// integers writes binary integers and IS values known as numbers: one JSON number each.
func integers[T int | int64](e *encoder, vr string, v []T) {
	e.openValues(vr, len(v))
	for i, x := range v {
		e.comma(i)
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	}
	e.closeValues(len(v))
}

func (e *encoder) floats(vr string, v []float64) {
	e.openValues(vr, len(v))
	for i, x := range v {
		e.comma(i)
		e.buf = appendFloat(e.buf, x)
	}
	e.closeValues(len(v))
}

// strings handles every value the parser returns as text. Besides the text VRs this includes
// OD/OF/OL/OV/SV/UV, which the parser does not know as binary and reads as backslash-split text.
func (e *encoder) strings(vr string, v []string) {
	switch vr {
	case "OB", "OD", "OF", "OL", "OV", "OW", "UN":
		// Re-joining undoes the parser's split on '\'; padding it trimmed cannot be recovered.
		e.binary(vr, []byte(strings.Join(v, `\`)))
		return
	case "SV", "UV":
		e.int64s(vr, []byte(strings.Join(v, `\`)))
		return
	case "LT", "ST", "UT", "UR":
		// Single-valued: a backslash is text here, not a delimiter, but the parser split on it.
		v = []string{strings.Join(v, `\`)}
	case "DA":
		// The parser does not split DA on backslashes.
		if len(v) == 1 && strings.Contains(v[0], `\`) {
			v = strings.Split(v[0], `\`)
		}
	}
	e.text(vr, v)
}

// text writes text values by the model's rules: padding trimmed, IS and DS as numbers, PN as
// objects, an empty value null, and no "Value" when the only value is empty (F.2.5).
func (e *encoder) text(vr string, v []string) {
	// Trimmed on the fly: v belongs to the caller's dataset and must not be modified.
	trim := func(s string) string {
		s = strings.TrimRight(s, " \x00")
		if vr == "UI" {
			s = strings.TrimLeft(s, " \x00")
		}
		return s
	}
	n := len(v)
	if n == 1 && trim(v[0]) == "" {
		n = 0 // an attribute with an empty value has no "Value" (F.2.5)
	}
	e.openValues(vr, n)
	for i := range n {
		e.comma(i)
		s := trim(v[i])
		switch {
		case s == "":
			e.buf = append(e.buf, "null"...)
		case vr == "IS":
			e.buf = appendIS(e.buf, s)
		case vr == "DS":
			e.buf = appendDS(e.buf, s)
		case vr == "PN":
			e.buf = appendPN(e.buf, s)
		default:
			e.buf = appendString(e.buf, s)
		}
	}
	e.closeValues(n)
}

// int64s decodes SV/UV values from the raw little-endian bytes the parser left as text.
func (e *encoder) int64s(vr string, b []byte) {
	n := len(b) / 8
	if len(b)%8 != 0 {
		n = 0 // not a whole number of values: nothing trustworthy to write
	}
	e.openValues(vr, n)
	for i := range n {
		e.comma(i)
		u := binary.LittleEndian.Uint64(b[8*i:])
		if vr == "SV" {
			e.buf = strconv.AppendInt(e.buf, int64(u), 10)
		} else {
			e.buf = strconv.AppendUint(e.buf, u, 10)
		}
	}
	e.closeValues(n)
}

func appendIS(b []byte, s string) []byte {
	x, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, x, 10)
}

func appendDS(b []byte, s string) []byte {
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return append(b, "null"...)
	}
	return appendFloat(b, x)
}

var pnGroups = [...]string{`"Alphabetic":`, `"Ideographic":`, `"Phonetic":`}

// appendPN writes a person name as its up to three component groups (F.2.2); groups that are
// empty are left out.
func appendPN(b []byte, s string) []byte {
	groups := strings.SplitN(s, "=", len(pnGroups))
	start := len(b)
	b = append(b, '{')
	for i, g := range groups {
		g = strings.TrimRight(g, " ")
		if g == "" {
			continue
		}
		if len(b) > start+1 {
			b = append(b, ',')
		}
		b = append(b, pnGroups[i]...)
		b = appendString(b, g)
	}
	if len(b) == start+1 {
		return append(b[:start], "null"...)
	}
	return append(b, '}')
}

// appendFloat formats like encoding/json: shortest representation, exponent only for very small
// or very large magnitudes, null for values JSON cannot represent.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9, as encoding/json does.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendString writes s as a JSON string; invalid UTF-8 becomes U+FFFD so the output always parses.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
