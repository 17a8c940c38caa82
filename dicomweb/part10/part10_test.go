package part10_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/medimg/medimg/dicomweb/ingest"
	"github.com/medimg/medimg/dicomweb/part10"
	"github.com/medimg/medimg/dicomweb/transcode"
	"github.com/medimg/medimg/internal/testfiles"
)

// TestReadRealFiles compares the header with what the parser reads from the same files.
func TestReadRealFiles(t *testing.T) {
	for _, name := range []string{"1.dcm", "2.dcm", "3.dcm", "4.dcm", "5.dcm", "6.dcm"} {
		t.Run(name, func(t *testing.T) {
			data := testfiles.Read(t, name)
			h, err := part10.Read(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			ds, err := dicom.Parse(bytes.NewReader(data), int64(len(data)), nil, dicom.SkipPixelData())
			if err != nil {
				t.Fatal(err)
			}
			str := func(tg tag.Tag) string {
				el, err := ds.FindElementByTag(tg)
				if err != nil {
					return ""
				}
				v, _ := el.Value.GetValue().([]string)
				return strings.Trim(strings.Join(v, `\`), " \x00")
			}
			want := []string{str(tag.TransferSyntaxUID), str(tag.MediaStorageSOPClassUID), str(tag.MediaStorageSOPInstanceUID)}
			got := []string{h.TransferSyntaxUID, h.MediaStorageSOPClassUID, h.MediaStorageSOPInstanceUID}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-parser +Read):\n%s", diff)
			}
			// The elements are the group as read, back to back, and the dataset follows them.
			var group []byte
			for _, el := range h.Elements {
				if el.Tag.Group != 0x0002 || !bytes.HasSuffix(el.Raw, el.Value) {
					t.Errorf("element %s: %q", el.Tag, el.Raw)
				}
				group = append(group, el.Raw...)
			}
			if !bytes.Equal(group, data[part10.PreambleLength+12:h.DatasetStart]) {
				t.Errorf("elements are not the meta group's bytes")
			}
			if g := binary.LittleEndian.Uint16(data[h.DatasetStart:]); g == 0x0002 {
				t.Errorf("dataset at %d starts in group 0002", h.DatasetStart)
			}
		})
	}
}

// header builds a Part 10 header: preamble, DICM, group length and the given meta elements.
func header(elements ...[]byte) []byte {
	var group []byte
	for _, el := range elements {
		group = append(group, el...)
	}
	return withGroupLength(uint32(len(group)), group)
}

func withGroupLength(n uint32, group []byte) []byte {
	b := make([]byte, 128, 256)
	b = append(b, "DICM"...)
	b = append(b, 2, 0, 0, 0, 'U', 'L', 4, 0)
	b = binary.LittleEndian.AppendUint32(b, n)
	return append(b, group...)
}

// element encodes an explicit VR little endian element with a 2-byte length.
func element(group, elem uint16, vr, value string) []byte {
	b := binary.LittleEndian.AppendUint16(nil, group)
	b = binary.LittleEndian.AppendUint16(b, elem)
	b = append(b, vr...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(value)))
	return append(b, value...)
}

const explicitLE = "1.2.840.10008.1.2.1"

// TestReadRejects checks each broken header against the error of Read and the errors its two
// callers make of it (the STOW response maps both of ingest's to Failure Reason 0xC000).
func TestReadRejects(t *testing.T) {
	valid := testfiles.Read(t, "3.dcm")
	h, err := part10.Read(bytes.NewReader(valid), int64(len(valid)))
	if err != nil {
		t.Fatal(err)
	}
	metaEnd := h.DatasetStart
	with := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(valid)) }
	ts := element(2, 0x0010, "UI", explicitLE+"\x00")
	tests := []struct {
		name      string
		data      []byte
		want      []error // what Read wraps
		reason    string  // part of the reason
		ingest    error
		transcode error
	}{
		{"empty", nil, []error{part10.ErrNotPart10, part10.ErrTruncated}, "shorter than the preamble", ingest.ErrNotDICOM, transcode.ErrTruncated},
		{"shorter_than_the_preamble", valid[:131], []error{part10.ErrNotPart10, part10.ErrTruncated}, "preamble", ingest.ErrNotDICOM, transcode.ErrTruncated},
		{"no_preamble", valid[128:], []error{part10.ErrNotPart10}, "DICM", ingest.ErrNotDICOM, transcode.ErrMalformed},
		{"no_DICM", with(func(b []byte) []byte { copy(b[128:], "DICX"); return b }), []error{part10.ErrNotPart10}, "DICM", ingest.ErrNotDICOM, transcode.ErrMalformed},
		{"text_file", []byte(strings.Repeat("hello, world\n", 20)), []error{part10.ErrNotPart10}, "DICM", ingest.ErrNotDICOM, transcode.ErrMalformed},
		{"preamble_and_DICM_only", valid[:132], []error{part10.ErrTruncated}, "", ingest.ErrTruncated, transcode.ErrTruncated},
		{"group_length_without_its_value", valid[:140], []error{part10.ErrTruncated}, "(0002,0000)", ingest.ErrTruncated, transcode.ErrTruncated},
		{"no_group_length_first", with(func(b []byte) []byte { b[132+2] = 1; return b }), []error{part10.ErrNotPart10}, "group length", ingest.ErrNotDICOM, transcode.ErrMalformed},
		{"meta_group_cut_short", valid[:metaEnd-10], []error{part10.ErrTruncated}, "past the end", ingest.ErrTruncated, transcode.ErrTruncated},
		{"group_length_past_the_end", withGroupLength(1000, ts), []error{part10.ErrTruncated}, "past the end", ingest.ErrTruncated, transcode.ErrTruncated},
		{"group_length_inside_an_element", withGroupLength(uint32(len(ts)-2), append(bytes.Clone(ts), make([]byte, 64)...)), []error{part10.ErrNotPart10}, "overruns the group", ingest.ErrNotDICOM, transcode.ErrMalformed},
		{"group_length_inside_an_element_header", withGroupLength(4, append(bytes.Clone(ts), make([]byte, 64)...)), []error{part10.ErrNotPart10}, "group ends", ingest.ErrNotDICOM, transcode.ErrMalformed},
		{"element_header_cut_by_the_end", header(ts, []byte{2, 0, 0x12, 0}), []error{part10.ErrTruncated}, "input ends", ingest.ErrTruncated, transcode.ErrTruncated},
		{"undefined_length_element", header(ts, []byte{2, 0, 1, 0, 'O', 'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF}), []error{part10.ErrNotPart10}, "overruns the group", ingest.ErrNotDICOM, transcode.ErrMalformed},
		{"short_without_DICM", with(func(b []byte) []byte { copy(b[128:], "DICX"); return b[:140] }), []error{part10.ErrNotPart10}, "DICM", ingest.ErrNotDICOM, transcode.ErrMalformed},
		{"element_with_VR_OV", header(ts, []byte{2, 0, 0x20, 0, 'O', 'V', 0, 0, 8, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}), []error{part10.ErrNotPart10}, "VR OV", ingest.ErrNotDICOM, transcode.ErrMalformed},
		{"meta_group_over_1_MiB", header(ts, append([]byte{2, 0, 0x20, 0, 'O', 'B', 0, 0, 0, 0, 0x10, 0}, make([]byte, 1<<20)...)), []error{part10.ErrNotPart10}, "over", ingest.ErrNotDICOM, transcode.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, size := bytes.NewReader(tt.data), int64(len(tt.data))
			h, err := part10.Read(r, size)
			if err == nil {
				t.Fatalf("Read = %+v, want an error", h)
			}
			for _, want := range []error{part10.ErrNotPart10, part10.ErrTruncated} {
				if errors.Is(err, want) != slices.Contains(tt.want, want) {
					t.Errorf("Read error %q: errors.Is(%v) = %v", err, want, !slices.Contains(tt.want, want))
				}
			}
			if !strings.Contains(part10.Reason(err), tt.reason) {
				t.Errorf("reason %q does not say %q", part10.Reason(err), tt.reason)
			}
			if _, err := ingest.Read(r, size, ingest.Options{}); !errors.Is(err, tt.ingest) {
				t.Errorf("ingest.Read: %v, want %v", err, tt.ingest)
			}
			if err := transcode.Transcode(io.Discard, r, size, explicitLE, transcode.ImplicitVRLittleEndian); !errors.Is(err, tt.transcode) {
				t.Errorf("transcode.Transcode: %v, want %v", err, tt.transcode)
			}
		})
	}
}

// TestReadKeepsForeignElements: the group length decides what the meta group is, so an element of
// another group inside it is returned; transcode, which writes the group back, refuses it.
func TestReadKeepsForeignElements(t *testing.T) {
	data := header(element(2, 0x0010, "UI", explicitLE+"\x00"), element(8, 5, "CS", "ISO_IR 100"))
	h, err := part10.Read(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Elements) != 2 || h.Elements[1].Tag != tag.SpecificCharacterSet || h.DatasetStart != int64(len(data)) {
		t.Errorf("Read = %+v", h)
	}
	if err := transcode.Transcode(io.Discard, bytes.NewReader(data), int64(len(data)), explicitLE, transcode.ImplicitVRLittleEndian); !errors.Is(err, transcode.ErrMalformed) {
		t.Errorf("transcode.Transcode: %v, want ErrMalformed", err)
	}
}

func FuzzRead(f *testing.F) {
	for _, name := range []string{"1.dcm", "3.dcm", "6.dcm"} {
		data := testfiles.Read(f, name)
		f.Add(data[:min(len(data), 1024)])
	}
	f.Add(header(element(2, 0x0010, "UI", explicitLE+"\x00")))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := part10.Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !errors.Is(err, part10.ErrNotPart10) && !errors.Is(err, part10.ErrTruncated) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		var group []byte
		for _, el := range h.Elements {
			group = append(group, el.Raw...)
		}
		if h.DatasetStart > int64(len(data)) || !bytes.Equal(group, data[part10.PreambleLength+12:h.DatasetStart]) {
			t.Fatalf("elements are not the meta group: start %d of %d", h.DatasetStart, len(data))
		}
	})
}
