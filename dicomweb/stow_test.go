package dicomweb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/storage"
)

var realFiles = []string{"1.dcm", "2.dcm", "3.dcm", "4.dcm", "5.dcm", "6.dcm"}

func TestStoreInstancesRealFiles(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		var parts []part
		for _, name := range realFiles {
			parts = append(parts, dicomPart(realFile(t, name)))
		}
		resp := s.stowParts(t, parts...)
		if resp.status != http.StatusOK || len(resp.referenced) != len(realFiles) || len(resp.failed) != 0 {
			t.Fatalf("status %d, %d stored, failed %s, warnings %q", resp.status, len(resp.referenced), fmtReasons(resp.failed), resp.warnings)
		}
		ctx := context.Background()
		for _, ref := range resp.referenced {
			inst, err := s.store.GetInstance(ctx, ref.instanceUID)
			if err != nil {
				t.Fatalf("stored instance %s not in the index: %v", ref.instanceUID, err)
			}
			want := s.URL + "/dicomweb/studies/" + inst.StudyInstanceUID + "/series/" + inst.SeriesInstanceUID + "/instances/" + inst.SOPInstanceUID
			if ref.retrieveURL != want {
				t.Errorf("RetrieveURL = %q, want %q", ref.retrieveURL, want)
			}
			if ref.classUID != inst.SOPClassUID {
				t.Errorf("ReferencedSOPClassUID = %q, want %q", ref.classUID, inst.SOPClassUID)
			}
			if !strings.HasPrefix(inst.Metadata, "{") || !strings.Contains(inst.Metadata, `"0020000D"`) {
				t.Errorf("metadata of %s is not a DICOM JSON object with the study UID: %.80s", ref.instanceUID, inst.Metadata)
			}
			// The stored file is the received file, byte for byte.
			rc, err := s.blobs.Open(ctx, inst.BlobKey, 0, -1)
			if err != nil {
				t.Fatal(err)
			}
			stored, _ := io.ReadAll(rc)
			rc.Close()
			if int64(len(stored)) != inst.Size || !containsPart(parts, stored) {
				t.Errorf("blob of %s (%d bytes) is not one of the sent files", ref.instanceUID, len(stored))
			}
		}
		if s.uploadsLeft(t) != 0 {
			t.Errorf("%d temporary uploads left behind", s.uploadsLeft(t))
		}
	})
}

func containsPart(parts []part, b []byte) bool {
	for _, p := range parts {
		if bytes.Equal(p.data, b) {
			return true
		}
	}
	return false
}

func TestStoreInstancesContentTypes(t *testing.T) {
	s := newServer(t, "sqlite", dicomweb.Config{})
	accepted := map[string]string{
		"quoted":             `multipart/related; type="application/dicom"; boundary="b1"`,
		"unquoted":           `multipart/related; type=application/dicom; boundary=b1`,
		"boundary_first":     `multipart/related; boundary=b1; type="application/dicom"`,
		"no_type_parameter":  `multipart/related; boundary=b1`,
		"extra_parameter":    `multipart/related; type="application/dicom"; start="<x>"; boundary=b1`,
		"upper_case":         `Multipart/Related; Type="Application/DICOM"; Boundary=b1`,
		"transfer_syntax_on": `multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1; boundary=b1`,
	}
	for name, ct := range accepted {
		t.Run(name, func(t *testing.T) {
			body := multipartBody(t, "b1", dicomPart(generated(t, dicomgen.Spec{})))
			if resp := s.stow(t, "/dicomweb/studies", ct, body); resp.status != http.StatusOK {
				t.Errorf("status %d, warnings %q", resp.status, resp.warnings)
			}
		})
	}
	// Orthanc's DICOMweb client sends a 73-character boundary (two UUIDs), over RFC 2046's 70; Go's
	// multipart writer refuses to make one, so the body is written by hand.
	t.Run("orthanc_73_character_boundary", func(t *testing.T) {
		const boundary = "0e6c1a4e-8d6f-4c1b-9f3e-5a2d7b8c9e01-7f3e2d1c-0b9a-4e8d-b7c6-a5f4e3d2c1b0"
		data := generated(t, dicomgen.Spec{})
		body := []byte("--" + boundary + "\r\nContent-Type: application/dicom\r\n\r\n" + string(data) + "\r\n--" + boundary + "--\r\n")
		if resp := s.stow(t, "/dicomweb/studies", `multipart/related; type="application/dicom"; boundary=`+boundary, body); resp.status != http.StatusOK {
			t.Errorf("status %d, warnings %q, body %s", resp.status, resp.warnings, resp.raw["_body"])
		}
	})
	rejected := map[string]string{
		"single_part_dicom": `application/dicom`,
		"absurd_boundary":   `multipart/related; type="application/dicom"; boundary=` + strings.Repeat("b", 300),
		"multipart_mixed":   `multipart/mixed; boundary=b1`,
		"json_metadata":     `multipart/related; type="application/dicom+json"; boundary=b1`,
		"xml_metadata":      `multipart/related; type="application/dicom+xml"; boundary=b1`,
		"other_type":        `multipart/related; type="image/jpeg"; boundary=b1`,
		"no_boundary":       `multipart/related; type="application/dicom"`,
		"none":              ``,
	}
	for name, ct := range rejected {
		t.Run("rejects_"+name, func(t *testing.T) {
			body := multipartBody(t, "b1", dicomPart(generated(t, dicomgen.Spec{})))
			resp := s.stow(t, "/dicomweb/studies", ct, body)
			if resp.status != http.StatusUnsupportedMediaType || !strings.Contains(string(resp.raw["_body"]), `"message"`) {
				t.Errorf("status %d body %s; want 415 with a message", resp.status, resp.raw["_body"])
			}
		})
	}
}

