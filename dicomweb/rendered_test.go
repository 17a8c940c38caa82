package dicomweb_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg"
	"image/png"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/internal/testfiles"
)

// decodeImage decodes a rendered body and returns its format and size.
func decodeImage(t *testing.T, b []byte) (string, image.Point) {
	t.Helper()
	img, format, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not an image: %v (%d bytes)", err, len(b))
	}
	return format, img.Bounds().Size()
}

func TestRendered(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		inst := s.stored(t, generated(t, dicomgen.Spec{Rows: 64, Columns: 48, Seed: 5, WindowCenter: 2048, WindowWidth: 4096}))
		multi := s.stored(t, generated(t, dicomgen.Spec{Rows: 32, Columns: 32, NumberOfFrames: 3}))

		r := s.get(t, inst+"/rendered")
		if format, size := decodeImage(t, r.body); r.status != 200 || format != "jpeg" || size != image.Pt(48, 64) ||
			r.header.Get("Content-Type") != "image/jpeg" || r.header.Get("Cross-Origin-Resource-Policy") != "cross-origin" {
			t.Errorf("rendered: %d %s %v %v", r.status, format, size, r.header)
		}
		if format, _ := decodeImage(t, s.get(t, inst+"/rendered", "Accept", "image/png").body); format != "png" {
			t.Errorf("Accept image/png gave %s", format)
		}
		if _, size := decodeImage(t, s.get(t, inst+"/rendered?viewport=24,24").body); size != image.Pt(18, 24) {
			t.Errorf("viewport 24,24 of 48×64 gave %v, want 18×24 (aspect kept)", size)
		}
		a := s.get(t, inst+"/rendered?window=100,200", "Accept", "image/png")
		b := s.get(t, inst+"/rendered?window=3000,500", "Accept", "image/png")
		if bytes.Equal(a.body, b.body) {
			t.Error("the window parameter does not change the image")
		}
		for path, status := range map[string]int{
			inst + "/rendered?window=1":        400,
			inst + "/rendered?window=a,b":      400,
			inst + "/rendered?viewport=x,1":    400,
			inst + "/rendered?quality=0":       400,
			inst + "/frames/0/rendered":        400,
			inst + "/frames/2/rendered":        404,
			"/dicomweb/studies/1.2.3/rendered": 404,
		} {
			if r := s.get(t, path); r.status != status {
				t.Errorf("%s: %d, want %d (%s)", path, r.status, status, r.body)
			}
		}
		if r := s.get(t, inst+"/rendered", "Accept", "text/html"); r.status != http.StatusNotAcceptable {
			t.Errorf("Accept text/html: %d", r.status)
		}
		// Frames: one is an image, several are multipart; a multi-frame instance renders every frame.
		if format, _ := decodeImage(t, s.get(t, multi+"/frames/2/rendered").body); format != "jpeg" {
			t.Errorf("frame rendered: %s", format)
		}
		if types, bodies := parts(t, s.get(t, multi+"/frames/1,3/rendered")); len(bodies) != 2 || types[0] != "image/jpeg" {
			t.Errorf("two frames rendered: %d parts %q", len(bodies), types)
		}
		if _, bodies := parts(t, s.get(t, multi+"/rendered")); len(bodies) != 3 {
			t.Errorf("multi-frame instance rendered: %d parts, want 3", len(bodies))
		}
	})
}

func TestRenderedCompressed(t *testing.T) {
	s := newServer(t, "sqlite", dicomweb.Config{})
	rle := s.stored(t, variant(t, "mr_rle.dcm"))
	if r := s.get(t, rle+"/rendered"); r.status != 200 {
		t.Errorf("RLE rendered: %d %s", r.status, r.body)
	}
	jpegLossless := s.stored(t, variant(t, "ct_multiframe_jpeg_lossless_fragments.dcm"))
	if r := s.get(t, jpegLossless+"/frames/2/rendered"); r.status != 200 {
		t.Errorf("JPEG lossless rendered: %d %s", r.status, r.body)
	}
	s = newServer(t, "sqlite", dicomweb.Config{}) // the MR variants share one SOP Instance UID
	jpegLS := s.stored(t, variant(t, "mr_jpeg_ls.dcm"))
	if r := s.get(t, jpegLS+"/rendered"); r.status != http.StatusNotAcceptable || !strings.Contains(string(r.body), "1.2.840.10008.1.2.4.80") {
		t.Errorf("JPEG-LS rendered: %d %s; want 406 naming the syntax", r.status, r.body)
	}
}

