package dicomweb_test

import (
	"bufio"
	"compress/flate"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/dicomweb/ts"
)

// TestStoreLargeDocumentCostsNoMemory stores an Encapsulated PDF whose EncapsulatedDocument is
// 300 MB: the parser never sees the value (it used to read it whole), so the heap grows by far
// less; the value is bulk data that retrieves the exact bytes, and a small binary value next to
// it stays inline.
func TestStoreLargeDocumentCostsNoMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 300 MB")
	}
	const docSize = 300_000_000
	s := newServer(t, "sqlite", dicomweb.Config{})
	docHash := sha256.New()
	resp, size, growth := stowFile(t, s, func(w io.Writer) error {
		return writePart10(w, ts.ExplicitVRLittleEndian, func(w io.Writer) {
			writeUIDs(w, "1.2.840.10008.5.1.4.1.1.104.1", "DOC")
			writeElement(w, 0x0009, 0x0010, "LO", []byte("MEDIMG TEST "))
			writeElement(w, 0x0009, 0x1001, "OB", []byte("inline!!"))
			writeHeader(w, 0x0042, 0x0011, "OB", docSize)
			writePattern(io.MultiWriter(w, docHash), docSize, 0)
			writeElement(w, 0x0042, 0x0012, "LO", []byte("application/pdf "))
		})
	})
	t.Logf("body %d MiB, EncapsulatedDocument %d MiB: peak heap growth %d KiB", size>>20, docSize>>20, growth>>10)
	if growth > 32<<20 {
		t.Errorf("storing a %d MiB document grew the heap by %d MiB", docSize>>20, growth>>20)
	}

	md := instanceMetadata(t, s, resp)
	if got := md["00420012"].Value; len(got) != 1 || got[0] != "application/pdf" {
		t.Errorf("MIMETypeOfEncapsulatedDocument after the document: %v", got)
	}
	if got := md["00091001"]; got.InlineBinary != "aW5saW5lISE=" || got.BulkDataURI != "" {
		t.Errorf("a small OB is %+v, want InlineBinary", got)
	}
	doc := md["00420011"]
	if doc.VR != "OB" || !strings.HasSuffix(doc.BulkDataURI, "/bulkdata/00420011") {
		t.Fatalf("EncapsulatedDocument is %+v, want a BulkDataURI", doc)
	}
	req, _ := http.NewRequest(http.MethodGet, doc.BulkDataURI, nil)
	req.Header.Set("Accept", "application/octet-stream")
	got, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Body.Close()
	gotHash := sha256.New()
	n, _ := io.Copy(gotHash, got.Body)
	if got.StatusCode != 200 || n != docSize || string(gotHash.Sum(nil)) != string(docHash.Sum(nil)) {
		t.Errorf("bulk data: %d, %d bytes, same bytes %t", got.StatusCode, n, string(gotHash.Sum(nil)) == string(docHash.Sum(nil)))
	}
}

// TestStoreDeflatedCostsNoMemory stores a deflated instance whose dataset inflates to 200 MiB of
// pixel data and a 16 MiB private OB: the dataset is inflated to a temporary file, not into
// memory (it used to be, whole), and its frames are still served.
func TestStoreDeflatedCostsNoMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("inflates 216 MiB")
	}
	const (
		rows, columns = 512, 512
		frameSize     = rows * columns * 2
		frames        = 400
		privateSize   = 16 << 20
	)
	s := newServer(t, "sqlite", dicomweb.Config{TempDir: t.TempDir()})
	resp, size, growth := stowFile(t, s, func(w io.Writer) error {
		return writePart10(w, ts.DeflatedExplicitVRLittleEndian, func(w io.Writer) {
			writeUIDs(w, dicomgen.CTImageStorage, "CT")
			writeElement(w, 0x0009, 0x0010, "LO", []byte("MEDIMG TEST "))
			writeHeader(w, 0x0009, 0x1002, "OB", privateSize)
			writePattern(w, privateSize, 1)
			for _, e := range []struct {
				element uint16
				value   uint16
			}{{0x0002, 1}, {0x0010, rows}, {0x0011, columns}, {0x0100, 16}, {0x0101, 16}, {0x0102, 15}, {0x0103, 0}} {
				writeElement(w, 0x0028, e.element, "US", binary.LittleEndian.AppendUint16(nil, e.value))
			}
			writeElement(w, 0x0028, 0x0004, "CS", []byte("MONOCHROME2 "))
			writeElement(w, 0x0028, 0x0008, "IS", []byte(strconv.Itoa(frames)))
			writeHeader(w, 0x7FE0, 0x0010, "OW", frameSize*frames)
			for i := range frames {
				writePattern(w, frameSize, byte(i))
			}
		})
	})
	t.Logf("body %d KiB, inflated dataset %d MiB: peak heap growth %d KiB", size>>10, (frameSize*frames+privateSize)>>20, growth>>10)
	if growth > 32<<20 {
		t.Errorf("storing a dataset inflating to %d MiB grew the heap by %d MiB", (frameSize*frames+privateSize)>>20, growth>>20)
	}
	if md := instanceMetadata(t, s, resp); !strings.HasSuffix(md["00091002"].BulkDataURI, "/bulkdata/00091002") {
		t.Errorf("the large private OB is %+v, want a BulkDataURI", md["00091002"])
	}
	inst := strings.TrimPrefix(resp.referenced[0].retrieveURL, s.URL)
	last := s.get(t, inst+"/frames/"+strconv.Itoa(frames), "Accept", "application/octet-stream")
	want := make([]byte, frameSize)
	fillPattern(want, byte((frames-1)%256))
	if last.status != 200 || string(last.body) != string(want) {
		t.Errorf("frame %d: %d, %d bytes, right bytes %t", frames, last.status, len(last.body), string(last.body) == string(want))
	}
}