func TestStoreInstancesFailureReasons(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		good := generated(t, dicomgen.Spec{})
		stored := s.stowParts(t, dicomPart(good))
		if stored.status != http.StatusOK {
			t.Fatalf("setup store: %d %q", stored.status, stored.warnings)
		}
		study := dicomgen.UID()
		tests := []struct {
			name   string
			path   string
			data   []byte
			ctype  string
			status int
			reason int
		}{
			{"not_dicom", "", []byte("hello, this is not DICOM at all; it is just some text to upload........................................................................................................"), "", 400, 0xC000},
			{"empty_part", "", nil, "", 400, 0xC000},
			{"truncated", "", good[:len(good)-100], "", 400, 0xC000},
			{"truncated_in_header", "", good[:300], "", 400, 0xC000},
			{"part_of_another_type", "", good, "application/pdf", 400, 0xC000},
			{"missing_sop_instance_uid", "", generated(t, dicomgen.Spec{Omit: []dicomgen.Tag{dicomgen.TagSOPInstanceUID, dicomgen.TagMediaStorageSOPInstanceUID}}), "", 400, 0xA900},
			{"missing_study_uid", "", generated(t, dicomgen.Spec{Omit: []dicomgen.Tag{dicomgen.TagStudyInstanceUID}}), "", 400, 0xA900},
			{"missing_series_uid", "", generated(t, dicomgen.Spec{Omit: []dicomgen.Tag{dicomgen.TagSeriesInstanceUID}}), "", 400, 0xA900},
			{"missing_sop_class_uid", "", generated(t, dicomgen.Spec{Omit: []dicomgen.Tag{dicomgen.TagSOPClassUID}}), "", 400, 0xA900},
			{"malformed_study_uid", "", generated(t, dicomgen.Spec{Override: map[dicomgen.Tag]string{dicomgen.TagStudyInstanceUID: "1.2.abc"}}), "", 400, 0xA900},
			{"uid_with_leading_zero", "", generated(t, dicomgen.Spec{Override: map[dicomgen.Tag]string{dicomgen.TagSeriesInstanceUID: "1.02.3"}}), "", 400, 0xA900},
			{"study_uid_differs_from_url", "/" + study, generated(t, dicomgen.Spec{}), "", 409, 0x0110},
			{"duplicate", "", good, "", 409, 0x0111},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ct := tt.ctype
				if ct == "" {
					ct = "application/dicom"
				}
				before := len(s.blobFiles(t))
				body := multipartBody(t, "medimg-test-boundary", part{ct, tt.data})
				resp := s.stow(t, "/dicomweb/studies"+tt.path, stowContentType, body)
				if resp.status != tt.status || len(resp.failed) != 1 || resp.failed[0].reason != tt.reason {
					t.Fatalf("status %d failed %s; want %d with reason 0x%04X (warnings %q)", resp.status, fmtReasons(resp.failed), tt.status, tt.reason, resp.warnings)
				}
				if len(resp.referenced) != 0 {
					t.Errorf("referenced %d instances", len(resp.referenced))
				}
				if len(resp.warnings) != 1 || !strings.Contains(resp.warnings[0], "part 1:") {
					t.Errorf("Warning headers %q; want one naming part 1", resp.warnings)
				}
				if after := len(s.blobFiles(t)); after != before {
					t.Errorf("a failed store left a blob: %d → %d files", before, after)
				}
				if s.uploadsLeft(t) != 0 {
					t.Errorf("%d temporary uploads left", s.uploadsLeft(t))
				}
			})
		}
		if st, _ := s.store.CountStudies(context.Background()); st != 1 {
			t.Errorf("%d studies in the index after the failures, want 1", st)
		}
	})
}