func TestThumbnails(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		study, series := dicomgen.UID(), dicomgen.UID()
		var ps []part
		for i := range 3 {
			ps = append(ps, dicomPart(generated(t, dicomgen.Spec{StudyInstanceUID: study, SeriesInstanceUID: series, Rows: 256, Columns: 512, InstanceNumber: i + 1})))
		}
		resp := s.stowParts(t, ps...)
		if resp.status != 200 {
			t.Fatalf("store: %d", resp.status)
		}
		inst := strings.TrimPrefix(resp.referenced[0].retrieveURL, s.URL)
		for _, path := range []string{
			"/dicomweb/studies/" + study + "/thumbnail",
			"/dicomweb/studies/" + study + "/series/" + series + "/thumbnail",
			inst + "/thumbnail",
			inst + "/frames/1/thumbnail",
		} {
			r := s.get(t, path)
			if format, size := decodeImage(t, r.body); r.status != 200 || format != "jpeg" || size != image.Pt(128, 64) {
				t.Errorf("%s: %d %s %v; want a 128×64 JPEG", path, r.status, format, size)
			}
		}
		if _, size := decodeImage(t, s.get(t, inst+"/thumbnail?viewport=64,64").body); size != image.Pt(64, 32) {
			t.Errorf("thumbnail viewport: %v", size)
		}
	})
}

func TestWADOURI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		spec := dicomgen.Spec{Rows: 64, Columns: 64}.WithDefaults()
		file := generated(t, spec)
		s.stored(t, file)
		base := "/wado?requestType=WADO&studyUID=" + spec.StudyInstanceUID + "&seriesUID=" + spec.SeriesInstanceUID + "&objectUID=" + spec.SOPInstanceUID
		// As OHIF's wadouri image loader asks.
		r := s.get(t, base+"&contentType=application/dicom&transferSyntax=*")
		if r.status != 200 || !bytes.Equal(r.body, file) || r.header.Get("Content-Type") != "application/dicom" {
			t.Errorf("application/dicom: %d, %d bytes", r.status, len(r.body))
		}
		if format, size := decodeImage(t, s.get(t, base).body); format != "jpeg" || size != image.Pt(64, 64) {
			t.Errorf("default JPEG: %s %v", format, size)
		}
		if format, size := decodeImage(t, s.get(t, base+"&contentType=image/png&rows=32&columns=32&windowCenter=100&windowWidth=50").body); format != "png" || size != image.Pt(32, 32) {
			t.Errorf("PNG 32×32: %s %v", format, size)
		}
		for query, status := range map[string]int{
			"/wado?requestType=WADO":                              400,
			strings.Replace(base, "WADO&", "RS&", 1):              400,
			base + "&contentType=text/html":                       406,
			base + "&frameNumber=0":                               400,
			base + "&frameNumber=2":                               404,
			base + "&windowCenter=40":                             400,
			base + "&rows=abc":                                    400,
			strings.Replace(base, "objectUID=", "objectUID=9", 1): 404,
			strings.Replace(base, "objectUID=", "objectUID=x", 1): 400,
			base + "&contentType=application/dicom&transferSyntax=1.2.840.10008.1.2.4.50": 406,
			base + "&contentType=application/dicom&transferSyntax=1.2.840.10008.1.2":      200,
			base + "&contentType=application/dicom&transferSyntax=1.2.840.10008.1.2":      200,
		} {
			if r := s.get(t, query); r.status != status {
				t.Errorf("%s: %d, want %d (%s)", query, r.status, status, r.body)
			}
		}
	})
}

