// Package clip bounds client input quoted back to the client: a Warning header or an error message
// that repeats a header line, a query key or a value must not grow with it (a 200 KB part header
// once came back as a 200 KB Warning header).
package clip

import "unicode/utf8"

// Max is the most bytes of one piece of client input that a message quotes.
const Max = 128

// Ellipsis marks input that was cut. It is ASCII, so that a clipped text stays valid in a header.
const Ellipsis = "..."

// String returns s, or its first Max bytes (cut at a character boundary) followed by Ellipsis.
func String(s string) string { return To(s, Max) }

// To returns s, or its first n bytes (cut at a character boundary) followed by Ellipsis.
func To(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + Ellipsis
}