func TestStoreInstancesPartialSuccess(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		a, b := generated(t, dicomgen.Spec{Seed: 1}), generated(t, dicomgen.Spec{Seed: 2})
		resp := s.stowParts(t, dicomPart(a), dicomPart([]byte("junk")), dicomPart(b))
		if resp.status != http.StatusAccepted || len(resp.referenced) != 2 || len(resp.failed) != 1 {
			t.Fatalf("status %d, %d stored, failed %s", resp.status, len(resp.referenced), fmtReasons(resp.failed))
		}
		if !strings.Contains(resp.warnings[0], "part 2:") {
			t.Errorf("warning %q does not name part 2", resp.warnings[0])
		}
		if len(s.blobFiles(t)) != 2 {
			t.Errorf("%d blobs, want 2", len(s.blobFiles(t)))
		}
	})
}

func TestStoreInstancesStudyURL(t *testing.T) {
	s := newServer(t, "sqlite", dicomweb.Config{PublicURL: "https://pacs.example.org/"})
	study := dicomgen.UID()
	body := multipartBody(t, "medimg-test-boundary",
		dicomPart(generated(t, dicomgen.Spec{StudyInstanceUID: study})),
		dicomPart(generated(t, dicomgen.Spec{StudyInstanceUID: study})))
	resp := s.stow(t, "/dicomweb/studies/"+study, stowContentType, body)
	if resp.status != http.StatusOK {
		t.Fatalf("status %d %q", resp.status, resp.warnings)
	}
	if want := "https://pacs.example.org/dicomweb/studies/" + study; resp.retrieve != want {
		t.Errorf("study RetrieveURL = %q, want %q", resp.retrieve, want)
	}
	if !strings.HasPrefix(resp.referenced[0].retrieveURL, "https://pacs.example.org/dicomweb/studies/"+study+"/series/") {
		t.Errorf("instance RetrieveURL = %q does not use --public-url", resp.referenced[0].retrieveURL)
	}
	if resp := s.stow(t, "/dicomweb/studies/1.2.x", stowContentType, body); resp.status != http.StatusBadRequest {
		t.Errorf("malformed study UID in the URL: status %d, want 400", resp.status)
	}
}

func TestStoreInstancesOverwrite(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{OnDuplicate: dicomweb.OnDuplicateOverwrite})
		spec := dicomgen.Spec{SOPInstanceUID: dicomgen.UID(), PatientName: "First^Version"}
		first := generated(t, spec)
		if resp := s.stowParts(t, dicomPart(first)); resp.status != http.StatusOK {
			t.Fatalf("first store: %d", resp.status)
		}
		spec.PatientName, spec.Seed = "Second^Version", 9
		second := generated(t, spec)
		if resp := s.stowParts(t, dicomPart(second)); resp.status != http.StatusOK {
			t.Fatalf("overwrite: status %d %q", resp.status, resp.warnings)
		}
		inst, err := s.store.GetInstance(context.Background(), spec.SOPInstanceUID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(inst.Metadata, "Second^Version") {
			t.Errorf("metadata still from the first version")
		}
		keys := s.blobFiles(t)
		if len(keys) != 1 || keys[0] != inst.BlobKey {
			t.Errorf("blobs %q, want only the new one %q", keys, inst.BlobKey)
		}
		st, _ := s.store.GetStudy(context.Background(), inst.StudyInstanceUID)
		if st.NumInstances != 1 {
			t.Errorf("NumInstances = %d after an overwrite, want 1", st.NumInstances)
		}
	})
}

