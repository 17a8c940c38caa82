package dicomweb_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/internal/testfiles"
)

// response is a WADO response: status, headers and body.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (s *server) get(t *testing.T, url string, header ...string) response {
	t.Helper()
	if !strings.HasPrefix(url, "http") {
		url = s.URL + url
	}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	tr := &http.Transport{DisableCompression: true} // see Content-Encoding as sent
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, body}
}

// parts splits a multipart/related body, checking that it starts with the boundary (no preamble),
// as cornerstone's parser requires.
func parts(t *testing.T, r response) (types []string, bodies [][]byte) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil || mt != "multipart/related" {
		t.Fatalf("Content-Type %q is not multipart/related (status %d, %s)", r.header.Get("Content-Type"), r.status, r.body)
	}
	if !bytes.HasPrefix(r.body, []byte("--"+params["boundary"]+"\r\n")) {
		t.Fatalf("body does not start with the boundary: %q", r.body[:min(len(r.body), 40)])
	}
	mr := multipart.NewReader(bytes.NewReader(r.body), params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return types, bodies
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		types, bodies = append(types, p.Header.Get("Content-Type")), append(bodies, b)
	}
}

func variant(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stored stores one file and returns the path of its instance resource.
func (s *server) stored(t *testing.T, data []byte) string {
	t.Helper()
	resp := s.stowParts(t, dicomPart(data))
	if resp.status != http.StatusOK {
		t.Fatalf("store: %d %q", resp.status, resp.warnings)
	}
	return strings.TrimPrefix(resp.referenced[0].retrieveURL, s.URL)
}

const (
	cornerstoneAccept = "multipart/related; type=application/octet-stream; transfer-syntax=*"
	ohifAccept        = `multipart/related; type="application/octet-stream"; transfer-syntax="*"`
)

func TestRetrieveFramesNative(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		spec := dicomgen.Spec{Rows: 16, Columns: 24, NumberOfFrames: 3, Seed: 7}.WithDefaults()
		inst := s.stored(t, generated(t, spec))
		for _, accept := range []string{cornerstoneAccept, ohifAccept, `multipart/related; type="application/octet-stream"`, ""} {
			r := s.get(t, inst+"/frames/2", "Accept", accept)
			types, bodies := parts(t, r)
			if len(bodies) != 1 || !bytes.Equal(bodies[0], spec.Frame(1)) {
				t.Fatalf("Accept %q: frame 2 differs from the source pixels", accept)
			}
			if types[0] != "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1" {
				t.Errorf("Accept %q: part Content-Type %q", accept, types[0])
			}
		}
		_, bodies := parts(t, s.get(t, inst+"/frames/3,1,3", "Accept", cornerstoneAccept))
		if len(bodies) != 3 || !bytes.Equal(bodies[0], spec.Frame(2)) || !bytes.Equal(bodies[1], spec.Frame(0)) || !bytes.Equal(bodies[2], spec.Frame(2)) {
			t.Errorf("frames 3,1,3 are not those frames in that order")
		}
		single := s.get(t, inst+"/frames/1", "Accept", "application/octet-stream")
		if single.status != 200 || !bytes.Equal(single.body, spec.Frame(0)) || !strings.HasPrefix(single.header.Get("Content-Type"), "application/octet-stream") {
			t.Errorf("single-part frame: %d %s", single.status, single.header.Get("Content-Type"))
		}
		part := s.get(t, inst+"/frames/2", "Accept", "application/octet-stream; transfer-syntax=*", "Range", "bytes=10-49")
		if part.status != http.StatusPartialContent || !bytes.Equal(part.body, spec.Frame(1)[10:50]) ||
			part.header.Get("Content-Range") != fmt.Sprintf("bytes 10-49/%d", len(spec.Frame(1))) {
			t.Errorf("Range on a frame: %d %q, %d bytes", part.status, part.header.Get("Content-Range"), len(part.body))
		}
		for path, status := range map[string]int{
			"/frames/0": 400, "/frames/x": 400, "/frames/1,": 400, "/frames/4": 404, "/frames/1,4": 404,
		} {
			if r := s.get(t, inst+path, "Accept", cornerstoneAccept); r.status != status || !strings.Contains(string(r.body), "frame") {
				t.Errorf("%s: %d %s; want %d", path, r.status, r.body, status)
			}
		}
		if r := s.get(t, inst+"/frames/1,2", "Accept", "application/octet-stream"); r.status != http.StatusNotAcceptable {
			t.Errorf("two frames as a single part: %d, want 406", r.status)
		}
		if r := s.get(t, inst+"/frames/1", "Accept", "image/png"); r.status != http.StatusNotAcceptable {
			t.Errorf("Accept image/png for a native frame: %d, want 406", r.status)
		}
		other := strings.Replace(inst, "/instances/", "/instances/9", 1)
		if r := s.get(t, other+"/frames/1"); r.status != http.StatusNotFound {
			t.Errorf("unknown instance: %d", r.status)
		}
	})
}

