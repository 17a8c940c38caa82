package dicomweb_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
)

// TestStoreFromWellKnownClients sends STOW bodies framed the way well-known clients frame them
// (read from their sources): each must be stored.
func TestStoreFromWellKnownClients(t *testing.T) {
	s := newServer(t, "sqlite", dicomweb.Config{})
	frame := func(boundary, lead, tail string, data []byte) []byte {
		return []byte(lead + "--" + boundary + "\r\nContent-Type: application/dicom\r\n\r\n" + string(data) + "\r\n--" + boundary + "--" + tail)
	}
	clients := []struct {
		name, contentType string
		body              func(data []byte) []byte
	}{
		// pydicom's dicomweb-client: a 32-hex boundary from urllib3, every part preceded by CRLF
		// (so the body starts with one), no CRLF after the closing delimiter.
		{"dicomweb_client", `multipart/related; type="application/dicom"; boundary=0123456789abcdef0123456789abcdef`,
			func(d []byte) []byte { return frame("0123456789abcdef0123456789abcdef", "\r\n", "", d) }},
		// dcm4che's stowrs: parameters without spaces, a part Content-Type with a transfer syntax.
		{"dcm4che_stowrs", `multipart/related;type="application/dicom";boundary=myboundary`,
			func(d []byte) []byte {
				return []byte("--myboundary\r\nContent-Type: application/dicom;transfer-syntax=1.2.840.10008.1.2.1\r\n\r\n" + string(d) + "\r\n--myboundary--\r\n")
			}},
		// Orthanc's DICOMweb client: <uuid>-<uuid> (73 characters), with a Content-Length per part.
		{"orthanc", `multipart/related; type="application/dicom"; boundary=6a1d2e3f-4b5c-4d6e-8f70-8192a3b4c5d6-0f1e2d3c-4b5a-4697-8877-665544332211`,
			func(d []byte) []byte {
				b := "6a1d2e3f-4b5c-4d6e-8f70-8192a3b4c5d6-0f1e2d3c-4b5a-4697-8877-665544332211"
				return []byte("--" + b + "\r\nContent-Type: application/dicom\r\nContent-Length: " + strconv.Itoa(len(d)) + "\r\n\r\n" + string(d) + "\r\n--" + b + "--\r\n")
			}},
		// OHIF (dicomweb-client JS): a quoted boundary and type.
		{"ohif", `multipart/related; type="application/dicom"; boundary="DICOMwebBoundary"`,
			func(d []byte) []byte { return frame("DICOMwebBoundary", "", "\r\n", d) }},
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			resp := s.stow(t, "/dicomweb/studies", c.contentType, c.body(generated(t, dicomgen.Spec{})))
			if resp.status != http.StatusOK || len(resp.referenced) != 1 {
				t.Errorf("status %d, %d stored, warnings %q, body %s", resp.status, len(resp.referenced), resp.warnings, resp.raw["_body"])
			}
		})
	}
}

// TestRetrieveAsWellKnownClientsAsk sends the Accept headers well-known clients send (read from
// their sources and documentation): each gets the instance or its frame.
func TestRetrieveAsWellKnownClientsAsk(t *testing.T) {
	s := newServer(t, "sqlite", dicomweb.Config{})
	inst := s.stored(t, generated(t, dicomgen.Spec{Rows: 64, Columns: 64}))
	for _, c := range []struct{ client, path, accept, want string }{
		{"dcm4che wadors (no spaces)", inst, `multipart/related;type="application/dicom";transfer-syntax=1.2.840.10008.1.2.1`, "multipart/related"},
		{"dicomweb-client (quoted syntax)", inst, `multipart/related; type="application/dicom"; transfer-syntax="1.2.840.10008.1.2.1"`, "multipart/related"},
		{"Weasis (as stored)", inst, `multipart/related; type="application/dicom"; transfer-syntax=*`, "multipart/related"},
		{"dicomweb-client frames", inst + "/frames/1", `multipart/related; type="application/octet-stream"; transfer-syntax="*"`, "multipart/related"},
		{"dcm4che wadors frames", inst + "/frames/1", `multipart/related;type="application/octet-stream";transfer-syntax=1.2.840.10008.1.2.1`, "multipart/related"},
		{"a single instance", inst, `application/dicom; transfer-syntax=*`, "application/dicom"},
		{"a browser", inst + "/rendered", `image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8`, "image/jpeg"},
	} {
		t.Run(c.client, func(t *testing.T) {
			r := s.get(t, c.path, "Accept", c.accept)
			if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), c.want) {
				t.Errorf("status %d, Content-Type %q, want 200 and %s: %s", r.status, r.header.Get("Content-Type"), c.want, r.body)
			}
		})
	}
}
