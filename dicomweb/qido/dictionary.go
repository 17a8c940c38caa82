package qido

import (
	"fmt"
	"strings"

	"github.com/suyashkumar/dicom/pkg/tag"
)

// maxLookups bounds the keyword look-ups of one request. tag.FindByKeyword scans the whole
// dictionary (about 90 µs), so a query full of made-up names could otherwise cost seconds of CPU.
const maxLookups = 64

// dictionary looks keys and includefield values up in the DICOM dictionary for one request,
// remembering answers so that a repeated name costs nothing.
type dictionary struct {
	seen      map[string]tag.Info // the names found; absent names map to the zero Info
	lookups   int
	exhausted bool // a name went unchecked because of maxLookups
}

// info finds a keyword (case-sensitive) or an 8-hex-digit tag in the dictionary.
func (d *dictionary) info(s string) (tag.Info, bool) {
	if t, ok := hexTag(s); ok {
		info, err := tag.Find(tag.Tag{Group: uint16(t >> 16), Element: uint16(t)})
		return info, err == nil
	}
	if !maybeKeyword(s) {
		return tag.Info{}, false
	}
	if info, ok := d.seen[s]; ok {
		return info, info.Keyword != ""
	}
	if d.lookups == maxLookups {
		d.exhausted = true
		return tag.Info{}, false
	}
	d.lookups++
	info, err := tag.FindByKeyword(s)
	if err != nil || info.Keyword != s {
		// FindByKeyword also matches names such as "Patient's Name", which are not keywords.
		info = tag.Info{}
	}
	if d.seen == nil {
		d.seen = map[string]tag.Info{}
	}
	d.seen[s] = info
	return info, info.Keyword != ""
}

// maybeKeyword rules out, without a look-up, what cannot be a PS3.6 keyword: keywords are letters
// and digits (one starts in lower case: "dBdt"), 63 characters at most.
func maybeKeyword(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if (c < 'a' || c > 'z') && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	return true
}

// tag resolves an includefield value: a registry keyword, a dictionary keyword, or any 8 hex
// digits, even a private or unknown tag, since the stored metadata may hold such attributes.
func (d *dictionary) tag(s string) (uint32, bool) {
	if t, ok := hexTag(s); ok {
		return t, true
	}
	if a, ok := lookupComponent(s); ok {
		return a.Tag, true
	}
	info, ok := d.info(s)
	return info.Tag.Uint32(), ok
}

// describe names a key that is not a matching key, for a warning: "Keyword (gggg,eeee)" per
// component when the dictionary knows every component, else not at all.
func (d *dictionary) describe(key string) (string, bool) {
	var names []string
	for c := range strings.SplitSeq(key, ".") {
		info, ok := d.info(c)
		if !ok {
			return "", false
		}
		names = append(names, fmt.Sprintf("%s %v", info.Keyword, info.Tag))
	}
	return strings.Join(names, "."), true
}