func TestRetrieveFramesRealFiles(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		// The variants share their source's SOP Instance UID: each goes to a server of its own.
		fresh := func(t *testing.T) *server { return newServer(t, engine, dicomweb.Config{}) }
		mr := testfiles.Read(t, "3.dcm")
		mrFrame := testfiles.LibraryFrames(t, mr, binary.LittleEndian)[0]
		t.Run("implicit_and_big_endian_serve_little_endian_pixels", func(t *testing.T) {
			for _, name := range []string{"mr_implicit_little_endian.dcm", "mr_explicit_big_endian.dcm"} {
				s := fresh(t)
				inst := s.stored(t, variant(t, name))
				types, bodies := parts(t, s.get(t, inst+"/frames/1", "Accept", `multipart/related; type="application/octet-stream"`))
				if !bytes.Equal(bodies[0], mrFrame) || types[0] != "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1" {
					t.Errorf("%s: frame differs from the MR pixels (%s)", name, types[0])
				}
				if name != "mr_explicit_big_endian.dcm" {
					continue
				}
				// As stored: big endian samples, labelled so.
				types, bodies = parts(t, s.get(t, inst+"/frames/1", "Accept", cornerstoneAccept))
				want := testfiles.LibraryFrames(t, mr, binary.BigEndian)[0]
				if !bytes.Equal(bodies[0], want) || types[0] != "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.2" {
					t.Errorf("big endian as stored: %s, equal=%v", types[0], bytes.Equal(bodies[0], want))
				}
			}
		})
		t.Run("multi_frame_ct", func(t *testing.T) {
			s := fresh(t)
			ct := testfiles.Read(t, "5.dcm")
			inst := s.stored(t, ct)
			want := testfiles.LibraryFrames(t, ct, binary.LittleEndian)
			_, bodies := parts(t, s.get(t, inst+"/frames/2,1", "Accept", cornerstoneAccept))
			if len(bodies) != 2 || !bytes.Equal(bodies[0], want[1]) || !bytes.Equal(bodies[1], want[0]) {
				t.Errorf("multi-frame CT frames differ from the parser's")
			}
		})
		t.Run("rle_as_stored", func(t *testing.T) {
			s := fresh(t)
			rle := variant(t, "mr_rle.dcm")
			inst := s.stored(t, rle)
			want := testfiles.LibraryFrames(t, rle, binary.LittleEndian)[0]
			types, bodies := parts(t, s.get(t, inst+"/frames/1", "Accept", cornerstoneAccept))
			if !bytes.Equal(bodies[0], want) || types[0] != "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.5" {
				t.Errorf("RLE frame as stored: %q, equal=%v", types[0], bytes.Equal(bodies[0], want))
			}
			types, _ = parts(t, s.get(t, inst+"/frames/1", "Accept", `multipart/related; type="image/dicom-rle"`))
			if types[0] != "image/dicom-rle; transfer-syntax=1.2.840.10008.1.2.5" {
				t.Errorf("RLE frame as image/dicom-rle: %q", types[0])
			}
			// Native Explicit VR Little Endian asked: decoded, equal to the uncompressed MR's pixels.
			types, bodies = parts(t, s.get(t, inst+"/frames/1", "Accept", `multipart/related; type="application/octet-stream"`))
			if !bytes.Equal(bodies[0], mrFrame) || types[0] != "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1" {
				t.Errorf("decoded RLE frame: %q, equal to the native MR frame: %v", types[0], bytes.Equal(bodies[0], mrFrame))
			}
			single := s.get(t, inst+"/frames/1", "Accept", "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1")
			if single.status != 200 || !bytes.Equal(single.body, mrFrame) {
				t.Errorf("decoded single-part RLE frame: %d", single.status)
			}
		})
		t.Run("jpeg_fragments_grouped_into_frames", func(t *testing.T) {
			s := fresh(t)
			jpeg := variant(t, "ct_multiframe_jpeg_lossless_bot_fragments.dcm")
			inst := s.stored(t, jpeg)
			types, bodies := parts(t, s.get(t, inst+"/frames/1,2", "Accept", `multipart/related; type="image/jpeg"; transfer-syntax=*`))
			if len(bodies) != 2 || types[0] != "image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.70" {
				t.Fatalf("JPEG frames: %q", types)
			}
			for i, b := range bodies {
				if !bytes.HasPrefix(b, []byte{0xFF, 0xD8}) || !bytes.Contains(b[len(b)-16:], []byte{0xFF, 0xD9}) {
					t.Errorf("frame %d is not one whole JPEG codestream (SOI … EOI)", i+1)
				}
			}
			// Native asked: decoded, equal to the uncompressed CT's frames.
			ct := testfiles.Read(t, "5.dcm")
			want := testfiles.LibraryFrames(t, ct, binary.LittleEndian)
			_, bodies = parts(t, s.get(t, inst+"/frames/2,1", "Accept", `multipart/related; type="application/octet-stream"`))
			if len(bodies) != 2 || !bytes.Equal(bodies[0], want[1]) || !bytes.Equal(bodies[1], want[0]) {
				t.Errorf("decoded JPEG lossless frames differ from the uncompressed CT")
			}
		})
		t.Run("jpeg_ls_cannot_be_decoded", func(t *testing.T) {
			s := fresh(t)
			inst := s.stored(t, variant(t, "mr_jpeg_ls.dcm"))
			if r := s.get(t, inst+"/frames/1", "Accept", `multipart/related; type="application/octet-stream"`); r.status != http.StatusNotAcceptable ||
				!strings.Contains(string(r.body), "1.2.840.10008.1.2.4.80") {
				t.Errorf("decoding asked without a decoder: %d %s", r.status, r.body)
			}
			types, _ := parts(t, s.get(t, inst+"/frames/1", "Accept", cornerstoneAccept))
			if types[0] != "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.4.80" {
				t.Errorf("JPEG-LS as stored: %q", types[0])
			}
		})
	})
}

