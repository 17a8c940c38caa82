package ingest

import (
	"bytes"
	"encoding/binary"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func intp(v int64) *int64 { return &v }

// summary is the part of an Instance a table row states; the rest is checked by dedicated tests.
func summary(inst *Instance) Instance {
	s := *inst
	s.Metadata, s.Frames, s.BulkData = nil, FrameIndex{}, nil
	return s
}

func TestReadRealFiles(t *testing.T) {
	tests := []struct {
		name         string
		file         string
		want         Instance
		frames       int
		encapsulated bool
	}{
		{"pet_with_nested_sequences", "1.dcm", Instance{
			TransferSyntaxUID: "1.2.840.10008.1.2.1", SOPClassUID: "1.2.840.10008.5.1.4.1.1.128",
			SOPInstanceUID:    "1.3.6.1.4.1.14519.5.2.1.7009.2401.264581068966524608390523682945",
			StudyInstanceUID:  "1.3.6.1.4.1.14519.5.2.1.7009.2401.541147157881199293470020980360",
			SeriesInstanceUID: "1.3.6.1.4.1.14519.5.2.1.7009.2401.156320467167446933671661793694",
			PatientName:       "ACRIN-FLT-Breast_029", PatientID: "ACRIN-FLT-Breast_029", PatientSex: "F",
			StudyDate: "19600614", StudyTime: "145225.546000", ReferringPhysicianName: "REMOVED", StudyID: "345678",
			StudyDescription: "PET-CT STUDY", Modality: "PT", SeriesDescription: "PET-CT SERIES",
			SeriesDate: "19600614", SeriesTime: "152316.921000", SeriesNumber: intp(102), InstanceNumber: intp(60),
			Rows: 168, Columns: 168, BitsAllocated: 16, NumberOfFrames: 1,
		}, 1, false},
		{"mr_with_request_attributes", "3.dcm", Instance{
			TransferSyntaxUID: "1.2.840.10008.1.2.1", SOPClassUID: "1.2.840.10008.5.1.4.1.1.4",
			SOPInstanceUID:    "1.3.6.1.4.1.14519.5.2.1.9823.1001.100673283425501223987092441879",
			StudyInstanceUID:  "1.3.6.1.4.1.14519.5.2.1.9823.1001.108958069993282969141944803554",
			SeriesInstanceUID: "1.3.6.1.4.1.14519.5.2.1.9823.1001.115805672672216488921886375902",
			PatientID:         "MIP-PROSTATE-01-0022", PatientSex: "M", StudyDate: "20061217", StudyTime: "131658",
			AccessionNumber: "5534634656957015", StudyDescription: "MRI Prostate ERC", Modality: "MR",
			SeriesDescription: "SSh_DWI FAST", SeriesDate: "20061217", SeriesTime: "141015.59000",
			SeriesNumber: intp(801), InstanceNumber: intp(260),
			PerformedProcedureStepStartDate: "20061217", PerformedProcedureStepStartTime: "131658",
			ScheduledProcedureStepID: "MR0903782", RequestedProcedureID: "MR0903782",
			Rows: 176, Columns: 176, BitsAllocated: 16, NumberOfFrames: 1,
		}, 1, false},
		{"cr_implicit_vr", "4.dcm", Instance{
			TransferSyntaxUID: "1.2.840.10008.1.2", SOPClassUID: "1.2.840.10008.5.1.4.1.1.1",
			SOPInstanceUID:    "1.3.6.1.4.1.14519.5.2.1.9999.103.3006616233530892121079169089013",
			StudyInstanceUID:  "1.3.6.1.4.1.14519.5.2.1.9999.103.2445110399502685110179049624124",
			SeriesInstanceUID: "1.3.6.1.4.1.14519.5.2.1.9999.103.2226892066207840840424092100046",
			PatientName:       "COVID-19-AR-16406488", PatientID: "COVID-19-AR-16406488", PatientSex: "M",
			StudyDate: "20120115", StudyTime: "213247", StudyDescription: "XR CHEST AP ONLY", Modality: "CR",
			SeriesDate: "20120115", SeriesTime: "213818.000", SeriesNumber: intp(1001), InstanceNumber: intp(1001),
			Rows: 2140, Columns: 1760, BitsAllocated: 16, NumberOfFrames: 1,
		}, 1, false},
		{"multi_frame_ct", "5.dcm", Instance{
			TransferSyntaxUID: "1.2.840.10008.1.2.1", SOPClassUID: "1.2.840.10008.5.1.4.1.1.2.1",
			SOPInstanceUID:    "1.3.6.1.4.1.5962.1.1.10.3.1.1166562673.14401",
			StudyInstanceUID:  "1.3.6.1.4.1.5962.1.2.10.1166562673.14401",
			SeriesInstanceUID: "1.3.6.1.4.1.5962.1.3.10.3.1166562673.14401",
			PatientName:       "Perfusion^MCA Stroke", PatientID: "0010", PatientBirthDate: "19500704", PatientSex: "M",
			StudyDate: "20061219", StudyTime: "111154.812", AccessionNumber: "0010", ReferringPhysicianName: "Thomas^Albert",
			StudyID: "0010", Modality: "CT", SeriesDate: "20061219", SeriesTime: "110929.984",
			SeriesNumber: intp(3), InstanceNumber: intp(1),
			Rows: 512, Columns: 512, BitsAllocated: 16, NumberOfFrames: 2,
		}, 2, false},
		{"deflated_frames_are_in_the_inflated_dataset", "6.dcm", Instance{
			TransferSyntaxUID: "1.2.840.10008.1.2.1.99", SOPClassUID: "1.2.840.10008.5.1.4.1.1.7",
			SOPInstanceUID:    "1.3.6.1.4.1.5962.1.1.0.0.0.977067309.6001.0",
			StudyInstanceUID:  "1.3.6.1.4.1.5962.1.2.0.977067310.6001.0",
			SeriesInstanceUID: "1.3.6.1.4.1.5962.1.3.0.0.977067310.6001.0",
			PatientName:       "^^^^", ReferringPhysicianName: "^^^^", Modality: "OT",
			Rows: 512, Columns: 512, BitsAllocated: 8, NumberOfFrames: 1,
		}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := readBytes(t, realFile(t, tt.file))
			inst := readInstance(t, data)
			if diff := cmp.Diff(tt.want, summary(inst)); diff != "" {
				t.Errorf("attributes (-want +got):\n%s", diff)
			}
			if inst.Frames.Len() != tt.frames || inst.Frames.Encapsulated != tt.encapsulated {
				t.Fatalf("frames = %d (encapsulated %v), want %d (%v)", inst.Frames.Len(), inst.Frames.Encapsulated, tt.frames, tt.encapsulated)
			}
			if tt.frames == 0 {
				return
			}
			want := libraryFrames(t, data, binary.LittleEndian)
			if inst.Frames.Inflated {
				data = inflatedDataset(t, data, inst.Frames.DatasetStart)
			}
			for i := range want {
				if !bytes.Equal(want[i], frameBytes(data, inst, i)) {
					t.Errorf("frame %d differs from the parser's", i)
				}
			}
		})
	}
}

