package qido

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// The registry is typed by hand; the DICOM dictionary catches a wrong tag, keyword or VR.
func TestAttributesAgreeWithTheDictionary(t *testing.T) {
	for _, a := range Attributes() {
		t.Run(a.Keyword, func(t *testing.T) {
			info, err := tag.Find(tag.Tag{Group: uint16(a.Tag >> 16), Element: uint16(a.Tag)})
			if err != nil {
				t.Fatalf("tag %08X: %v", a.Tag, err)
			}
			if info.Keyword != a.Keyword || !slices.Contains(info.VRs, a.VR) {
				t.Errorf("registry has %s %s, the dictionary %s %v", a.Keyword, a.VR, info.Keyword, info.VRs)
			}
			if a.Level < Study || a.Level > Instance {
				t.Errorf("level %v", a.Level)
			}
		})
	}
}

func TestAttributesIsACopy(t *testing.T) {
	Attributes()[0].Keyword = "changed"
	if got := Attributes()[0].Keyword; got != "StudyDate" {
		t.Fatalf("Attributes()[0].Keyword = %q after changing a copy", got)
	}
}

func TestLookup(t *testing.T) {
	sps := Attribute{"ScheduledProcedureStepID", 0x00400009, "SH", Series, 0x00400275}
	rp := Attribute{"RequestedProcedureID", 0x00401001, "SH", Series, 0x00400275}
	name := Attribute{"PatientName", 0x00100010, "PN", Study, 0}
	tests := []struct {
		name string
		key  string
		want Attribute
		ok   bool
	}{
		{"keyword", "PatientName", name, true},
		{"tag_upper_case", "0020000D", Attribute{"StudyInstanceUID", 0x0020000D, "UI", Study, 0}, true},
		{"tag_lower_case", "0020000d", Attribute{"StudyInstanceUID", 0x0020000D, "UI", Study, 0}, true},
		{"keyword_is_case_sensitive", "patientname", Attribute{}, false},
		{"dictionary_name_is_not_a_keyword", "Patient's Name", Attribute{}, false},
		{"seven_hex_digits", "0010010", Attribute{}, false},
		{"signed_tag", "+0100010", Attribute{}, false},
		{"sequence_keywords", "RequestAttributesSequence.ScheduledProcedureStepID", sps, true},
		{"sequence_tags", "00400275.00401001", rp, true},
		{"sequence_mixed", "00400275.ScheduledProcedureStepID", sps, true},
		{"sequence_mixed_other_way", "RequestAttributesSequence.00401001", rp, true},
		{"bare_nested_keyword", "RequestedProcedureID", rp, true},
		{"bare_nested_tag", "00400009", sps, true},
		{"nested_key_in_another_sequence", "00081115.00400009", Attribute{}, false},
		{"top_level_key_in_the_sequence", "RequestAttributesSequence.PatientName", Attribute{}, false},
		{"path_too_deep", "00400275.00400275.00400009", Attribute{}, false},
		{"unsupported_attribute", "PatientAge", Attribute{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Lookup(tt.key)
			if ok != tt.ok {
				t.Fatalf("Lookup(%q) ok = %v, want %v", tt.key, ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Lookup(%q) (-want +got):\n%s", tt.key, diff)
			}
		})
	}
}
