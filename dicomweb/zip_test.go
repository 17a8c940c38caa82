package dicomweb_test

import (
	"archive/zip"
	"bytes"
	"io"
	"testing"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/internal/testfiles"
)

func TestRetrieveZIP(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		study, series := dicomgen.UID(), dicomgen.UID()
		a := generated(t, dicomgen.Spec{StudyInstanceUID: study, SeriesInstanceUID: series, SeriesNumber: 1, SOPInstanceUID: dicomgen.UID()})
		b := generated(t, dicomgen.Spec{StudyInstanceUID: study, SeriesNumber: 2})
		s.stowParts(t, dicomPart(a), dicomPart(b))
		cr := s.stored(t, testfiles.Read(t, "4.dcm"))

		for path, want := range map[string][][]byte{
			"/dicomweb/studies/" + study:                       {a, b},
			"/dicomweb/studies/" + study + "/series/" + series: {a},
			cr: {testfiles.Read(t, "4.dcm")},
		} {
			for _, accept := range []string{"application/zip", "application/zip, multipart/related; type=application/dicom; q=0.5"} {
				r := s.get(t, path, "Accept", accept)
				if r.status != 200 || r.header.Get("Content-Type") != "application/zip" || r.header.Get("Content-Disposition") == "" {
					t.Fatalf("%s as ZIP: %d %v", path, r.status, r.header)
				}
				zr, err := zip.NewReader(bytes.NewReader(r.body), int64(len(r.body)))
				if err != nil {
					t.Fatalf("%s: not a ZIP: %v", path, err)
				}
				if len(zr.File) != len(want) {
					t.Fatalf("%s: %d files, want %d", path, len(zr.File), len(want))
				}
				for i, f := range zr.File {
					rc, err := f.Open()
					if err != nil {
						t.Fatal(err)
					}
					got, err := io.ReadAll(rc) // checks the CRC too
					rc.Close()
					if err != nil || !bytes.Equal(got, want[i]) || f.Method != zip.Store {
						t.Errorf("%s: %s is not the stored file byte for byte (%v, method %d)", path, f.Name, err, f.Method)
					}
				}
			}
		}
		if r := s.get(t, "/dicomweb/studies/"+study, "Accept", "multipart/related; type=application/dicom, application/zip; q=0.5"); r.header.Get("Content-Type") == "application/zip" {
			t.Errorf("ZIP sent when DICOM was preferred")
		}
		if r := s.get(t, "/dicomweb/studies/1.2.3", "Accept", "application/zip"); r.status != 404 {
			t.Errorf("unknown study as ZIP: %d", r.status)
		}
	})
}
