package ingest

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
)

var sentinels = []error{ErrNotDICOM, ErrTruncated, ErrMissingAttribute, ErrInvalidUID, ErrUnsupported, ErrTemporaryStorage}

func generate(t testing.TB, spec dicomgen.Spec) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := dicomgen.Write(&buf, spec); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadRejects(t *testing.T) {
	valid := generate(t, dicomgen.Spec{})
	noMagic := bytes.Clone(valid)
	copy(noMagic[128:], "DICX")
	tests := []struct {
		name    string
		data    []byte
		want    error
		message string // a part of the message that identifies the cause
	}{
		{"empty_input", nil, ErrNotDICOM, "preamble"},
		{"text_file", []byte(strings.Repeat("hello, world\n", 20)), ErrNotDICOM, "DICM"},
		{"no_dicm_at_128", noMagic, ErrNotDICOM, "DICM"},
		{"preamble_and_magic_only", valid[:132], ErrTruncated, ""},
		{"missing_sop_class_uid", generate(t, dicomgen.Spec{Omit: []dicomgen.Tag{dicomgen.TagSOPClassUID}}), ErrMissingAttribute, "SOPClassUID"},
		{"missing_sop_instance_uid", generate(t, dicomgen.Spec{Omit: []dicomgen.Tag{dicomgen.TagSOPInstanceUID, dicomgen.TagMediaStorageSOPInstanceUID}}), ErrMissingAttribute, "SOPInstanceUID"},
		{"missing_study_instance_uid", generate(t, dicomgen.Spec{Omit: []dicomgen.Tag{dicomgen.TagStudyInstanceUID}}), ErrMissingAttribute, "StudyInstanceUID"},
		{"missing_series_instance_uid", generate(t, dicomgen.Spec{Omit: []dicomgen.Tag{dicomgen.TagSeriesInstanceUID}}), ErrMissingAttribute, "SeriesInstanceUID"},
		{"empty_series_instance_uid", generate(t, dicomgen.Spec{Override: map[dicomgen.Tag]string{dicomgen.TagSeriesInstanceUID: ""}}), ErrMissingAttribute, "SeriesInstanceUID"},
		{"missing_transfer_syntax", generate(t, dicomgen.Spec{Omit: []dicomgen.Tag{dicomgen.TagTransferSyntaxUID}}), ErrMissingAttribute, "TransferSyntaxUID"},
		{"malformed_sop_class_uid", generate(t, dicomgen.Spec{SOPClassUID: "1.2.840.10008.5.1.4.1.1.2.abc"}), ErrInvalidUID, "SOPClassUID"},
		{"sop_instance_uid_with_leading_zero", generate(t, dicomgen.Spec{SOPInstanceUID: "1.2.03"}), ErrInvalidUID, `SOPInstanceUID "1.2.03"`},
		{"study_instance_uid_too_long", generate(t, dicomgen.Spec{StudyInstanceUID: "1." + strings.Repeat("9", 70)}), ErrInvalidUID, "StudyInstanceUID"},
		{"series_instance_uid_with_path", generate(t, dicomgen.Spec{Override: map[dicomgen.Tag]string{dicomgen.TagSeriesInstanceUID: "../../etc"}}), ErrInvalidUID, "SeriesInstanceUID"},
		{"malformed_transfer_syntax", generate(t, dicomgen.Spec{Override: map[dicomgen.Tag]string{dicomgen.TagTransferSyntaxUID: "1.2.840.10008.1.2.x"}}), ErrInvalidUID, "TransferSyntaxUID"},
		{"unknown_transfer_syntax", generate(t, dicomgen.Spec{Override: map[dicomgen.Tag]string{dicomgen.TagTransferSyntaxUID: "1.2.3.4"}}), ErrUnsupported, "1.2.3.4"},
		{"media_storage_sop_instance_uid_mismatch", generate(t, dicomgen.Spec{Override: map[dicomgen.Tag]string{dicomgen.TagMediaStorageSOPInstanceUID: "1.2.3"}}), ErrInvalidUID, "MediaStorageSOPInstanceUID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst, err := Read(bytes.NewReader(tt.data), int64(len(tt.data)), Options{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Read = %v, %v; want error %v", inst, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not mention %q", err, tt.message)
			}
			for _, s := range sentinels {
				if s != tt.want && errors.Is(err, s) {
					t.Errorf("error %v also wraps %v", err, s)
				}
			}
		})
	}
}

// Cutting a file anywhere must give an error (or, exactly at an element boundary, a shorter
// valid object) and never a panic.
func TestReadTruncatedFiles(t *testing.T) {
	files := map[string][]byte{
		"pet":             readBytes(t, realFile(t, "1.dcm")),
		"mr":              readBytes(t, realFile(t, "3.dcm")),
		"deflated":        readBytes(t, realFile(t, "6.dcm")),
		"big_endian":      readBytes(t, variantFile(t, "mr_explicit_big_endian.dcm")),
		"implicit":        readBytes(t, variantFile(t, "mr_implicit_little_endian.dcm")),
		"jpeg_multiframe": readBytes(t, variantFile(t, "ct_multiframe_jpeg_lossless_fragments.dcm")),
	}
	for name, data := range files {
		t.Run(name+"_at_chosen_points", func(t *testing.T) {
			// Inside the preamble, the meta group length, the middle, and the last value.
			cuts := []int{0, 100, 131, 136, 141, len(data) / 2, len(data) - 1}
			if name == "deflated" {
				cuts = cuts[:len(cuts)-1] // the last byte of this deflate stream is padding
			}
			for _, cut := range cuts {
				_, err := Read(bytes.NewReader(data[:cut]), int64(cut), Options{})
				if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrNotDICOM) {
					t.Errorf("cut at %d: %v, want ErrTruncated or ErrNotDICOM", cut, err)
				}
			}
		})
		t.Run(name+"_everywhere", func(t *testing.T) {
			step := max(1, len(data)/1500)
			for cut := 0; cut < len(data); cut += step {
				_, err := Read(bytes.NewReader(data[:cut]), int64(cut), Options{})
				if err == nil {
					continue // an element boundary: a valid, shorter object
				}
				if !wrapsSentinel(err) {
					t.Fatalf("cut at %d: %v wraps none of the sentinel errors", cut, err)
				}
			}
		})
	}
}

func wrapsSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func TestReadRejectsHostileLengths(t *testing.T) {
	valid := generate(t, dicomgen.Spec{})
	tests := []struct {
		name   string
		mutate func([]byte) []byte
		want   error
	}{
		{"pixel_data_claims_four_gigabytes", func(b []byte) []byte {
			i := bytes.LastIndex(b, []byte{0xE0, 0x7F, 0x10, 0x00, 'O', 'W'})
			copy(b[i+8:], []byte{0xFE, 0xFF, 0xFF, 0xFF})
			return b
		}, ErrTruncated},
		{"meta_group_length_past_the_end", func(b []byte) []byte {
			copy(b[140:], []byte{0xFF, 0xFF, 0xFF, 0x7F})
			return b
		}, ErrTruncated},
		{"trailing_bytes_after_pixel_data", func(b []byte) []byte { return append(b, 1, 2, 3) }, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.mutate(bytes.Clone(valid))
			_, err := Read(bytes.NewReader(data), int64(len(data)), Options{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Read: %v, want %v", err, tt.want)
			}
		})
	}
}
