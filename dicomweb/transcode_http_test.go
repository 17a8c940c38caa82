package dicomweb_test

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest"
	"github.com/medimg/medimg/internal/testfiles"
)

// TestRetrieveTranscoded stores files in several syntaxes and retrieves each in every syntax the
// server offers: the result parses, says the syntax asked, and holds the same attributes and pixels.
func TestRetrieveTranscoded(t *testing.T) {
	mr := testfiles.Read(t, "3.dcm")
	mrFrame := testfiles.LibraryFrames(t, mr, binary.LittleEndian)[0]
	sources := map[string][]byte{
		"explicit_le":   mr,
		"implicit_le":   variant(t, "mr_implicit_little_endian.dcm"),
		"big_endian":    variant(t, "mr_explicit_big_endian.dcm"),
		"rle":           variant(t, "mr_rle.dcm"),
		"jpeg_lossless": variant(t, "mr_jpeg_lossless.dcm"),
	}
	targets := []string{"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"}
	for name, file := range sources {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, "sqlite", dicomweb.Config{})
			inst := s.stored(t, file)
			source := readIngest(t, file).Metadata
			for _, ts := range targets {
				types, bodies := parts(t, s.get(t, inst, "Accept", `multipart/related; type="application/dicom"; transfer-syntax=`+ts))
				if len(bodies) != 1 || types[0] != "application/dicom; transfer-syntax="+ts {
					t.Fatalf("%s: %q", ts, types)
				}
				got := readIngest(t, bodies[0])
				if got.TransferSyntaxUID != ts {
					t.Errorf("%s: the file says %s", ts, got.TransferSyntaxUID)
				}
				if name != "rle" && name != "jpeg_lossless" && !sameMetadata(source, got.Metadata) {
					t.Errorf("%s: attributes differ from the source's", ts)
				}
				if got.Frames.Len() != 1 {
					t.Fatalf("%s: no frame in the retrieved file", ts)
				}
				file := bodies[0]
				if got.Frames.Inflated {
					file = inflated(t, file, got.Frames.DatasetStart)
				}
				frame := frameOf(file, got.Frames.Frame(0))
				if ts == "1.2.840.10008.1.2.2" {
					frame = swap16(frame)
				}
				if !bytes.Equal(frame, mrFrame) {
					t.Errorf("%s: pixel data differs from the source's", ts)
				}
			}
		})
	}
	t.Run("deflated_source", func(t *testing.T) {
		deflated := testfiles.Read(t, "6.dcm")
		s := newServer(t, "sqlite", dicomweb.Config{})
		inst := s.stored(t, deflated)
		source := readIngest(t, deflated).Metadata
		if r := s.get(t, inst, "Accept", "application/dicom; transfer-syntax=*"); !bytes.Equal(r.body, deflated) {
			t.Errorf("deflated file as stored: %d, %d bytes", r.status, len(r.body))
		}
		types, _ := parts(t, s.get(t, inst))
		if types[0] != "application/dicom; transfer-syntax=1.2.840.10008.1.2.1.99" {
			t.Errorf("no Accept: %q, want as stored", types[0])
		}
		types, bodies := parts(t, s.get(t, inst, "Accept", `multipart/related; type="application/dicom"`))
		if got := readIngest(t, bodies[0]); types[0] != "application/dicom; transfer-syntax=1.2.840.10008.1.2.1" || !sameMetadata(source, got.Metadata) {
			t.Errorf("deflated to Explicit VR LE: %q, same attributes %v", types[0], sameMetadata(source, got.Metadata))
		}
		// OHIF asks frames of deflated instances as of any other native one: the pixels after
		// inflating, in every Accept form native frames answer.
		ingested := readIngest(t, deflated)
		want := frameOf(inflated(t, deflated, ingested.Frames.DatasetStart), ingested.Frames.Frame(0))
		if len(want) != 512*512 {
			t.Fatalf("the reference frame has %d bytes", len(want))
		}
		for _, accept := range []string{cornerstoneAccept, ohifAccept, `multipart/related; type="application/octet-stream"`,
			`multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1`, "application/octet-stream", ""} {
			r := s.get(t, inst+"/frames/1", "Accept", accept)
			got := r.body
			if strings.HasPrefix(r.header.Get("Content-Type"), "multipart/") {
				types, bodies := parts(t, r)
				if len(bodies) != 1 || !strings.Contains(types[0], "transfer-syntax=1.2.840.10008.1.2.1") {
					t.Fatalf("frames of a deflated instance (%s): %q", accept, types)
				}
				got = bodies[0]
			}
			if r.status != 200 || !bytes.Equal(got, want) {
				t.Errorf("frames of a deflated instance (Accept %q): %d, %d bytes, the inflated frame: %v", accept, r.status, len(got), bytes.Equal(got, want))
			}
		}
		if r := s.get(t, inst+"/rendered", "Accept", "image/png"); r.status != 200 || r.header.Get("Content-Type") != "image/png" {
			t.Errorf("rendered deflated instance: %d %s", r.status, r.body)
		}
		if r := s.get(t, inst+"/metadata"); r.status != 200 {
			t.Errorf("metadata of a deflated instance: %d", r.status)
		}
	})
	t.Run("jpeg_ls_cannot_be_decoded", func(t *testing.T) {
		s := newServer(t, "sqlite", dicomweb.Config{})
		inst := s.stored(t, variant(t, "mr_jpeg_ls.dcm"))
		if r := s.get(t, inst, "Accept", `multipart/related; type="application/dicom"`); r.status != http.StatusNotAcceptable {
			t.Errorf("JPEG-LS to Explicit VR LE: %d, want 406", r.status)
		}
		if r := s.get(t, inst, "Accept", `multipart/related; type="application/dicom"; transfer-syntax=*`); r.status != 200 {
			t.Errorf("JPEG-LS as stored: %d", r.status)
		}
	})
}