func TestRetrieveMetadata(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		study, series := dicomgen.UID(), dicomgen.UID()
		var ps []part
		for i := range 3 {
			ps = append(ps, dicomPart(generated(t, dicomgen.Spec{StudyInstanceUID: study, SeriesInstanceUID: series, InstanceNumber: 3 - i, Seed: uint64(i)})))
		}
		ps = append(ps, dicomPart(generated(t, dicomgen.Spec{StudyInstanceUID: study, SeriesNumber: 2})))
		if r := s.stowParts(t, ps...); r.status != 200 {
			t.Fatalf("store: %d", r.status)
		}
		r := s.get(t, "/dicomweb/studies/"+study+"/series/"+series+"/metadata", "Accept", "application/dicom+json")
		if r.status != 200 || r.header.Get("Content-Type") != "application/dicom+json" {
			t.Fatalf("status %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
		}
		var objs []map[string]json.RawMessage
		if err := json.Unmarshal(r.body, &objs); err != nil || len(objs) != 3 {
			t.Fatalf("series metadata: %v, %d objects", err, len(objs))
		}
		for i, o := range objs {
			if value(o, "00200013") != string(rune('1'+i)) || value(o, "0020000E") != series {
				t.Errorf("object %d: InstanceNumber %s, series %s; want instance order", i, value(o, "00200013"), value(o, "0020000E"))
			}
		}
		// The BulkDataURI is absolute and leads to the pixel data.
		var px struct{ BulkDataURI string }
		json.Unmarshal(objs[0]["7FE00010"], &px)
		if !strings.HasPrefix(px.BulkDataURI, s.URL+"/dicomweb/studies/"+study+"/series/"+series+"/instances/") {
			t.Fatalf("BulkDataURI %q is not absolute", px.BulkDataURI)
		}
		bulk := s.get(t, px.BulkDataURI, "Accept", "application/octet-stream")
		spec := dicomgen.Spec{Seed: 2}.WithDefaults() // the first by InstanceNumber was stored third
		if bulk.status != 200 || !bytes.Equal(bulk.body, spec.Frame(0)) {
			t.Errorf("pixel data through the BulkDataURI: %d, %d bytes", bulk.status, len(bulk.body))
		}

		study3 := s.get(t, "/dicomweb/studies/"+study+"/metadata")
		var all []json.RawMessage
		if json.Unmarshal(study3.body, &all); len(all) != 4 {
			t.Errorf("study metadata has %d objects, want 4", len(all))
		}
		t.Run("etag", func(t *testing.T) {
			etag := r.header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			again := s.get(t, "/dicomweb/studies/"+study+"/series/"+series+"/metadata", "If-None-Match", etag)
			if again.status != http.StatusNotModified || len(again.body) != 0 {
				t.Errorf("If-None-Match: %d", again.status)
			}
			s.stowParts(t, dicomPart(generated(t, dicomgen.Spec{StudyInstanceUID: study, SeriesInstanceUID: series})))
			changed := s.get(t, "/dicomweb/studies/"+study+"/series/"+series+"/metadata", "If-None-Match", etag)
			if changed.status != 200 || changed.header.Get("ETag") == etag {
				t.Errorf("after a new instance: %d, same ETag %v", changed.status, changed.header.Get("ETag") == etag)
			}
		})
		t.Run("gzip", func(t *testing.T) {
			z := s.get(t, "/dicomweb/studies/"+study+"/metadata", "Accept-Encoding", "gzip, deflate")
			if z.header.Get("Content-Encoding") != "gzip" {
				t.Fatalf("no gzip: %v", z.header)
			}
			zr, err := gzip.NewReader(bytes.NewReader(z.body))
			if err != nil {
				t.Fatal(err)
			}
			plain, _ := io.ReadAll(zr)
			if !json.Valid(plain) || len(z.body) >= len(plain) {
				t.Errorf("gzip body: valid=%v, %d → %d bytes", json.Valid(plain), len(plain), len(z.body))
			}
			if n := s.get(t, "/dicomweb/studies/"+study+"/metadata", "Accept-Encoding", "gzip;q=0"); n.header.Get("Content-Encoding") != "" {
				t.Errorf("gzip;q=0 still compressed")
			}
		})
		t.Run("errors", func(t *testing.T) {
			for path, status := range map[string]int{
				"/dicomweb/studies/1.2.3/metadata":                      404,
				"/dicomweb/studies/" + study + "/series/1.2.3/metadata": 404,
				"/dicomweb/studies/1.2.x/metadata":                      400,
			} {
				if r := s.get(t, path); r.status != status {
					t.Errorf("%s: %d, want %d", path, r.status, status)
				}
			}
			if r := s.get(t, "/dicomweb/studies/"+study+"/metadata", "Accept", "application/dicom+xml"); r.status != 406 {
				t.Errorf("Accept xml: %d", r.status)
			}
			// The combined Accept older OHIF sent (OHIF#3990).
			if r := s.get(t, "/dicomweb/studies/"+study+"/metadata", "Accept", "application/dicom+json, multipart/related; type=application/octet-stream; transfer-syntax=*"); r.status != 200 {
				t.Errorf("combined Accept: %d", r.status)
			}
		})
	})
}