func TestStoreInstancesRejectsBadOnDuplicate(t *testing.T) {
	if _, err := dicomweb.New(dicomweb.Config{OnDuplicate: "merge"}, nil, nil, nil, nil); err == nil {
		t.Error("New accepted on-duplicate=merge")
	}
}

func TestStoreInstancesBodyLimits(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		small := generated(t, dicomgen.Spec{})
		s := newServer(t, engine, dicomweb.Config{MaxUploadBytes: int64(len(small)) + 1000})
		t.Run("content_length_over_the_limit", func(t *testing.T) {
			body := multipartBody(t, "medimg-test-boundary", dicomPart(small), dicomPart(small))
			resp := s.stow(t, "/dicomweb/studies", stowContentType, body)
			if resp.status != http.StatusRequestEntityTooLarge {
				t.Errorf("status %d, want 413", resp.status)
			}
		})
		t.Run("chunked_body_over_the_limit", func(t *testing.T) {
			big := generated(t, dicomgen.Spec{Rows: 64, Columns: 64})
			body := multipartBody(t, "medimg-test-boundary", dicomPart(small), dicomPart(big))
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/dicomweb/studies", io.MultiReader(bytes.NewReader(body)))
			req.Header.Set("Content-Type", stowContentType)
			req.ContentLength = -1 // chunked
			resp := doStow(t, req)
			if resp.status != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413", resp.status)
			}
			if len(resp.referenced) != 1 || len(resp.failed) != 1 {
				t.Errorf("stored %d failed %d; want the first part stored and the second failed", len(resp.referenced), len(resp.failed))
			}
			if s.uploadsLeft(t) != 0 {
				t.Errorf("the cut part left an upload behind")
			}
		})
	})
}

func TestStoreInstancesMalformedBodies(t *testing.T) {
	s := newServer(t, "sqlite", dicomweb.Config{})
	inst := generated(t, dicomgen.Spec{})
	full := multipartBody(t, "medimg-test-boundary", dicomPart(inst))
	tests := map[string][]byte{
		"cut_inside_the_part":         full[:len(full)/2],
		"no_closing_delimiter":        full[:len(full)-len("--medimg-test-boundary--\r\n")],
		"wrong_boundary":              multipartBody(t, "other-boundary", dicomPart(inst)),
		"no_parts":                    []byte("--medimg-test-boundary--\r\n"),
		"empty_body":                  nil,
		"garbage_after_the_delimiter": append([]byte("--medimg-test-boundary\r\nContent-Type: application/dicom\r\n"), bytes.Repeat([]byte{0}, 100)...),
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			resp := s.stow(t, "/dicomweb/studies", stowContentType, body)
			if resp.status != http.StatusBadRequest {
				t.Errorf("status %d, want 400 (body %s)", resp.status, resp.raw["_body"])
			}
			if len(resp.referenced) != 0 || len(s.blobFiles(t)) != 0 || s.uploadsLeft(t) != 0 {
				t.Errorf("a malformed body stored something: %d referenced, %d blobs", len(resp.referenced), len(s.blobFiles(t)))
			}
		})
	}
	// The server keeps serving.
	if resp := s.stowParts(t, dicomPart(inst)); resp.status != http.StatusOK {
		t.Errorf("store after malformed requests: status %d", resp.status)
	}
}

func TestStoreInstancesAccept(t *testing.T) {
	s := newServer(t, "sqlite", dicomweb.Config{})
	for accept, want := range map[string]int{
		"application/dicom+json": 200,
		"application/json":       200,
		"*/*":                    200,
		"application/dicom+xml, application/dicom+json;q=0.5": 200,
		"application/dicom+xml":                               406,
		"text/html":                                           406,
	} {
		body := multipartBody(t, "medimg-test-boundary", dicomPart(generated(t, dicomgen.Spec{})))
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/dicomweb/studies", bytes.NewReader(body))
		req.Header.Set("Content-Type", stowContentType)
		req.Header.Set("Accept", accept)
		if resp := doStow(t, req); resp.status != want {
			t.Errorf("Accept %q: status %d, want %d", accept, resp.status, want)
		}
	}
}

