package dicomweb_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
)

// A STOW conflict says what is wrong without naming another study's UIDs to the sender.
func TestStoreConflictsDoNotNameOtherStudies(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		stored := dicomgen.Spec{}.WithDefaults()
		if r := s.stowParts(t, dicomPart(generated(t, stored))); r.status != http.StatusOK {
			t.Fatalf("store: %d %q", r.status, r.warnings)
		}
		other := dicomgen.Spec{SeriesInstanceUID: stored.SeriesInstanceUID}.WithDefaults()
		r := s.stowParts(t, dicomPart(generated(t, other)))
		warnings := strings.Join(r.warnings, "\n")
		if r.status != http.StatusConflict || !strings.Contains(warnings, "is stored under another study") {
			t.Errorf("series of another study: %d %q, want 409 saying it is stored under another study", r.status, r.warnings)
		}
		if strings.Contains(warnings, stored.StudyInstanceUID) {
			t.Errorf("the warning names the other study %s: %q", stored.StudyInstanceUID, r.warnings)
		}

		url := "/dicomweb/studies/" + stored.StudyInstanceUID
		r = s.stow(t, url, stowContentType, multipartBody(t, "medimg-test-boundary", dicomPart(generated(t, dicomgen.Spec{}))))
		if r.status != http.StatusConflict || strings.Contains(strings.Join(r.warnings, ""), stored.StudyInstanceUID) {
			t.Errorf("study mismatch: %d %q, want 409 not naming %s", r.status, r.warnings, stored.StudyInstanceUID)
		}
	})
}

// Client input quoted in a Warning header or an error message is clipped: a 200 KB header line or
// query key does not come back as a 200 KB header.
func TestQuotedInputIsBounded(t *testing.T) {
	s := newServer(t, "sqlite", dicomweb.Config{})
	junk := strings.Repeat("x", 200<<10)
	const maxHeaders = 4 << 10
	headerSize := func(h http.Header) int {
		n := 0
		for k, vs := range h {
			for _, v := range vs {
				n += len(k) + len(v) + 4
			}
		}
		return n
	}
	dcm := generated(t, dicomgen.Spec{})
	bodies := map[string]string{
		"stow_junk_header_line": "--b\r\nContent-Type: application/dicom\r\n" + junk + "\r\n\r\n" + string(dcm) + "\r\n--b--\r\n",
		"stow_long_part_type":   "--b\r\nContent-Type: application/" + junk + "\r\n\r\n" + string(dcm) + "\r\n--b--\r\n",
		"stow_long_parameter":   "--b\r\nContent-Type: application/dicom; x=\"" + junk + "\"; y\r\n\r\n" + string(dcm) + "\r\n--b--\r\n",
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/dicomweb/studies", strings.NewReader(body))
			req.Header.Set("Content-Type", `multipart/related; type="application/dicom"; boundary=b`)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if n := headerSize(resp.Header); resp.StatusCode == http.StatusOK || n > maxHeaders {
				t.Errorf("%d with %d bytes of headers, want a failure with under %d", resp.StatusCode, n, maxHeaders)
			}
		})
	}
	t.Run("qido_long_key", func(t *testing.T) {
		r := s.get(t, "/dicomweb/studies?"+junk+"=1")
		if n := headerSize(r.header); n > maxHeaders || len(r.header.Values("Warning")) == 0 {
			t.Errorf("%d with %d bytes of headers (%d warnings), want a warning and under %d", r.status, n, len(r.header.Values("Warning")), maxHeaders)
		}
	})
	for name, path := range map[string]string{
		"qido_long_accept":     "/dicomweb/studies",
		"retrieve_long_accept": "/dicomweb/studies/1.2.3",
	} {
		t.Run(name, func(t *testing.T) {
			r := s.get(t, path, "Accept", "text/"+junk)
			if r.status != http.StatusNotAcceptable && r.status != http.StatusNotFound || len(r.body) > maxHeaders {
				t.Errorf("%d with a body of %d bytes, want 406 with under %d", r.status, len(r.body), maxHeaders)
			}
		})
	}
}

// Every Accept decision goes through one parser: q=0 in any spelling refuses a range.
func TestAcceptQZeroRefuses(t *testing.T) {
	s := newServer(t, "sqlite", dicomweb.Config{})
	for _, accept := range []string{
		"application/dicom+json; q=0",
		"application/dicom+json; q=0.0",
		"application/dicom+json;q=0.000, application/json; q=0.0",
	} {
		body := multipartBody(t, "medimg-test-boundary", dicomPart(generated(t, dicomgen.Spec{})))
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/dicomweb/studies", bytes.NewReader(body))
		req.Header.Set("Content-Type", stowContentType)
		req.Header.Set("Accept", accept)
		if r := doStow(t, req); r.status != http.StatusNotAcceptable {
			t.Errorf("STOW, Accept %q: %d, want 406", accept, r.status)
		}
		if r := s.get(t, "/dicomweb/studies", "Accept", accept); r.status != http.StatusNotAcceptable {
			t.Errorf("QIDO, Accept %q: %d, want 406", accept, r.status)
		}
	}
}