func TestReadVariants(t *testing.T) {
	mr := readBytes(t, realFile(t, "3.dcm"))
	mrFrame := libraryFrames(t, mr, binary.LittleEndian)[0]
	tests := []struct {
		name, file, transferSyntax string
		frames                     int
		encapsulated               bool
		fragmentsPerFrame          []int
	}{
		{"explicit_big_endian", "mr_explicit_big_endian.dcm", "1.2.840.10008.1.2.2", 1, false, []int{1}},
		{"implicit_little_endian", "mr_implicit_little_endian.dcm", "1.2.840.10008.1.2", 1, false, []int{1}},
		{"rle_single_frame", "mr_rle.dcm", "1.2.840.10008.1.2.5", 1, true, []int{1}},
		{"jpeg_lossless_single_frame", "mr_jpeg_lossless.dcm", "1.2.840.10008.1.2.4.70", 1, true, []int{1}},
		{"rle_multi_frame_one_fragment_each", "ct_multiframe_rle.dcm", "1.2.840.10008.1.2.5", 2, true, []int{1, 1}},
		{"jpeg_multi_frame_grouped_by_offset_table", "ct_multiframe_jpeg_lossless_bot_fragments.dcm", "1.2.840.10008.1.2.4.70", 2, true, []int{5, 5}},
		{"jpeg_multi_frame_grouped_by_markers", "ct_multiframe_jpeg_lossless_fragments.dcm", "1.2.840.10008.1.2.4.70", 2, true, []int{5, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := readBytes(t, variantFile(t, tt.file))
			inst := readInstance(t, data)
			if inst.TransferSyntaxUID != tt.transferSyntax || inst.NumberOfFrames != tt.frames || inst.Frames.Encapsulated != tt.encapsulated {
				t.Fatalf("got %s, %d frames, encapsulated %v", inst.TransferSyntaxUID, inst.NumberOfFrames, inst.Frames.Encapsulated)
			}
			var perFrame []int
			for _, f := range inst.Frames.All() {
				perFrame = append(perFrame, len(f))
			}
			if diff := cmp.Diff(tt.fragmentsPerFrame, perFrame); diff != "" {
				t.Fatalf("fragments per frame (-want +got):\n%s", diff)
			}
			var bo binary.AppendByteOrder = binary.LittleEndian
			if tt.transferSyntax == "1.2.840.10008.1.2.2" {
				bo = binary.BigEndian
			}
			lib := libraryFrames(t, data, bo)
			if !tt.encapsulated {
				if got := frameBytes(data, inst, 0); !bytes.Equal(got, lib[0]) {
					t.Error("frame differs from the parser's")
				}
				if bo == binary.LittleEndian && !bytes.Equal(lib[0], mrFrame) {
					t.Error("frame differs from the source file's")
				}
				return
			}
			// The parser returns fragments, not frames: regroup ours the same way.
			var fragments [][]byte
			for _, f := range inst.Frames.All() {
				for _, r := range f {
					fragments = append(fragments, data[r.Offset:r.Offset+r.Length])
				}
			}
			if diff := cmp.Diff(lib, fragments, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("fragments differ from the parser's")
			}
			for i := range inst.Frames.Len() {
				if len(inst.Frames.Frame(i)) > 0 && inst.Frames.Frame(i)[0].Length >= 2 && tt.transferSyntax != "1.2.840.10008.1.2.5" {
					if b := frameBytes(data, inst, i); b[0] != 0xFF || b[1] != 0xD8 {
						t.Errorf("frame %d does not start with a JPEG SOI marker", i)
					}
				}
			}
		})
	}
}