// TestRenderedEnhancedMultiFrame renders the multi-frame CT whose rescale and window live in its
// functional groups (Pixel Value Transformation, Frame VOI LUT), not at the top level: with the
// rescale intercept of -1024 applied, a brain window matches dcmtk's dcmj2pnm within one grey level
// (without it, the brain is all white).
func TestRenderedEnhancedMultiFrame(t *testing.T) {
	s := newServer(t, "sqlite", dicomweb.Config{})
	inst := s.stored(t, testfiles.Read(t, "5.dcm"))
	r := s.get(t, inst+"/frames/1/rendered?window=40,80", "Accept", "image/png")
	if r.status != 200 {
		t.Fatalf("rendered: %d %s", r.status, r.body)
	}
	img, err := png.Decode(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	ref := variant(t, "ct_multiframe_window_dcmj2pnm.pgm")
	const header = "P5\n512 512\n255\n"
	if !bytes.HasPrefix(ref, []byte(header)) {
		t.Fatalf("reference header %q", ref[:len(header)])
	}
	ref = ref[len(header):]
	worst := 0
	for y := range 512 {
		for x := range 512 {
			g := int(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
			worst = max(worst, abs(g-int(ref[y*512+x])))
		}
	}
	if worst > 1 {
		t.Errorf("the rendered frame differs from dcmj2pnm's by up to %d grey levels", worst)
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// TestRenderedMatchesDCMTK renders both frames of the real enhanced CT through HTTP, with a window
// asked and with its stored one, and the real MR with its window removed (the frame's min/max),
// and compares them with what dcmtk's dcmj2pnm makes of the same file and window: the PNG (our pixels before any lossy encoding) within one grey level of
// dcmj2pnm's, and the JPEG within the error of JPEG at quality 90 of the PNG.
func TestRenderedMatchesDCMTK(t *testing.T) {
	dcmj2pnm, err := exec.LookPath("dcmj2pnm")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("dcmj2pnm (Debian's dcmtk) is needed under CI: apt-get install -y dcmtk")
		}
		t.Skip("dcmj2pnm not installed (Debian's dcmtk)")
	}
	s := newServer(t, "sqlite", dicomweb.Config{})
	ct := filepath.Join(t.TempDir(), "ct.dcm")
	if err := os.WriteFile(ct, testfiles.Read(t, "5.dcm"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The MR without its window, for the min/max of the frame that a file without one gets.
	mr := filepath.Join(t.TempDir(), "mr.dcm")
	if err := os.WriteFile(mr, testfiles.Read(t, "3.dcm"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("dcmodify", "-nb", "-e", "(0028,1050)", "-e", "(0028,1051)", mr).CombinedOutput(); err != nil {
		t.Fatalf("dcmodify: %v\n%s", err, b)
	}
	stored := map[string]string{}
	for _, file := range []string{ct, mr} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		stored[file] = s.stored(t, data)
	}
	for _, tc := range []struct {
		name, file, query string
		frames            []string
		window            []string // dcmj2pnm's window options
	}{
		{"soft_tissue_window", ct, "?window=40,400", []string{"1", "2"}, []string{"+Ww", "40", "400"}},
		{"lung_window", ct, "?window=-600,1500", []string{"1", "2"}, []string{"+Ww", "-600", "1500"}},
		{"bone_window", ct, "?window=300,1500", []string{"1", "2"}, []string{"+Ww", "300", "1500"}},
		// The window the CT stores in its Frame VOI LUT functional group (centre 49, width 102):
		// dcmj2pnm does not read it there (+Wi 1 finds no window), so it is given by value.
		{"stored_window", ct, "", []string{"1", "2"}, []string{"+Ww", "49", "102"}},
		{"min_max", mr, "", []string{"1"}, []string{"+Wm"}},
	} {
		for _, frame := range tc.frames {
			t.Run(tc.name+"_frame_"+frame, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "ref.pgm")
				args := append([]string{"+F", frame}, tc.window...)
				if b, err := exec.Command(dcmj2pnm, append(args, tc.file, out)...).CombinedOutput(); err != nil {
					t.Fatalf("dcmj2pnm: %v\n%s", err, b)
				}
				ref := readPGM(t, out)
				path := stored[tc.file] + "/frames/" + frame + "/rendered" + tc.query
				lossless := s.get(t, path, "Accept", "image/png")
				lossy := s.get(t, path, "Accept", "image/jpeg")
				if lossless.status != 200 || lossy.status != 200 {
					t.Fatalf("rendered: %d, %d", lossless.status, lossy.status)
				}
				ours := decodeGray(t, lossless.body)
				if d := maxGreyDiff(ours, ref); d > 1 {
					t.Errorf("our pixels differ from dcmj2pnm's by up to %d grey levels", d)
				}
				jpg := decodeGray(t, lossy.body)
				if rms := rmsGreyDiff(jpg, ours); rms > 2.5 {
					t.Errorf("the JPEG is %.2f grey levels (RMS) from the pixels it encodes", rms)
				}
			})
		}
	}
}

// readPGM reads a binary 8-bit PGM as dcmj2pnm writes it.
func readPGM(t *testing.T, path string) *image.Gray {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var w, h, maxval int
	var header string
	if _, err := fmt.Sscanf(string(b), "P5\n%d %d\n%d\n", &w, &h, &maxval); err != nil || maxval != 255 {
		t.Fatalf("not an 8-bit PGM: %v", err)
	}
	header = fmt.Sprintf("P5\n%d %d\n%d\n", w, h, maxval)
	img := image.NewGray(image.Rect(0, 0, w, h))
	if copy(img.Pix, b[len(header):]) != w*h {
		t.Fatalf("PGM of %d bytes for %d×%d", len(b), w, h)
	}
	return img
}

func decodeGray(t *testing.T, b []byte) *image.Gray {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	g := image.NewGray(img.Bounds())
	for y := range img.Bounds().Dy() {
		for x := range img.Bounds().Dx() {
			g.Set(x, y, img.At(x, y))
		}
	}
	return g
}

func maxGreyDiff(a, b *image.Gray) int {
	if a.Bounds() != b.Bounds() {
		return 256
	}
	worst := 0
	for i := range a.Pix {
		worst = max(worst, abs(int(a.Pix[i])-int(b.Pix[i])))
	}
	return worst
}

func rmsGreyDiff(a, b *image.Gray) float64 {
	if a.Bounds() != b.Bounds() {
		return 256
	}
	var sum float64
	for i := range a.Pix {
		d := float64(a.Pix[i]) - float64(b.Pix[i])
		sum += d * d
	}
	return math.Sqrt(sum / float64(len(a.Pix)))
}