func TestStoreInstancesConcurrentClientsOneStudy(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		study, series := dicomgen.UID(), []string{dicomgen.UID(), dicomgen.UID()}
		const clients, perRequest, requests = 4, 5, 3
		var wg sync.WaitGroup
		errs := make(chan string, clients*requests)
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range requests {
					var parts []part
					for i := range perRequest {
						modality := []string{"CT", "PT"}[i%2]
						parts = append(parts, dicomPart(generated(t, dicomgen.Spec{
							StudyInstanceUID: study, SeriesInstanceUID: series[i%2], Modality: modality,
							InstanceNumber: c*100 + r*10 + i + 1,
						})))
					}
					body := multipartBody(t, "medimg-test-boundary", parts...)
					req, _ := http.NewRequest(http.MethodPost, s.URL+"/dicomweb/studies", bytes.NewReader(body))
					req.Header.Set("Content-Type", stowContentType)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						errs <- err.Error()
						continue
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						errs <- fmt.Sprintf("status %d %q", resp.StatusCode, resp.Header.Values("Warning"))
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		st, err := s.store.GetStudy(context.Background(), study)
		if err != nil {
			t.Fatal(err)
		}
		total := clients * requests * perRequest
		if st.NumSeries != 2 || st.NumInstances != total || strings.Join(st.ModalitiesInStudy, `\`) != `CT\PT` {
			t.Errorf("study aggregates %d series, %d instances, %q; want 2, %d, CT\\PT", st.NumSeries, st.NumInstances, st.ModalitiesInStudy, total)
		}
		if n, _ := s.store.CountStudies(context.Background()); n != 1 {
			t.Errorf("%d study rows, want 1", n)
		}
	})
}

// failingBlobs is a blob store whose commits fail, to test the storage failure path.
type failingBlobs struct{ storage.Store }

func (f failingBlobs) NewUpload(ctx context.Context) (storage.Upload, error) {
	up, err := f.Store.NewUpload(ctx)
	return failingUpload{up}, err
}

type failingUpload struct{ storage.Upload }

func (failingUpload) Commit(context.Context, string) error { return errors.New("disk full") }

func TestStoreInstancesStorageFailure(t *testing.T) {
	s := newServer(t, "sqlite", dicomweb.Config{}, func(b storage.Store) storage.Store { return failingBlobs{b} })
	resp := s.stowParts(t, dicomPart(generated(t, dicomgen.Spec{})))
	if resp.status != http.StatusInternalServerError || len(resp.failed) != 1 || resp.failed[0].reason != 0xA700 {
		t.Fatalf("status %d failed %s; want 500 with 0xA700", resp.status, fmtReasons(resp.failed))
	}
	if strings.Contains(strings.Join(resp.warnings, " "), "disk full") {
		t.Errorf("internal error text leaked to the client: %q", resp.warnings)
	}
	if n, _ := s.store.CountStudies(context.Background()); n != 0 || s.uploadsLeft(t) != 0 {
		t.Errorf("storage failure left %d studies and %d uploads", n, s.uploadsLeft(t))
	}
}

func TestStoreInstancesIndexFailureRemovesTheBlob(t *testing.T) {
	// With overwrite there is no duplicate pre-check, so the first database call is AddInstance,
	// after the blob commit: closing the database makes exactly that call fail.
	s := newServer(t, "sqlite", dicomweb.Config{OnDuplicate: dicomweb.OnDuplicateOverwrite})
	s.store.Close()
	resp := s.stowParts(t, dicomPart(generated(t, dicomgen.Spec{})))
	if resp.status != http.StatusInternalServerError || len(resp.failed) != 1 || resp.failed[0].reason != 0x0110 {
		t.Fatalf("status %d failed %s; want 500 with 0x0110", resp.status, fmtReasons(resp.failed))
	}
	if keys := s.blobFiles(t); len(keys) != 0 {
		t.Errorf("blob %q outlived its failed index row", keys)
	}
}