// Every BulkDataURI in the metadata must be backed by a byte range, and the top-level PixelData
// range must hold every frame.
func TestReadBulkDataCoversEveryURI(t *testing.T) {
	files := map[string]string{}
	for _, f := range []string{"1.dcm", "2.dcm", "3.dcm", "5.dcm"} {
		files[f] = realFile(t, f)
	}
	for _, f := range []string{"mr_explicit_big_endian.dcm", "mr_implicit_little_endian.dcm", "ct_multiframe_rle.dcm", "ct_multiframe_jpeg_lossless_fragments.dcm"} {
		files[f] = variantFile(t, f)
	}
	uri := regexp.MustCompile(`"BulkDataURI":"bulkdata/([0-9A-F/]+)"`)
	for name, path := range files {
		t.Run(name, func(t *testing.T) {
			data := readBytes(t, path)
			inst := readInstance(t, data)
			var paths []string
			for _, m := range uri.FindAllSubmatch(inst.Metadata, -1) {
				paths = append(paths, string(m[1]))
				if _, ok := inst.BulkData[string(m[1])]; !ok {
					t.Errorf("BulkDataURI %s has no byte range", m[1])
				}
			}
			if len(paths) != len(inst.BulkData) {
				t.Errorf("%d BulkDataURIs, %d ranges", len(paths), len(inst.BulkData))
			}
			px := inst.BulkData["7FE00010"]
			for i, f := range inst.Frames.All() {
				for _, r := range f {
					if r.Offset < px.Offset || r.Offset+r.Length > px.Offset+px.Length {
						t.Errorf("frame %d range %v lies outside the pixel data %v", i, r, px)
					}
				}
			}
		})
	}
}

func TestReadNestedPixelDataRange(t *testing.T) {
	data := readBytes(t, realFile(t, "1.dcm"))
	inst := readInstance(t, data)
	// dcmdump +P: (0088,0200) IconImageSequence item 0 holds a 64×64×8 bit PixelData (4096 bytes).
	r := inst.BulkData["00880200/0/7FE00010"]
	if r.Length != 4096 {
		t.Fatalf("icon pixel data range %v, want 4096 bytes", r)
	}
	// The 12 bytes before the value are its explicit VR header: (7FE0,0010) OW 0000 length.
	hdr := data[r.Offset-12 : r.Offset]
	want := []byte{0xE0, 0x7F, 0x10, 0x00, 'O', 'W', 0, 0, 0x00, 0x10, 0, 0}
	if !bytes.Equal(hdr, want) {
		t.Errorf("header before the icon value = % X, want % X", hdr, want)
	}
}
