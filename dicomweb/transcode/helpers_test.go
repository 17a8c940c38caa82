package transcode

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/suyashkumar/dicom"

	"github.com/medimg/medimg/dicomweb/ingest"
	"github.com/medimg/medimg/internal/testfiles"
)

var nativeSyntaxes = []string{ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLE}

// shortName names a transfer syntax in subtest names.
var shortName = map[string]string{
	ImplicitVRLittleEndian: "implicit_LE",
	ExplicitVRLittleEndian: "explicit_LE",
	ExplicitVRBigEndian:    "explicit_BE",
	DeflatedExplicitVRLE:   "deflated",
	RLELossless:            "RLE",
	JPEGBaseline8Bit:       "JPEG_baseline",
}

// sample is a test input and its transfer syntax, read from its meta group.
type sample struct {
	name string
	data []byte
	ts   string
}

// realFile reads a file of the parser's testdata ("4.dcm") or of the repository's ("testdata/x.dcm").
func realFile(t testing.TB, name string) sample {
	t.Helper()
	var data []byte
	if strings.HasPrefix(name, "testdata/") {
		var err error
		if data, err = os.ReadFile(filepath.Join("..", "..", name)); err != nil {
			t.Fatal(err)
		}
	} else {
		data = testfiles.Read(t, name)
	}
	m, err := readMeta(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return sample{name: name, data: data, ts: m.transferSyntax}
}

// transcoded runs Transcode on data and fails the test on error.
func transcoded(t testing.TB, data []byte, from, to string) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := Transcode(&out, bytes.NewReader(data), int64(len(data)), from, to); err != nil {
		t.Fatalf("Transcode(%s → %s): %v", shortName[from], shortName[to], err)
	}
	return out.Bytes()
}

// read parses data with ingest.Read, with every binary value but pixel data inline.
func read(t testing.TB, data []byte) *ingest.Instance {
	t.Helper()
	inst, err := ingest.Read(bytes.NewReader(data), int64(len(data)), ingest.Options{InlineBinaryMax: 1 << 30})
	if err != nil {
		t.Fatalf("ingest.Read: %v", err)
	}
	return inst
}

// parseFull parses data, pixel data included, with the parser and returns its dataset.
func parseFull(t testing.TB, data []byte) dicom.Dataset {
	t.Helper()
	ds, err := dicom.Parse(bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		t.Fatalf("dicom.Parse: %v", err)
	}
	return ds
}

// checkDcmdump runs dcmdump on data and fails on any error or warning it prints.
func checkDcmdump(t *testing.T, data []byte) {
	t.Helper()
	path, err := exec.LookPath("dcmdump")
	if err != nil {
		t.Log("dcmdump not found (apt-get install -y dcmtk): skipping the dcmtk check")
		return
	}
	f := filepath.Join(t.TempDir(), "out.dcm")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(path, f)
	cmd.Stdout, cmd.Stderr = &bytes.Buffer{}, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Errorf("dcmdump: %v: %s", err, stderr.String())
	}
}

// sameMetadata compares two Annex F JSON datasets. Elements whose VR differs are compared by their
// value bytes when the difference is one an implicit VR encoding causes (UN for a VR the
// dictionary cannot tell, US for SS, OB for OW); skip lists tags ("00280004") left out.
func sameMetadata(t *testing.T, want, got []byte, skip ...string) {
	t.Helper()
	var w, g map[string]map[string]any
	for _, x := range []struct {
		b []byte
		v *map[string]map[string]any
	}{{want, &w}, {got, &g}} {
		d := json.NewDecoder(bytes.NewReader(x.b))
		d.UseNumber()
		if err := d.Decode(x.v); err != nil {
			t.Fatalf("metadata JSON: %v", err)
		}
	}
	for _, tg := range skip {
		delete(w, tg)
		delete(g, tg)
	}
	compareDatasets(t, "", w, g)
}

func compareDatasets(t *testing.T, path string, want, got map[string]map[string]any) {
	t.Helper()
	for tg := range want {
		if _, ok := got[tg]; !ok {
			t.Errorf("%s%s: missing from the output", path, tg)
		}
	}
	for tg, ge := range got {
		we, ok := want[tg]
		switch {
		case !ok:
			t.Errorf("%s%s: not in the source", path, tg)
		case we["vr"] == "SQ" && ge["vr"] == "SQ":
			wi, _ := we["Value"].([]any)
			gi, _ := ge["Value"].([]any)
			if len(wi) != len(gi) {
				t.Errorf("%s%s: %d items, want %d", path, tg, len(gi), len(wi))
				continue
			}
			for i := range wi {
				compareDatasets(t, fmt.Sprintf("%s%s/%d/", path, tg, i), asDataset(wi[i]), asDataset(gi[i]))
			}
		case we["vr"] == ge["vr"]:
			if diff := cmp.Diff(we, ge); diff != "" {
				t.Errorf("%s%s (-source +output):\n%s", path, tg, diff)
			}
		default:
			wb, gb := valueBytes(t, we), valueBytes(t, ge)
			if !bytes.Equal(wb, gb) {
				t.Errorf("%s%s: %s %q in the source, %s %q in the output", path, tg, we["vr"], wb, ge["vr"], gb)
			}
		}
	}
}

func asDataset(v any) map[string]map[string]any {
	out := map[string]map[string]any{}
	m, _ := v.(map[string]any)
	for k, e := range m {
		out[k], _ = e.(map[string]any)
	}
	return out
}

// valueBytes encodes a JSON element's value as it would be stored, little endian, without
// trailing padding.
func valueBytes(t *testing.T, e map[string]any) []byte {
	t.Helper()
	if s, ok := e["InlineBinary"].(string); ok {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.TrimRight(b, " \x00")
	}
	values, _ := e["Value"].([]any)
	vr, _ := e["vr"].(string)
	var b []byte
	var text []string
	for _, v := range values {
		n, isNumber := v.(json.Number)
		switch {
		case isNumber && (vr == "US" || vr == "SS"):
			i, _ := n.Int64()
			b = binary.LittleEndian.AppendUint16(b, uint16(i))
		case isNumber && (vr == "UL" || vr == "SL"):
			i, _ := n.Int64()
			b = binary.LittleEndian.AppendUint32(b, uint32(i))
		case isNumber && vr == "FL":
			f, _ := n.Float64()
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(f)))
		case isNumber && vr == "FD":
			f, _ := n.Float64()
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
		case isNumber:
			text = append(text, n.String())
		default:
			text = append(text, fmt.Sprint(v))
		}
	}
	if text != nil {
		b = []byte(strings.Join(text, `\`))
	}
	return bytes.TrimRight(b, " \x00")
}

// sameFrames compares pixel frames byte for byte (cmp.Diff is far too slow on megabytes).
func sameFrames(t *testing.T, want, got [][]byte) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(want[i], got[i]) {
			t.Errorf("frame %d: %d bytes differ from the %d expected", i+1, len(got[i]), len(want[i]))
		}
	}
}
