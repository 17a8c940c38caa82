package qido

import (
	"slices"
	"strconv"
	"strings"
)

// Attribute is a matching key of the registry: an attribute a search may match on.
type Attribute struct {
	Keyword string // PS3.6 keyword, e.g. "PatientName"
	Tag     uint32 // e.g. 0x00100010; for a key inside a sequence, the nested tag
	VR      string
	Level   Level // the level the attribute belongs to
	// Sequence is the tag of the sequence that holds the attribute (0x00400275,
	// RequestAttributesSequence), or 0 for a top-level attribute.
	Sequence uint32
}

const requestAttributesSequence = 0x00400275

// registry is the list of matching keys: the required keys of PS3.18 Tables 10.6.1-5 to -7 that
// the store indexes. An array, so that nothing can grow it; Attributes hands out copies.
var registry = [...]Attribute{
	{"StudyDate", 0x00080020, "DA", Study, 0},
	{"StudyTime", 0x00080030, "TM", Study, 0},
	{"AccessionNumber", 0x00080050, "SH", Study, 0},
	{"ModalitiesInStudy", 0x00080061, "CS", Study, 0},
	{"ReferringPhysicianName", 0x00080090, "PN", Study, 0},
	{"PatientName", 0x00100010, "PN", Study, 0},
	{"PatientID", 0x00100020, "LO", Study, 0},
	{"StudyInstanceUID", 0x0020000D, "UI", Study, 0},
	{"StudyID", 0x00200010, "SH", Study, 0},
	{"StudyDescription", 0x00081030, "LO", Study, 0},
	{"PatientBirthDate", 0x00100030, "DA", Study, 0},
	{"PatientSex", 0x00100040, "CS", Study, 0},

	{"Modality", 0x00080060, "CS", Series, 0},
	{"SeriesInstanceUID", 0x0020000E, "UI", Series, 0},
	{"SeriesNumber", 0x00200011, "IS", Series, 0},
	{"SeriesDescription", 0x0008103E, "LO", Series, 0},
	{"SeriesDate", 0x00080021, "DA", Series, 0},
	{"SeriesTime", 0x00080031, "TM", Series, 0},
	{"PerformedProcedureStepStartDate", 0x00400244, "DA", Series, 0},
	{"PerformedProcedureStepStartTime", 0x00400245, "TM", Series, 0},
	{"ScheduledProcedureStepID", 0x00400009, "SH", Series, requestAttributesSequence},
	{"RequestedProcedureID", 0x00401001, "SH", Series, requestAttributesSequence},

	{"SOPClassUID", 0x00080016, "UI", Instance, 0},
	{"SOPInstanceUID", 0x00080018, "UI", Instance, 0},
	{"InstanceNumber", 0x00200013, "IS", Instance, 0},
}

// Attributes returns the matching keys, study keys first, so that the HTTP layer can build the
// attributes a search returns. The slice is the caller's own.
func Attributes() []Attribute { return slices.Clone(registry[:]) }

// Lookup finds the matching key a query parameter names: a keyword (case-sensitive, as PS3.6
// spells it), a tag of 8 hex digits in either case, or, for the keys inside
// RequestAttributesSequence, a path such as "RequestAttributesSequence.ScheduledProcedureStepID" or
// "00400275.00400009" (any mix of keyword and tag). The nested keys are also found without the path.
func Lookup(key string) (Attribute, bool) {
	seq, item, nested := strings.Cut(key, ".")
	if !nested {
		return lookupComponent(key)
	}
	if t, _ := hexTag(seq); t != requestAttributesSequence && seq != "RequestAttributesSequence" {
		return Attribute{}, false
	}
	a, ok := lookupComponent(item)
	if !ok || a.Sequence != requestAttributesSequence {
		return Attribute{}, false
	}
	return a, true
}

func lookupComponent(s string) (Attribute, bool) {
	t, isTag := hexTag(s)
	for _, a := range registry {
		if (isTag && a.Tag == t) || (!isTag && a.Keyword == s) {
			return a, true
		}
	}
	return Attribute{}, false
}

// hexTag parses a tag written as exactly 8 hex digits. strconv alone would also take a sign or
// fewer digits, which PS3.18 does not.
func hexTag(s string) (uint32, bool) {
	if len(s) != 8 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c|0x20 < 'a' || c|0x20 > 'f') { // c|0x20 is a letter in lower case
			return 0, false
		}
	}
	t, err := strconv.ParseUint(s, 16, 32)
	return uint32(t), err == nil
}
