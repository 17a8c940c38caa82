package dcmjson

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/medimg/medimg/internal/testfiles"
)

func TestObject(t *testing.T) {
	tests := []struct {
		name  string
		build func(o *Object)
		want  string
	}{
		{"zero_object_is_empty", func(o *Object) {}, `{}`},
		{"string", func(o *Object) { o.Strings(tag.PatientID, "LO", "PID-1") },
			`{"00100020":{"vr":"LO","Value":["PID-1"]}}`},
		{"no_value_or_an_empty_value_has_only_the_vr", func(o *Object) {
			o.Strings(tag.RetrieveURL, "UR")
			o.Strings(tag.StudyDate, "DA", "")
			o.Ints(tag.InstanceNumber, "IS")
			o.Sequence(tag.ReferencedSOPSequence)
		}, `{"00080020":{"vr":"DA"},"00081190":{"vr":"UR"},"00081199":{"vr":"SQ"},"00200013":{"vr":"IS"}}`},
		{"uid_list_and_empty_value_among_others", func(o *Object) {
			o.Strings(tag.AvailableTransferSyntaxUID, "UI", "1.2.840.10008.1.2.1", "", " 1.2.840.10008.1.2\x00")
		}, `{"00083002":{"vr":"UI","Value":["1.2.840.10008.1.2.1",null,"1.2.840.10008.1.2"]}}`},
		{"person_name_is_an_object_of_component_groups", func(o *Object) {
			o.Strings(tag.PatientName, "PN", "Yamada^Tarou=山田^太郎=やまだ^たろう")
			o.Strings(tag.ReferringPhysicianName, "PN", "=Kim ", "==")
		}, `{"00080090":{"vr":"PN","Value":[{"Ideographic":"Kim"},null]},"00100010":{"vr":"PN","Value":[{"Alphabetic":"Yamada^Tarou","Ideographic":"山田^太郎","Phonetic":"やまだ^たろう"}]}}`},
		{"integer_and_decimal_strings_are_numbers", func(o *Object) {
			o.Strings(tag.SeriesNumber, "IS", " 42 ", "x")
			o.Strings(tag.SliceThickness, "DS", "1.50", "1e21")
		}, `{"00180050":{"vr":"DS","Value":[1.5,1e+21]},"00200011":{"vr":"IS","Value":[42,null]}}`},
		{"integers_are_numbers", func(o *Object) {
			o.Ints(tag.FailureReason, "US", 0xC000)
			o.Ints(tag.InstanceNumber, "IS", 4294967297, -1)
		}, `{"00081197":{"vr":"US","Value":[49152]},"00200013":{"vr":"IS","Value":[4294967297,-1]}}`},
		{"a_backslash_is_text_not_a_delimiter", func(o *Object) { o.Strings(tag.StudyDescription, "LO", `a\b`) },
			`{"00081030":{"vr":"LO","Value":["a\\b"]}}`},
		{"strings_are_escaped_as_marshal_escapes_them", func(o *Object) {
			o.Strings(tag.PatientID, "LO", "a\"b\x1b\n\xff&<")
		}, `{"00100020":{"vr":"LO","Value":["a\"b\u001B\n\ufffd&<"]}}`},
		{"sequence_items_are_objects", func(o *Object) {
			a, b := &Object{}, &Object{}
			a.Strings(tag.ReferencedSOPInstanceUID, "UI", "1.2.3")
			a.Strings(tag.ReferencedSOPClassUID, "UI", "1.2")
			o.Sequence(tag.ReferencedSOPSequence, a, b)
		}, `{"00081199":{"vr":"SQ","Value":[{"00081150":{"vr":"UI","Value":["1.2"]},"00081155":{"vr":"UI","Value":["1.2.3"]}},{}]}}`},
		{"keys_are_in_tag_order_whatever_the_order_of_the_calls", func(o *Object) {
			o.Raw(tag.PixelData, []byte(`{"vr":"OW","BulkDataURI":"b"}`))
			o.Strings(tag.Tag{Group: 0x0009, Element: 0x0010}, "LO", "PRIVATE")
			o.Strings(tag.StudyInstanceUID, "UI", "1.2")
			o.Strings(tag.SOPClassUID, "UI", "1.3")
		}, `{"00080016":{"vr":"UI","Value":["1.3"]},"00090010":{"vr":"LO","Value":["PRIVATE"]},"0020000D":{"vr":"UI","Value":["1.2"]},"7FE00010":{"vr":"OW","BulkDataURI":"b"}}`},
		{"setting_a_tag_again_replaces_it", func(o *Object) {
			o.Strings(tag.RetrieveURL, "UR")
			o.Strings(tag.RetrieveURL, "UR", "http://h/dicomweb/studies/1.2")
		}, `{"00081190":{"vr":"UR","Value":["http://h/dicomweb/studies/1.2"]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o Object
			tt.build(&o)
			got := string(o.AppendJSON(nil))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("not valid JSON: %s", got)
			}
		})
	}
}

func TestMarshalArray(t *testing.T) {
	a, b := &Object{}, &Object{}
	a.Strings(tag.Modality, "CS", "CT")
	for _, tt := range []struct {
		objs []*Object
		want string
	}{{nil, `[]`}, {[]*Object{a}, `[{"00080060":{"vr":"CS","Value":["CT"]}}]`}, {[]*Object{a, b}, `[{"00080060":{"vr":"CS","Value":["CT"]}},{}]`}} {
		if diff := cmp.Diff(tt.want, string(MarshalArray(tt.objs))); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
}

// TestObjectWritesAsMarshal ties the builder to Marshal: an attribute set on an Object is written
// exactly as Marshal writes the same element of a parsed dataset.
func TestObjectWritesAsMarshal(t *testing.T) {
	tests := []struct {
		name string
		el   func(t *testing.T) *dicom.Element
		set  func(o *Object)
	}{
		{"person_name", func(t *testing.T) *dicom.Element {
			return elem(t, tag.PatientName, "PN", []string{"Doe^John =Yamada"})
		}, func(o *Object) { o.Strings(tag.PatientName, "PN", "Doe^John =Yamada") }},
		{"uid", func(t *testing.T) *dicom.Element {
			return elem(t, tag.SOPClassUID, "UI", []string{"1.2.840.10008.5.1.4.1.1.2\x00"})
		}, func(o *Object) { o.Strings(tag.SOPClassUID, "UI", "1.2.840.10008.5.1.4.1.1.2\x00") }},
		{"code_strings", func(t *testing.T) *dicom.Element {
			return elem(t, tag.ImageType, "CS", []string{"ORIGINAL", "", "AXIAL "})
		}, func(o *Object) { o.Strings(tag.ImageType, "CS", "ORIGINAL", "", "AXIAL ") }},
		{"integer_string", func(t *testing.T) *dicom.Element {
			return elem(t, tag.InstanceNumber, "IS", []string{"7 "})
		}, func(o *Object) { o.Ints(tag.InstanceNumber, "IS", 7) }},
		{"unsigned_short", func(t *testing.T) *dicom.Element {
			return elem(t, tag.Rows, "US", []int{512})
		}, func(o *Object) { o.Ints(tag.Rows, "US", 512) }},
		{"empty_text", func(t *testing.T) *dicom.Element {
			return elem(t, tag.StudyDate, "DA", []string{""})
		}, func(o *Object) { o.Strings(tag.StudyDate, "DA") }},
		{"sequence", func(t *testing.T) *dicom.Element {
			return seq(t, tag.RequestAttributesSequence, "SQ", []*dicom.Element{
				elem(t, tag.RequestedProcedureID, "SH", []string{"RP"}), elem(t, tag.ScheduledProcedureStepID, "SH", []string{"SPS"})})
		}, func(o *Object) {
			item := &Object{}
			item.Strings(tag.RequestedProcedureID, "SH", "RP")
			item.Strings(tag.ScheduledProcedureStepID, "SH", "SPS")
			o.Sequence(tag.RequestAttributesSequence, item)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := MarshalElements([]*dicom.Element{tt.el(t)}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var o Object
			tt.set(&o)
			if diff := cmp.Diff(string(want), string(o.AppendJSON(nil))); diff != "" {
				t.Errorf("(-Marshal +Object):\n%s", diff)
			}
		})
	}
}

// TestObjectOfMarshalledAttributes rebuilds the metadata of the real files from their attributes,
// set in reverse order: the builder must give back Marshal's bytes.
func TestObjectOfMarshalledAttributes(t *testing.T) {
	for _, name := range []string{"1.dcm", "2.dcm", "3.dcm", "4.dcm", "5.dcm", "6.dcm"} {
		t.Run(name, func(t *testing.T) {
			ds, err := dicom.ParseFile(testfiles.Path(t, name), nil, dicom.SkipPixelData())
			if err != nil {
				t.Fatal(err)
			}
			want, err := Marshal(&ds, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var attrs map[string]json.RawMessage
			if err := json.Unmarshal(want, &attrs); err != nil {
				t.Fatal(err)
			}
			keys := slices.Sorted(maps.Keys(attrs))
			slices.Reverse(keys)
			var o Object
			for _, k := range keys {
				var g, e uint16
				if _, err := fmt.Sscanf(k, "%04X%04X", &g, &e); err != nil {
					t.Fatal(err)
				}
				o.Raw(tag.Tag{Group: g, Element: e}, attrs[k])
			}
			if diff := cmp.Diff(string(want), string(o.AppendJSON(nil))); diff != "" {
				t.Errorf("(-Marshal +Object):\n%s", diff)
			}
		})
	}
}