// stowFile writes an instance to a file with write and stores it in one STOW streamed from that
// file, returning the answer, the file's size and the server's peak heap growth while it stored it.
func stowFile(t *testing.T, s *server, write func(io.Writer) error) (resp stowResponse, size, growth int64) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "instance.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := write(f); err != nil {
		t.Fatal(err)
	}
	size, _ = f.Seek(0, io.SeekCurrent)
	f.Seek(0, io.SeekStart)
	head := "--B\r\nContent-Type: application/dicom\r\n\r\n"
	growth = peakHeapGrowth(t, func() {
		body := io.MultiReader(strings.NewReader(head), f, strings.NewReader("\r\n--B--\r\n"))
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/dicomweb/studies", body)
		req.Header.Set("Content-Type", `multipart/related; type="application/dicom"; boundary=B`)
		resp = doStow(t, req)
	})
	if resp.status != http.StatusOK {
		t.Fatalf("status %d %q", resp.status, resp.warnings)
	}
	return resp, size, growth
}

// jsonAttribute is one attribute of the Annex F model, as far as these tests look.
type jsonAttribute struct {
	VR           string `json:"vr"`
	Value        []any
	InlineBinary string
	BulkDataURI  string
}

func instanceMetadata(t *testing.T, s *server, resp stowResponse) map[string]jsonAttribute {
	t.Helper()
	r := s.get(t, resp.referenced[0].retrieveURL+"/metadata")
	var md []map[string]jsonAttribute
	if err := json.Unmarshal(r.body, &md); err != nil || len(md) != 1 {
		t.Fatalf("metadata: %d %v: %.300s", r.status, err, r.body)
	}
	return md[0]
}

// writePart10 writes a Part 10 object in the transfer syntax ts (explicit VR little endian, or its
// deflated form) whose dataset dataset writes, element by element, in explicit VR little endian.
func writePart10(w io.Writer, syntax string, dataset func(io.Writer)) error {
	var meta strings.Builder
	writeElement(&meta, 0x0002, 0x0001, "OB", []byte{0, 1})
	writeElement(&meta, 0x0002, 0x0010, "UI", []byte(syntax))
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.Write(make([]byte, 128))
	bw.WriteString("DICM")
	writeElement(bw, 0x0002, 0x0000, "UL", binary.LittleEndian.AppendUint32(nil, uint32(meta.Len())))
	bw.WriteString(meta.String())
	if syntax != ts.DeflatedExplicitVRLittleEndian {
		dataset(bw)
		return bw.Flush()
	}
	zw, err := flate.NewWriter(bw, flate.BestSpeed)
	if err != nil {
		return err
	}
	dataset(zw)
	if err := zw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// writeUIDs writes the attributes every instance needs, with new UIDs.
func writeUIDs(w io.Writer, sopClass, modality string) {
	writeElement(w, 0x0008, 0x0016, "UI", []byte(sopClass))
	writeElement(w, 0x0008, 0x0018, "UI", []byte(dicomgen.UID()))
	writeElement(w, 0x0008, 0x0060, "CS", []byte(modality))
	writeElement(w, 0x0020, 0x000D, "UI", []byte(dicomgen.UID()))
	writeElement(w, 0x0020, 0x000E, "UI", []byte(dicomgen.UID()))
}

// writeElement writes one explicit VR little endian element, padding an odd value (NUL for UI,
// space otherwise).
func writeElement(w io.Writer, group, element uint16, vr string, value []byte) {
	if len(value)%2 == 1 {
		pad := byte(' ')
		if vr == "UI" {
			pad = 0
		}
		value = append(value[:len(value):len(value)], pad)
	}
	writeHeader(w, group, element, vr, len(value))
	w.Write(value)
}

// writeHeader writes an explicit VR little endian element header for a value of n bytes.
func writeHeader(w io.Writer, group, element uint16, vr string, n int) {
	b := binary.LittleEndian.AppendUint16(nil, group)
	b = binary.LittleEndian.AppendUint16(b, element)
	b = append(b, vr...)
	switch vr {
	case "OB", "OW", "SQ", "UN", "UT":
		b = binary.LittleEndian.AppendUint32(append(b, 0, 0), uint32(n))
	default:
		b = binary.LittleEndian.AppendUint16(b, uint16(n))
	}
	w.Write(b)
}

// writePattern writes n bytes of fillPattern(…, seed), repeating every MiB.
func writePattern(w io.Writer, n int, seed byte) {
	chunk := make([]byte, 1<<20)
	fillPattern(chunk, seed)
	for ; n > 0; n -= len(chunk) {
		w.Write(chunk[:min(n, len(chunk))])
	}
}

// fillPattern fills b with runs of 4 KiB of one byte, which deflate compresses well.
func fillPattern(b []byte, seed byte) {
	for i := range b {
		b[i] = seed + byte(i>>12)
	}
}
