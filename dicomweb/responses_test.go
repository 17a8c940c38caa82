package dicomweb_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
)

// attribute is one attribute of the DICOM JSON model, decoded the same way whatever the response.
type attribute struct {
	VR    string            `json:"vr"`
	Value []json.RawMessage `json:"Value,omitempty"`
}

// decodeDICOMJSON decodes a DICOM JSON response: one object (STOW) or an array of them (QIDO).
func decodeDICOMJSON(t *testing.T, body []byte) []map[string]attribute {
	t.Helper()
	var objs []map[string]attribute
	if bytes.HasPrefix(body, []byte("{")) {
		objs = make([]map[string]attribute, 1)
		if err := json.Unmarshal(body, &objs[0]); err != nil {
			t.Fatalf("not a DICOM JSON object: %v\n%s", err, body)
		}
		return objs
	}
	if err := json.Unmarshal(body, &objs); err != nil {
		t.Fatalf("not a DICOM JSON array: %v\n%s", err, body)
	}
	return objs
}

// items decodes the items of a sequence attribute.
func items(t *testing.T, a attribute) []map[string]attribute {
	t.Helper()
	var out []map[string]attribute
	for _, v := range a.Value {
		out = append(out, decodeDICOMJSON(t, v)[0])
	}
	return out
}

func getBody(t *testing.T, method, url, contentType string, body []byte) []byte {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return b
}

// TestStoreAndSearchResponsesShareTheModel decodes a STOW response and QIDO results of the same
// instance with one decoder: an attribute both carry must have the same shape and bytes in both.
func TestStoreAndSearchResponsesShareTheModel(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		spec := dicomgen.Spec{StudyInstanceUID: dicomgen.UID(), SeriesInstanceUID: dicomgen.UID(), SOPInstanceUID: dicomgen.UID(), PatientName: "Doe^John"}
		body := multipartBody(t, "medimg-test-boundary", dicomPart(generated(t, spec)))
		stow := decodeDICOMJSON(t, getBody(t, http.MethodPost, s.URL+"/dicomweb/studies", stowContentType, body))[0]
		refs := items(t, stow["00081199"])
		if len(refs) != 1 {
			t.Fatalf("ReferencedSOPSequence: %v", stow)
		}
		ref := refs[0]
		instances := decodeDICOMJSON(t, getBody(t, http.MethodGet, s.URL+"/dicomweb/instances?SOPInstanceUID="+spec.SOPInstanceUID, "", nil))
		studies := decodeDICOMJSON(t, getBody(t, http.MethodGet, s.URL+"/dicomweb/studies?StudyInstanceUID="+spec.StudyInstanceUID, "", nil))
		if len(instances) != 1 || len(studies) != 1 {
			t.Fatalf("search results: %d instances, %d studies", len(instances), len(studies))
		}
		for _, tt := range []struct {
			name         string
			stow, search attribute
			vr           string
		}{
			{"instance_RetrieveURL", ref["00081190"], instances[0]["00081190"], "UR"},
			{"study_RetrieveURL", stow["00081190"], studies[0]["00081190"], "UR"},
			{"ReferencedSOPClassUID_and_SOPClassUID", ref["00081150"], instances[0]["00080016"], "UI"},
			{"ReferencedSOPInstanceUID_and_SOPInstanceUID", ref["00081155"], instances[0]["00080018"], "UI"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if tt.stow.VR != tt.vr || len(tt.stow.Value) != 1 {
					t.Fatalf("STOW attribute: %+v; want one %s value", tt.stow, tt.vr)
				}
				if diff := cmp.Diff(tt.stow, tt.search); diff != "" {
					t.Errorf("(-STOW +QIDO):\n%s", diff)
				}
			})
		}
	})
}