func TestRetrieveInstances(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		study := dicomgen.UID()
		a := generated(t, dicomgen.Spec{StudyInstanceUID: study, SeriesNumber: 1})
		b := generated(t, dicomgen.Spec{StudyInstanceUID: study, SeriesNumber: 2})
		s.stowParts(t, dicomPart(b), dicomPart(a))
		r := s.get(t, "/dicomweb/studies/"+study)
		types, bodies := parts(t, r)
		if len(bodies) != 2 || !bytes.Equal(bodies[0], a) || !bytes.Equal(bodies[1], b) {
			t.Fatalf("study retrieve: %d parts, not the stored files in series order", len(bodies))
		}
		if types[0] != "application/dicom; transfer-syntax=1.2.840.10008.1.2.1" {
			t.Errorf("part Content-Type %q", types[0])
		}
		inst := s.stored(t, testfiles.Read(t, "4.dcm")) // CR, implicit VR little endian, 7.5 MB
		single := s.get(t, inst, "Accept", "application/dicom; transfer-syntax=*")
		if single.status != 200 || !bytes.Equal(single.body, testfiles.Read(t, "4.dcm")) {
			t.Errorf("single-part instance: %d, %d bytes", single.status, len(single.body))
		}
		tsTypes, tsBodies := parts(t, s.get(t, inst, "Accept", `multipart/related; type="application/dicom"`))
		if tsTypes[0] != "application/dicom; transfer-syntax=1.2.840.10008.1.2.1" || bytes.Equal(tsBodies[0], testfiles.Read(t, "4.dcm")) {
			t.Errorf("Explicit VR LE asked of an implicit VR file: %q, not transcoded", tsTypes[0])
		}
		if r := s.get(t, inst, "Accept", `multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2`); r.status != 200 {
			t.Errorf("asking the stored syntax: %d", r.status)
		}
		if r := s.get(t, "/dicomweb/studies/1.2.3"); r.status != 404 {
			t.Errorf("unknown study: %d", r.status)
		}
	})
}

