package dcmjson

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// elem builds an element the way the parser would, with an explicit VR.
func elem(t *testing.T, tg tag.Tag, vr string, data any) *dicom.Element {
	t.Helper()
	v, err := dicom.NewValue(data)
	if err != nil {
		t.Fatal(err)
	}
	return &dicom.Element{Tag: tg, RawValueRepresentation: vr, ValueRepresentation: tag.GetVRKind(tg, vr), Value: v}
}

func seq(t *testing.T, tg tag.Tag, vr string, items ...[]*dicom.Element) *dicom.Element {
	t.Helper()
	if items == nil {
		items = [][]*dicom.Element{}
	}
	return elem(t, tg, vr, items)
}

var (
	tagPatientName = tag.Tag{Group: 0x0010, Element: 0x0010}
	tagPrivate     = tag.Tag{Group: 0x0009, Element: 0x1001}
)

func TestMarshalValueRules(t *testing.T) {
	opts := Options{InlineBinaryMax: 4, BulkDataURI: func(p string) string { return "bulk/" + p }}
	tests := []struct {
		name  string
		elems func(t *testing.T) []*dicom.Element
		want  string
	}{
		{"person_name_splits_into_component_groups", func(t *testing.T) []*dicom.Element {
			return []*dicom.Element{elem(t, tagPatientName, "PN", []string{"Yamada^Tarou=山田^太郎=やまだ^たろう", "Doe^John  "})}
		}, `{"00100010":{"vr":"PN","Value":[{"Alphabetic":"Yamada^Tarou","Ideographic":"山田^太郎","Phonetic":"やまだ^たろう"},{"Alphabetic":"Doe^John"}]}}`},
		{"person_name_keeps_only_present_groups", func(t *testing.T) []*dicom.Element {
			return []*dicom.Element{elem(t, tagPatientName, "PN", []string{"=Kim", "=="})}
		}, `{"00100010":{"vr":"PN","Value":[{"Ideographic":"Kim"},null]}}`},
		{"empty_value_has_only_the_vr", func(t *testing.T) []*dicom.Element {
			return []*dicom.Element{elem(t, tagPatientName, "PN", []string{""}), elem(t, tag.Tag{Group: 0x0008, Element: 0x0050}, "SH", []string{" \x00"})}
		}, `{"00080050":{"vr":"SH"},"00100010":{"vr":"PN"}}`},
		{"empty_value_among_others_is_null", func(t *testing.T) []*dicom.Element {
			return []*dicom.Element{elem(t, tag.Tag{Group: 0x0008, Element: 0x0008}, "CS", []string{"ORIGINAL", "", "AXIAL"})}
		}, `{"00080008":{"vr":"CS","Value":["ORIGINAL",null,"AXIAL"]}}`},
		{"integer_and_decimal_strings_are_numbers", func(t *testing.T) []*dicom.Element {
			return []*dicom.Element{
				elem(t, tag.Tag{Group: 0x0020, Element: 0x0013}, "IS", []string{" 42 ", "-7", "+3"}),
				elem(t, tag.Tag{Group: 0x0028, Element: 0x0030}, "DS", []string{"1.50", " -2.5e3", "0.00000001", "1e21"}),
			}
		}, `{"00200013":{"vr":"IS","Value":[42,-7,3]},"00280030":{"vr":"DS","Value":[1.5,-2500,1e-8,1e+21]}}`},
		{"unparsable_numbers_are_null", func(t *testing.T) []*dicom.Element {
			return []*dicom.Element{
				elem(t, tag.Tag{Group: 0x0020, Element: 0x0013}, "IS", []string{"12a", "1.0"}),
				elem(t, tag.Tag{Group: 0x0028, Element: 0x0030}, "DS", []string{"abc", "NaN", "Inf", "2"}),
			}
		}, `{"00200013":{"vr":"IS","Value":[null,null]},"00280030":{"vr":"DS","Value":[null,null,null,2]}}`},
		{"binary_integers_are_numbers", func(t *testing.T) []*dicom.Element {
			return []*dicom.Element{
				elem(t, tag.Tag{Group: 0x0028, Element: 0x0010}, "US", []int{512}),
				elem(t, tag.Tag{Group: 0x0028, Element: 0x0106}, "SS", []int{-32768, 32767}),
				elem(t, tag.Tag{Group: 0x0018, Element: 0x9219}, "SL", []int{-1}),
				elem(t, tag.Tag{Group: 0x0008, Element: 0x0000}, "UL", []int{1}), // group length: left out
			}
		}, `{"00189219":{"vr":"SL","Value":[-1]},"00280010":{"vr":"US","Value":[512]},"00280106":{"vr":"SS","Value":[-32768,32767]}}`},
		{"floats_are_numbers_and_non_finite_floats_are_null", func(t *testing.T) []*dicom.Element {
			return []*dicom.Element{
				elem(t, tag.Tag{Group: 0x0018, Element: 0x9087}, "FD", []float64{0.1, math.NaN(), math.Inf(1), -0.5}),
				elem(t, tag.Tag{Group: 0x0018, Element: 0x9089}, "FL", []float64{3.25}),
			}
		}, `{"00189087":{"vr":"FD","Value":[0.1,null,null,-0.5]},"00189089":{"vr":"FL","Value":[3.25]}}`},
		{"attribute_tags_are_hex_strings", func(t *testing.T) []*dicom.Element {
			return []*dicom.Element{elem(t, tag.Tag{Group: 0x0020, Element: 0x9165}, "AT", []int{0x0018, 0x9087, 0x7FE0, 0x0010})}
		}, `{"00209165":{"vr":"AT","Value":["00189087","7FE00010"]}}`},
		{"strings_lose_trailing_padding_but_keep_leading_spaces", func(t *testing.T) []*dicom.Element {
			return []*dicom.Element{
				elem(t, tag.Tag{Group: 0x0008, Element: 0x1030}, "LO", []string{"  Head \x00"}),
				elem(t, tag.Tag{Group: 0x0008, Element: 0x0018}, "UI", []string{" 1.2.3\x00"}),
			}
		}, `{"00080018":{"vr":"UI","Value":["1.2.3"]},"00081030":{"vr":"LO","Value":["  Head"]}}`},
		{"text_keeps_backslashes_and_dates_split_on_them", func(t *testing.T) []*dicom.Element {
			return []*dicom.Element{
				elem(t, tag.Tag{Group: 0x0008, Element: 0x0020}, "DA", []string{`20200101\20200102`}),
				elem(t, tag.Tag{Group: 0x0010, Element: 0x4000}, "LT", []string{`a`, `b "quoted"` + "\n"}),
			}
		}, `{"00080020":{"vr":"DA","Value":["20200101","20200102"]},"00104000":{"vr":"LT","Value":["a\\b \"quoted\"\n"]}}`},
		{"invalid_utf8_becomes_replacement_character", func(t *testing.T) []*dicom.Element {
			return []*dicom.Element{elem(t, tag.Tag{Group: 0x0008, Element: 0x1030}, "LO", []string{"a\xffb\x01"})}
		}, `{"00081030":{"vr":"LO","Value":["a\ufffdb\u0001"]}}`},
		{"small_binary_is_inline_and_large_binary_is_bulk_data", func(t *testing.T) []*dicom.Element {
			return []*dicom.Element{
				elem(t, tagPrivate, "OB", []byte{1, 2, 3, 4}),
				elem(t, tag.Tag{Group: 0x0009, Element: 0x1002}, "UN", []byte{1, 2, 3, 4, 5}),
				elem(t, tag.Tag{Group: 0x0009, Element: 0x1003}, "OW", []byte{}),
			}
		}, `{"00091001":{"vr":"OB","InlineBinary":"AQIDBA=="},"00091002":{"vr":"UN","BulkDataURI":"bulk/00091002"},"00091003":{"vr":"OW"}}`},
		{"binary_read_as_text_by_the_parser_is_binary_again", func(t *testing.T) []*dicom.Element {
			return []*dicom.Element{elem(t, tag.Tag{Group: 0x0009, Element: 0x1004}, "OF", []string{"a", "b"})}
		}, `{"00091004":{"vr":"OF","InlineBinary":"YVxi"}}`},
		{"pixel_data_is_always_bulk_data", func(t *testing.T) []*dicom.Element {
			return []*dicom.Element{elem(t, tag.PixelData, "OB", dicom.PixelDataInfo{IntentionallySkipped: true})}
		}, `{"7FE00010":{"vr":"OB","BulkDataURI":"bulk/7FE00010"}}`},
		{"sequences_nest_and_carry_the_item_path", func(t *testing.T) []*dicom.Element {
			inner := []*dicom.Element{elem(t, tag.Tag{Group: 0x0018, Element: 0x1072}, "OB", []byte{1, 2, 3, 4, 5})}
			return []*dicom.Element{seq(t, tag.Tag{Group: 0x0054, Element: 0x0016}, "SQ",
				[]*dicom.Element{}, inner)}
		}, `{"00540016":{"vr":"SQ","Value":[{},{"00181072":{"vr":"OB","BulkDataURI":"bulk/00540016/1/00181072"}}]}}`},
		{"empty_sequence_has_only_the_vr_and_unknown_sequence_is_sq", func(t *testing.T) []*dicom.Element {
			return []*dicom.Element{
				seq(t, tag.Tag{Group: 0x0008, Element: 0x1110}, "SQ"),
				seq(t, tagPrivate, "UN", []*dicom.Element{elem(t, tag.Tag{Group: 0x0009, Element: 0x0010}, "LO", []string{"X"})}),
			}
		}, `{"00081110":{"vr":"SQ"},"00091001":{"vr":"SQ","Value":[{"00090010":{"vr":"LO","Value":["X"]}}]}}`},
		{"meta_group_is_left_out_and_keys_are_sorted", func(t *testing.T) []*dicom.Element {
			return []*dicom.Element{
				elem(t, tagPatientName, "PN", []string{"B"}),
				elem(t, tag.Tag{Group: 0x0002, Element: 0x0010}, "UI", []string{"1.2.840.10008.1.2.1"}),
				elem(t, tag.Tag{Group: 0x0008, Element: 0x0060}, "CS", []string{"MR"}),
				elem(t, tagPatientName, "PN", []string{"duplicate"}),
			}
		}, `{"00080060":{"vr":"CS","Value":["MR"]},"00100010":{"vr":"PN","Value":[{"Alphabetic":"B"}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MarshalElements(tt.elems(t), opts)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(got) {
				t.Fatalf("invalid JSON: %s", got)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMarshalWithoutBulkDataURIWritesThePath(t *testing.T) {
	got, err := MarshalElements([]*dicom.Element{elem(t, tag.PixelData, "OW", dicom.PixelDataInfo{})}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"7FE00010":{"vr":"OW","BulkDataURI":"7FE00010"}}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestMarshalDoesNotModifyTheDataset(t *testing.T) {
	el := elem(t, tag.Tag{Group: 0x0008, Element: 0x0018}, "UI", []string{" 1.2 \x00"})
	if _, err := MarshalElements([]*dicom.Element{el}, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := el.Value.GetValue().([]string)[0]; got != " 1.2 \x00" {
		t.Errorf("value changed to %q", got)
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("plain")
	f.Add("a\"b\\c\n\x00\xff\u2028")
	f.Fuzz(func(t *testing.T, s string) {
		var got string
		if err := json.Unmarshal(appendString(nil, s), &got); err != nil {
			t.Fatalf("invalid JSON for %q: %v", s, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); got != want && strings.Count(s, "\ufffd") == 0 {
			// ToValidUTF8 merges runs of invalid bytes; we replace byte by byte, so compare rune-wise.
			if strings.ReplaceAll(got, "\ufffd", "") != strings.ReplaceAll(want, "\ufffd", "") {
				t.Fatalf("round trip of %q gave %q", s, got)
			}
		}
	})
}
