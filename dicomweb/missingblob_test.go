package dicomweb_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/storage"
)

// A stored file missing under its index row is the server's fault: every resource that opens the
// file answers 500 with the JSON error body, and the log names the key and the request.
func TestMissingBlobIsAServerError(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		spec := dicomgen.Spec{Rows: 16, Columns: 16, NumberOfFrames: 2, Seed: 9}.WithDefaults()
		inst := s.stored(t, generated(t, spec))
		study := inst[:strings.Index(inst, "/series/")]
		keys := s.blobFiles(t)
		if len(keys) != 1 {
			t.Fatalf("blobs %q", keys)
		}
		if err := os.Remove(filepath.Join(s.dir, filepath.FromSlash(keys[0]))); err != nil {
			t.Fatal(err)
		}
		octet := "application/octet-stream"
		tests := []struct {
			name, path string
			header     []string
		}{
			{"instance", inst, []string{"Accept", "application/dicom; transfer-syntax=*"}},
			{"instance_transcoded", inst, []string{"Accept", "application/dicom; transfer-syntax=1.2.840.10008.1.2"}},
			{"study", study, nil},
			{"study_zip", study, []string{"Accept", "application/zip"}},
			{"frame", inst + "/frames/1", []string{"Accept", octet}},
			{"bulk_data", inst + "/bulkdata/7FE00010", []string{"Accept", octet}},
			{"bulk_data_multipart", inst + "/bulkdata/7FE00010", nil},
			{"rendered", inst + "/rendered", nil},
			{"frame_rendered", inst + "/frames/2/rendered", nil},
			{"wado_uri", "/wado?requestType=WADO&studyUID=" + spec.StudyInstanceUID + "&seriesUID=" + spec.SeriesInstanceUID +
				"&objectUID=" + spec.SOPInstanceUID + "&contentType=application%2Fdicom", nil},
			{"wado_uri_jpeg", "/wado?requestType=WADO&studyUID=" + spec.StudyInstanceUID + "&seriesUID=" + spec.SeriesInstanceUID +
				"&objectUID=" + spec.SOPInstanceUID, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				id := "missing-" + tt.name
				r := s.get(t, tt.path, append(tt.header, "X-Test-Request-ID", id)...)
				var body struct{ Code, Message string }
				if r.status != http.StatusInternalServerError || json.Unmarshal(r.body, &body) != nil || body.Code != "internal" {
					t.Fatalf("%d %s %q, want 500 with the JSON error body", r.status, r.header.Get("Content-Type"), r.body[:min(len(r.body), 200)])
				}
				if strings.Contains(string(r.body), keys[0]) {
					t.Errorf("the body names the key: %s", r.body)
				}
				var line string
				for _, l := range strings.Split(s.logs.String(), "\n") {
					if strings.Contains(l, "request_id="+id) {
						line = l
					}
				}
				if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, keys[0]) {
					t.Errorf("log line %q: want an ERROR naming the key %s", line, keys[0])
				}
			})
		}
		if r := s.get(t, "/dicomweb/studies/1.2.3/series/4.5/instances/6.7"); r.status != http.StatusNotFound {
			t.Errorf("unknown instance: %d, want 404", r.status)
		}
	})
}

// brokenReads is a blob store whose readers fail after the first bytes, as a disk or a network
// store can once the status of a response is sent.
type brokenReads struct{ storage.Store }

func (b brokenReads) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	rc, err := b.Store.Open(ctx, key, offset, length)
	if err != nil {
		return nil, err
	}
	return brokenReader{rc}, nil
}

type brokenReader struct{ io.ReadCloser }

func (brokenReader) Read(p []byte) (int, error) { return 0, errors.New("read failed: I/O error") }

// An error while a body is copied (the status is sent) is logged with the request ID.
func TestResponseCopyErrorsAreLogged(t *testing.T) {
	s := newServer(t, "sqlite", dicomweb.Config{}, func(b storage.Store) storage.Store { return brokenReads{b} })
	inst := s.stored(t, generated(t, dicomgen.Spec{Rows: 16, Columns: 16}))
	for name, header := range map[string][]string{
		"bulk_data_single":    {"Accept", "application/octet-stream"},
		"bulk_data_multipart": {"Accept", `multipart/related; type="application/octet-stream"`},
	} {
		t.Run(name, func(t *testing.T) {
			id := "cut-" + name
			s.get(t, inst+"/bulkdata/7FE00010", append(header, "X-Test-Request-ID", id)...)
			if !logged(s.logs.String(), id, "response cut", "I/O error") {
				t.Errorf("no response-cut log line with the cause for %s:\n%s", id, s.logs)
			}
		})
	}
}

// logged reports whether a log line of the request id has all of words.
func logged(logs, id string, words ...string) bool {
	for _, l := range strings.Split(logs, "\n") {
		if !strings.Contains(l, "request_id="+id) {
			continue
		}
		all := true
		for _, w := range words {
			all = all && strings.Contains(l, w)
		}
		if all {
			return true
		}
	}
	return false
}
