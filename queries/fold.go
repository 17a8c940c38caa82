package queries

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// fold is the case folding of the *_ci search columns and of the values matched against them: one
// Go function on both sides, so matching is Unicode-aware and the same on both engines.
func fold(s string) string { return strings.ToLower(s) }

// nameWords folds a person name for fuzzy matching: accents removed, lower case, and the words of
// all components and component groups (PS3.5 §6.2.1.1: '^' between components, '=' between
// groups) as " w1 w2 … ", with spaces at both ends so that " w" finds a word start anywhere.
func nameWords(pn string) string {
	words := strings.FieldsFunc(stripAccents(pn), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(words) == 0 {
		return ""
	}
	return " " + fold(strings.Join(words, " ")) + " "
}

// stripAccents removes combining marks after canonical decomposition: "Müller" → "Muller".
func stripAccents(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return norm.NFC.String(b.String())
}
