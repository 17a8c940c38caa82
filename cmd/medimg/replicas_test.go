package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
)

// replicaSet is two medimg processes on one PostgreSQL database and one S3 bucket, as behind a
// load balancer. PostgreSQL only: a SQLite file is not shared by replicas.
type replicaSet struct {
	a, b    *instance
	backend *s3mem.Backend
	s3      *httptest.Server
	bucket  string
}

func startReplicas(t *testing.T) *replicaSet {
	t.Helper()
	dsn := querytest.DSN(t, queries.Postgres) // skips without PostgreSQL, fails under CI=true
	// The AWS SDK reads its credentials from the process environment, not from run's getenv.
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	rs := &replicaSet{backend: s3mem.New(), bucket: "pacs"}
	if err := rs.backend.CreateBucket(rs.bucket); err != nil {
		t.Fatal(err)
	}
	rs.s3 = httptest.NewServer(gofakes3.New(rs.backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(rs.s3.Close)
	blobs := "s3://" + rs.bucket + "?endpoint=" + rs.s3.URL + "&path-style=true&region=us-east-1"
	// The first creates the admin with MEDIMG_ADMIN_PASSWORD; the second finds it.
	rs.a = start(t, nil, "--database", dsn, "--blobs", blobs)
	rs.b = start(t, nil, "--database", dsn, "--blobs", blobs)
	return rs
}

// objects lists the keys in the bucket under prefix.
func (rs *replicaSet) objects(t *testing.T, prefix string) []string {
	t.Helper()
	p := gofakes3.Prefix{HasPrefix: true, Prefix: prefix}
	list, err := rs.backend.ListBucket(rs.bucket, &p, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	return keys
}

// stowOne stores one Part 10 file through in and returns the status and body.
func stowOne(t *testing.T, in *instance, file []byte) (int, string) {
	t.Helper()
	ct, body := stowBody(t, file)
	resp, text := do(t, in.request(t, http.MethodPost, "/dicomweb/studies", ct, bytes.NewReader(body)))
	return resp.StatusCode, text
}

// failureReasons returns the FailureReason (0008,1197) of every item of FailedSOPSequence (0008,1198).
func failureReasons(t *testing.T, body string) []int {
	t.Helper()
	type element struct{ Value []json.RawMessage }
	var resp map[string]element
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatalf("STOW response is not DICOM JSON: %v\n%s", err, body)
	}
	var reasons []int
	for _, raw := range resp["00081198"].Value {
		var item map[string]element
		if err := json.Unmarshal(raw, &item); err != nil {
			t.Fatalf("FailedSOPSequence item: %v\n%s", err, body)
		}
		for _, v := range item["00081197"].Value {
			var reason int
			if err := json.Unmarshal(v, &reason); err != nil {
				t.Fatalf("FailureReason: %v\n%s", err, body)
			}
			reasons = append(reasons, reason)
		}
	}
	return reasons
}

// countResults returns the number of QIDO results at path.
func countResults(t *testing.T, in *instance, path string) int {
	t.Helper()
	code, body := in.get(t, path)
	if code == http.StatusNoContent {
		return 0
	}
	var results []json.RawMessage
	if code != http.StatusOK || json.Unmarshal([]byte(body), &results) != nil {
		t.Fatalf("QIDO %s: %d %s", path, code, body)
	}
	return len(results)
}

func wadoURI(study, series, sop string) string {
	return "/wado?requestType=WADO&contentType=application/dicom&studyUID=" + study + "&seriesUID=" + series + "&objectUID=" + sop
}

func TestReplicas(t *testing.T) {
	rs := startReplicas(t)
	replicas := []*instance{rs.a, rs.b}

	t.Run("concurrent_stores_on_both_are_read_byte_for_byte_from_the_other", func(t *testing.T) {
		study, series := dicomgen.UID(), dicomgen.UID()
		const workers, each = 4, 10
		type stored struct {
			sop  string
			file []byte
			via  int
		}
		var all []stored
		for i := range workers * each {
			sop := dicomgen.UID()
			file := generated(t, dicomgen.Spec{StudyInstanceUID: study, SeriesInstanceUID: series, SOPInstanceUID: sop})
			all = append(all, stored{sop, file, i % workers % 2})
		}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < len(all); i += workers {
					if code, body := stowOne(t, replicas[all[i].via], all[i].file); code != http.StatusOK {
						t.Errorf("STOW through replica %d: %d %s", all[i].via, code, body)
					}
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		for _, s := range all {
			other := replicas[1-s.via]
			code, body := other.get(t, wadoURI(study, series, s.sop))
			if code != http.StatusOK || body != string(s.file) {
				t.Errorf("instance %s stored through replica %d, read from the other: %d, %d bytes, want the %d bytes stored",
					s.sop, s.via, code, len(body), len(s.file))
			}
		}
		for i, in := range replicas {
			if n := countResults(t, in, "/dicomweb/studies/"+study+"/instances"); n != workers*each {
				t.Errorf("QIDO on replica %d finds %d instances, want %d", i, n, workers*each)
			}
			if n := countResults(t, in, "/dicomweb/studies?StudyInstanceUID="+study); n != 1 {
				t.Errorf("QIDO on replica %d finds %d studies, want 1", i, n)
			}
		}
		if keys := rs.objects(t, "studies/"+study+"/"); len(keys) != workers*each {
			t.Errorf("the bucket holds %d objects for the study, want %d", len(keys), workers*each)
		}
	})

	t.Run("a_delete_through_one_is_seen_by_the_other_at_once", func(t *testing.T) {
		study, series, sop := dicomgen.UID(), dicomgen.UID(), dicomgen.UID()
		file := generated(t, dicomgen.Spec{StudyInstanceUID: study, SeriesInstanceUID: series, SOPInstanceUID: sop})
		if code, body := stowOne(t, rs.a, file); code != http.StatusOK {
			t.Fatalf("STOW: %d %s", code, body)
		}
		if code, _ := rs.b.get(t, "/dicomweb/studies/"+study+"/metadata"); code != http.StatusOK {
			t.Fatalf("metadata on the other replica before the delete: %d", code)
		}
		if resp, body := do(t, rs.a.request(t, http.MethodDelete, "/dicomweb/studies/"+study, "", nil)); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
		}
		for _, path := range []string{
			"/dicomweb/studies/" + study + "/metadata",
			"/dicomweb/studies/" + study + "/series/" + series + "/instances/" + sop,
			wadoURI(study, series, sop),
		} {
			if code, _ := rs.b.get(t, path); code != http.StatusNotFound {
				t.Errorf("GET %s on the other replica right after the delete = %d, want 404", path, code)
			}
		}
		if keys := rs.objects(t, "studies/"+study+"/"); len(keys) != 0 {
			t.Errorf("the bucket still holds %q after the delete", keys)
		}
	})

	t.Run("the_same_instance_sent_to_both_at_once_is_stored_once", func(t *testing.T) {
		for round := range 10 {
			study, series, sop := dicomgen.UID(), dicomgen.UID(), dicomgen.UID()
			file := generated(t, dicomgen.Spec{StudyInstanceUID: study, SeriesInstanceUID: series, SOPInstanceUID: sop})
			codes, bodies := make([]int, 2), make([]string, 2)
			barrier := make(chan struct{})
			var wg sync.WaitGroup
			for i, in := range replicas {
				ct, body := stowBody(t, file)
				req := in.request(t, http.MethodPost, "/dicomweb/studies", ct, bytes.NewReader(body))
				wg.Go(func() {
					<-barrier
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					defer resp.Body.Close()
					var b bytes.Buffer
					b.ReadFrom(resp.Body)
					codes[i], bodies[i] = resp.StatusCode, b.String()
				})
			}
			close(barrier)
			wg.Wait()
			ok, dup := 0, 0
			for i := range codes {
				switch {
				case codes[i] == http.StatusOK:
					ok++
				case codes[i] == http.StatusConflict && fmt.Sprint(failureReasons(t, bodies[i])) == "[273]":
					dup++
				default:
					t.Errorf("round %d, replica %d: %d %s", round, i, codes[i], bodies[i])
				}
			}
			if ok != 1 || dup != 1 {
				t.Errorf("round %d: %d stored and %d duplicates (statuses %v), want one of each", round, ok, dup, codes)
			}
			if keys := rs.objects(t, "studies/"+study+"/series/"+series+"/"+sop+"_"); len(keys) != 1 {
				t.Errorf("round %d: the bucket holds %q for the instance, want one object", round, keys)
			}
			for i, in := range replicas {
				if code, body := in.get(t, wadoURI(study, series, sop)); code != http.StatusOK || body != string(file) {
					t.Errorf("round %d: reading the instance from replica %d: %d, %d bytes", round, i, code, len(body))
				}
			}
		}
	})

	t.Run("a_token_revoked_on_one_is_refused_by_the_other_within_5s", func(t *testing.T) {
		token := rs.a.signIn(t, "admin", testAdminPassword)
		me := func(in *instance) int {
			req := in.request(t, http.MethodGet, "/users/me", "", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, _ := do(t, req)
			return resp.StatusCode
		}
		// Used on b first, so that b has it in its cache when a revokes it: the 5 s run from here.
		cached := time.Now()
		if code := me(rs.b); code != http.StatusOK {
			t.Fatalf("the token from replica a on replica b: %d", code)
		}
		req := rs.a.request(t, http.MethodPost, "/auth/logout", "", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, body := do(t, req); resp.StatusCode/100 != 2 {
			t.Fatalf("logout: %d %s", resp.StatusCode, body)
		}
		if code := me(rs.a); code != http.StatusUnauthorized {
			t.Errorf("the revoking replica accepts the token: %d", code)
		}
		// A replica rechecks a cached token 5 s after caching it; slack covers the poll interval
		// and the requests' own time on a loaded machine.
		const bound, poll, slack = 5 * time.Second, 50 * time.Millisecond, 500 * time.Millisecond
		revoked := time.Now()
		for me(rs.b) != http.StatusUnauthorized {
			if time.Since(cached) > bound+slack {
				t.Fatalf("replica b still accepts the revoked token %v after caching it", bound+slack)
			}
			time.Sleep(poll)
		}
		t.Logf("replica b refused the revoked token %v after caching it, %v after the revocation",
			time.Since(cached).Round(time.Millisecond), time.Since(revoked).Round(time.Millisecond))
	})
}

// TestReadyzChecksTheBlobStore: a replica that lost its bucket or its blob directory leaves the
// balancer, and the reason says which dependency failed.
func TestReadyzChecksTheBlobStore(t *testing.T) {
	ready := func(t *testing.T, in *instance) (int, string) {
		t.Helper()
		resp, body := do(t, in.request(t, http.MethodGet, "/readyz", "", nil))
		return resp.StatusCode, body
	}
	stores := map[string]func(t *testing.T) (blobs string, lose func()){
		"s3": func(t *testing.T) (string, func()) {
			t.Setenv("AWS_ACCESS_KEY_ID", "test")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
			t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			backend := s3mem.New()
			if err := backend.CreateBucket("pacs"); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
			t.Cleanup(srv.Close)
			return "s3://pacs?endpoint=" + srv.URL + "&path-style=true&region=us-east-1", srv.Close
		},
		"file": func(t *testing.T) (string, func()) {
			dir := filepath.Join(t.TempDir(), "blobs")
			return "file:" + dir, func() {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
			}
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			blobs, lose := open(t)
			in := start(t, nil, "--database", "sqlite:"+filepath.Join(t.TempDir(), "medimg.db"), "--blobs", blobs)
			if code, body := ready(t, in); code != http.StatusOK {
				t.Fatalf("/readyz with the blob store up = %d %s", code, body)
			}
			lose()
			code, body := ready(t, in)
			var got struct {
				Status, Reason string
				Failed         []string
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("/readyz body: %v: %s", err, body)
			}
			want := struct {
				Status, Reason string
				Failed         []string
			}{"unavailable", "blob store does not answer", []string{"blob store"}}
			if code != http.StatusServiceUnavailable {
				t.Errorf("/readyz with the blob store gone = %d, want 503", code)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("/readyz body (-want +got):\n%s", diff)
			}
		})
	}
}