func TestRetrieveBulkDataRanges(t *testing.T) {
	s := newServer(t, "sqlite", dicomweb.Config{})
	spec := dicomgen.Spec{Rows: 32, Columns: 32, Seed: 3}.WithDefaults()
	inst := s.stored(t, generated(t, spec))
	pixels := spec.Frame(0)
	uri := inst + "/bulkdata/7FE00010"
	tests := []struct {
		rangeHeader string
		status      int
		want        []byte
	}{
		{"", 200, pixels},
		{"bytes=0-99", 206, pixels[:100]},
		{"bytes=100-", 206, pixels[100:]},
		{"bytes=-10", 206, pixels[len(pixels)-10:]},
		{"bytes=2040-99999", 206, pixels[2040:]},
		{"bytes=5000-6000", 416, nil},
	}
	for _, tt := range tests {
		r := s.get(t, uri, "Accept", "application/octet-stream", "Range", tt.rangeHeader)
		if r.status != tt.status || (tt.want != nil && !bytes.Equal(r.body, tt.want)) {
			t.Errorf("Range %q: %d, %d bytes; want %d, %d bytes", tt.rangeHeader, r.status, len(r.body), tt.status, len(tt.want))
		}
		if tt.status == 206 && !strings.HasPrefix(r.header.Get("Content-Range"), "bytes ") {
			t.Errorf("Range %q: Content-Range %q", tt.rangeHeader, r.header.Get("Content-Range"))
		}
	}
	_, bodies := parts(t, s.get(t, uri, "Accept", `multipart/related; type="application/octet-stream"`))
	if len(bodies) != 1 || !bytes.Equal(bodies[0], pixels) {
		t.Errorf("multipart bulk data differs")
	}
	if r := s.get(t, inst+"/bulkdata/00091234"); r.status != 404 {
		t.Errorf("unknown bulk data: %d", r.status)
	}
	if r := s.get(t, uri, "Accept", "application/octet-stream"); r.header.Get("Cross-Origin-Resource-Policy") != "cross-origin" {
		t.Errorf("bulk data lacks Cross-Origin-Resource-Policy")
	}
}
