package transcode

import (
	"github.com/suyashkumar/dicom/pkg/tag"
)

// longLength reports whether an explicit VR element of this VR has a 4-byte length (PS3.5 §7.1.2).
func longLength(vr string) bool {
	switch vr {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV":
		return true
	}
	return false
}

// knownVR reports whether vr is one of PS3.5 §6.2; an explicit element with any other VR cannot be
// read, since its length field's size is unknown.
func knownVR(vr string) bool {
	switch vr {
	case "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB", "OD", "OF",
		"OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN",
		"UR", "US", "UT", "UV":
		return true
	}
	return false
}

// swapWidth is the size of the unit whose bytes are reversed between little and big endian: 1 for
// strings and bytes (never swapped). AT is two 2-byte values.
func swapWidth(vr string) int {
	switch vr {
	case "US", "SS", "OW", "AT":
		return 2
	case "UL", "SL", "FL", "OL", "OF":
		return 4
	case "FD", "SV", "UV", "OD", "OV":
		return 8
	}
	return 1
}

// context is what the VR of an implicit element can depend on: the top-level Image Pixel module
// attributes read so far.
type context struct {
	pixelRepresentation int
	bitsAllocated       int
}

// implicitVR picks the VR of an element read in implicit VR: the dictionary, with the choices
// PS3.5 leaves to the encoder made from the Image Pixel attributes, LO for private creators and UN
// for what nobody can know.
func implicitVR(t tag.Tag, c context) string {
	if t == tag.PixelData {
		if c.bitsAllocated > 0 && c.bitsAllocated <= 8 {
			return "OB"
		}
		return "OW"
	}
	if t.Group%2 == 1 {
		if t.Element >= 0x0010 && t.Element <= 0x00FF {
			return "LO" // private creator (PS3.5 §7.8.1)
		}
		return "UN"
	}
	info, err := tag.Find(repeatingGroupBase(t))
	if err != nil || len(info.VRs) == 0 {
		return "UN"
	}
	if len(info.VRs) == 1 {
		return info.VRs[0]
	}
	has := func(vr string) bool {
		for _, v := range info.VRs {
			if v == vr {
				return true
			}
		}
		return false
	}
	switch {
	case has("US") && has("SS"):
		if c.pixelRepresentation == 1 {
			return "SS"
		}
		return "US"
	case has("OW"):
		// OB or OW (overlay data), US or OW (LUT data): OW keeps any length writable explicitly.
		return "OW"
	}
	return info.VRs[0]
}

// repeatingGroupBase maps the repeating groups of overlays (60xx) and curves (50xx) to the group
// the dictionary lists.
func repeatingGroupBase(t tag.Tag) tag.Tag {
	if g := t.Group & 0xFF00; (g == 0x6000 || g == 0x5000) && t.Group%2 == 0 {
		t.Group = g
	}
	return t
}