// inflated returns the inflated dataset of a deflated file whose deflate stream starts at start.
func inflated(t *testing.T, file []byte, start int64) []byte {
	t.Helper()
	b, err := io.ReadAll(flate.NewReader(bytes.NewReader(file[start:])))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readIngest(t *testing.T, b []byte) *ingest.Instance {
	t.Helper()
	in, err := ingest.Read(bytes.NewReader(b), int64(len(b)), ingest.Options{})
	if err != nil {
		t.Fatalf("the retrieved file does not parse: %v", err)
	}
	return in
}

// sameMetadata compares two Annex F objects attribute by attribute, ignoring what a change of
// syntax may change by design: the VR (implicit VR files carry none), InlineBinary values (their
// bytes follow the syntax's byte order), and private elements (read back from implicit VR as UN,
// so their values become InlineBinary).
func sameMetadata(a, b []byte) bool {
	var ma, mb map[string]map[string]json.RawMessage
	if json.Unmarshal(a, &ma) != nil || json.Unmarshal(b, &mb) != nil || len(ma) != len(mb) {
		return false
	}
	for k, va := range ma {
		if group, _ := strconv.ParseUint(k[:4], 16, 16); group%2 == 1 {
			continue
		}
		vb, ok := mb[k]
		if !ok {
			return false
		}
		for field, v := range va {
			if field != "vr" && field != "InlineBinary" && !bytes.Equal(v, vb[field]) {
				return false
			}
		}
	}
	return true
}

func frameOf(file []byte, ranges []ingest.Range) []byte {
	var out []byte
	for _, r := range ranges {
		out = append(out, file[r.Offset:r.Offset+r.Length]...)
	}
	return out
}

func swap16(b []byte) []byte {
	out := make([]byte, len(b))
	for i := 0; i+1 < len(b); i += 2 {
		out[i], out[i+1] = b[i+1], b[i]
	}
	return out
}
