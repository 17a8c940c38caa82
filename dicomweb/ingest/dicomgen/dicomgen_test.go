package dicomgen_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/medimg/medimg/dicomweb/ingest"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
)

func TestWriteIsReadBack(t *testing.T) {
	tests := []struct {
		name string
		spec dicomgen.Spec
	}{
		{"defaults", dicomgen.Spec{}},
		{"multi_frame_with_attributes", dicomgen.Spec{
			PatientName: "Doe^Jane", PatientID: "P1", PatientBirthDate: "19700101", PatientSex: "F",
			StudyDate: "20240102", StudyTime: "101112", AccessionNumber: "A7", StudyDescription: "Head",
			ReferringPhysicianName: "Who^Doctor", StudyID: "S1", Modality: "MR", SeriesNumber: 4,
			SeriesDescription: "T1", InstanceNumber: 9, Rows: 8, Columns: 12, NumberOfFrames: 3, Seed: 42,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec.WithDefaults()
			var buf bytes.Buffer
			if err := dicomgen.Write(&buf, spec); err != nil {
				t.Fatal(err)
			}
			data := buf.Bytes()
			inst, err := ingest.Read(bytes.NewReader(data), int64(len(data)), ingest.Options{})
			if err != nil {
				t.Fatalf("ingest.Read: %v", err)
			}
			got := []any{inst.SOPClassUID, inst.SOPInstanceUID, inst.StudyInstanceUID, inst.SeriesInstanceUID,
				inst.PatientName, inst.PatientID, inst.Modality, *inst.SeriesNumber, *inst.InstanceNumber,
				inst.Rows, inst.Columns, inst.BitsAllocated, inst.NumberOfFrames}
			want := []any{spec.SOPClassUID, spec.SOPInstanceUID, spec.StudyInstanceUID, spec.SeriesInstanceUID,
				spec.PatientName, spec.PatientID, spec.Modality, int64(spec.SeriesNumber), int64(spec.InstanceNumber),
				spec.Rows, spec.Columns, 16, spec.NumberOfFrames}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if inst.Frames.Len() != spec.NumberOfFrames {
				t.Fatalf("%d frames, want %d", inst.Frames.Len(), spec.NumberOfFrames)
			}
			for i, f := range inst.Frames.All() {
				r := f[0]
				if !bytes.Equal(data[r.Offset:r.Offset+r.Length], spec.Frame(i)) {
					t.Errorf("frame %d differs from Spec.Frame", i)
				}
			}
		})
	}
}

func TestWriteIsDeterministicForASeed(t *testing.T) {
	spec := dicomgen.Spec{Seed: 7}.WithDefaults()
	var a, b bytes.Buffer
	if err := dicomgen.Write(&a, spec); err != nil {
		t.Fatal(err)
	}
	if err := dicomgen.Write(&b, spec); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two writes of one spec differ")
	}
	if bytes.Equal(spec.Frame(0), dicomgen.Spec{Seed: 8}.Frame(0)) {
		t.Error("different seeds give the same pixels")
	}
}

func TestUIDIsValidAndUnique(t *testing.T) {
	valid := regexp.MustCompile(`^2\.25\.(0|[1-9][0-9]*)$`)
	seen := map[string]bool{}
	for range 100 {
		u := dicomgen.UID()
		if !valid.MatchString(u) || len(u) > 64 || seen[u] {
			t.Fatalf("bad or repeated UID %q", u)
		}
		seen[u] = true
	}
}

// dcmdump, when installed (Debian's dcmtk), must read the output without complaint.
func TestWriteIsReadByDcmdump(t *testing.T) {
	dcmdump, err := exec.LookPath("dcmdump")
	if err != nil {
		t.Skip("dcmdump not installed (apt-get install dcmtk)")
	}
	p := filepath.Join(t.TempDir(), "gen.dcm")
	var buf bytes.Buffer
	spec := dicomgen.Spec{PatientName: "Doe^John", NumberOfFrames: 2}.WithDefaults()
	if err := dicomgen.Write(&buf, spec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(dcmdump, "-E", "+P", "0010,0010", "+P", "0008,0018", p).CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("W: ")) || bytes.Contains(out, []byte("E: ")) {
		t.Fatalf("dcmdump: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("[Doe^John]")) || !bytes.Contains(out, []byte(spec.SOPInstanceUID)) {
		t.Errorf("dcmdump output lacks the written values:\n%s", out)
	}
}
