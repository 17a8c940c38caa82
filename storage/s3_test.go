package storage_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/medimg/medimg/storage"
	"github.com/medimg/medimg/storage/storagetest"
)

const testBucket = "medimg"

func TestS3(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return newFakeS3(t, nil, storage.S3Config{}).store
	})
}

// TestS3Server runs the suite against a real S3-compatible server (MinIO, AWS…) named by
// MEDIMG_TEST_S3_URL, e.g. s3://bucket?endpoint=http://127.0.0.1:9000&path-style=true, with
// credentials from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY). Every store is a
// fresh prefix in the bucket, emptied when its test ends.
func TestS3Server(t *testing.T) {
	spec := os.Getenv("MEDIMG_TEST_S3_URL")
	if spec == "" {
		t.Skip("MEDIMG_TEST_S3_URL is not set: no S3-compatible server to test against")
	}
	base, err := storage.ParseS3URL(spec)
	if err != nil {
		t.Fatal(err)
	}
	run := time.Now().UnixNano()
	var n atomic.Int64
	storagetest.Run(t, func(t *testing.T) storage.Store {
		cfg := base
		cfg.Prefix = strings.TrimPrefix(fmt.Sprintf("%s/medimg-test-%d-%d", base.Prefix, run, n.Add(1)), "/")
		cfg.TempDir = t.TempDir()
		s := openS3(t, cfg)
		t.Cleanup(func() { empty(t, s) })
		return s
	})
}

// empty deletes everything in s, so that a real bucket does not fill up with test objects.
func empty(t *testing.T, s storage.Store) {
	ctx := context.Background()
	err := s.List(ctx, "", func(info storage.Info) error { return s.Delete(ctx, info.Key) })
	if err != nil {
		t.Errorf("emptying the test prefix: %v", err)
	}
}

// fakeS3 is an S3 store on an in-process gofakes3 server, with a client of its own to look behind
// the store's back.
type fakeS3 struct {
	store   *storage.S3
	client  *s3.Client // the store's client
	tempDir string
}

// newFakeS3 starts gofakes3 with a bucket and opens a store on it under a prefix. rt, if not nil,
// wraps the client's transport (to inject faults); cfg sets the part size and concurrency.
func newFakeS3(t *testing.T, rt func(http.RoundTripper) http.RoundTripper, cfg storage.S3Config) *fakeS3 {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(srv.Close)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(transport.CloseIdleConnections)
	var hc http.RoundTripper = transport
	if rt != nil {
		hc = rt(transport)
	}
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   &http.Client{Transport: hc},
		// As in production, but with short back-off so that fault tests run fast.
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.MaxBackoff = 10 * time.Millisecond
		}),
		DisableLogOutputChecksumValidationSkipped: true,
	})
	if _, err := client.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(testBucket)}); err != nil {
		t.Fatal(err)
	}
	cfg.Bucket, cfg.Prefix, cfg.Client = testBucket, "pre/fix", client
	cfg.TempDir = t.TempDir()
	return &fakeS3{store: openS3(t, cfg), client: client, tempDir: cfg.TempDir}
}

// openS3 opens a store and checks that its bucket answers.
func openS3(t *testing.T, cfg storage.S3Config) *storage.S3 {
	t.Helper()
	s, err := storage.NewS3(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

// leftovers fails the test if the bucket holds an object or an unfinished multipart upload, or the
// temp directory a spool file.
func (f *fakeS3) leftovers(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	objs, err := f.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(testBucket)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs.Contents {
		t.Errorf("object left behind: %s", aws.ToString(o.Key))
	}
	ups, err := f.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(testBucket)})
	// gofakes3 answers NoSuchUpload for a bucket that never had a multipart upload.
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "NoSuchUpload" {
		ups, err = &s3.ListMultipartUploadsOutput{}, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range ups.Uploads {
		t.Errorf("multipart upload left behind: %s %s", aws.ToString(u.Key), aws.ToString(u.UploadId))
	}
	entries, err := os.ReadDir(f.tempDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("spool file left behind: %s", e.Name())
	}
}

// faultFunc is an http.RoundTripper from a function, to wrap the client's transport.
type faultFunc func(*http.Request) (*http.Response, error)

func (f faultFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// isPart reports whether r uploads part number n of a multipart upload.
func isPart(r *http.Request, n string) bool {
	return r.Method == http.MethodPut && r.URL.Query().Get("partNumber") == n
}

const partSize = 5 << 20 // the smallest S3 allows, so that multipart tests stay small

func TestS3ObjectIsStoredUnderPrefix(t *testing.T) {
	f := newFakeS3(t, nil, storage.S3Config{})
	const key = "studies/1.2/series/3.4/5.6.dcm"
	if _, err := storage.Put(t.Context(), f.store, key, strings.NewReader("DICM")); err != nil {
		t.Fatal(err)
	}
	out, err := f.client.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(testBucket), Key: aws.String("pre/fix/" + key)})
	if err != nil {
		t.Fatalf("HeadObject(pre/fix/%s): %v", key, err)
	}
	if aws.ToInt64(out.ContentLength) != 4 {
		t.Errorf("stored object has %d bytes, want 4", aws.ToInt64(out.ContentLength))
	}
}

func TestS3MultipartRoundTrip(t *testing.T) {
	var parts atomic.Int64
	count := func(next http.RoundTripper) http.RoundTripper {
		return faultFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Query().Has("partNumber") {
				parts.Add(1)
			}
			return next.RoundTrip(r)
		})
	}
	f := newFakeS3(t, count, storage.S3Config{PartSize: partSize, Concurrency: 2})
	data := make([]byte, 2*partSize+123)
	for i := range data {
		data[i] = byte(i * 7 / 5)
	}
	const key = "big/1.dcm"
	if _, err := storage.Put(t.Context(), f.store, key, strings.NewReader(string(data))); err != nil {
		t.Fatal(err)
	}
	if parts.Load() != 3 {
		t.Errorf("%d parts sent, want 3", parts.Load())
	}
	r, err := f.store.Open(t.Context(), key, partSize-10, 20)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || string(got) != string(data[partSize-10:partSize+10]) {
		t.Errorf("range across parts = %v, %v; want %v", got, err, data[partSize-10:partSize+10])
	}
}

func TestS3AbortedUploadLeavesNothing(t *testing.T) {
	f := newFakeS3(t, nil, storage.S3Config{PartSize: partSize})
	up, err := f.store.NewUpload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.Write(make([]byte, 2*partSize)); err != nil {
		t.Fatal(err)
	}
	if err := up.Abort(); err != nil {
		t.Fatal(err)
	}
	f.leftovers(t)
}

func TestS3FailedPartAbortsTheMultipartUpload(t *testing.T) {
	var attempts atomic.Int64
	failPart2 := func(next http.RoundTripper) http.RoundTripper {
		return faultFunc(func(r *http.Request) (*http.Response, error) {
			if !isPart(r, "2") {
				return next.RoundTrip(r)
			}
			attempts.Add(1)
			if r.Body != nil {
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
			}
			body := `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected</Message></Error>`
			return &http.Response{StatusCode: 500, Status: "500 Internal Server Error", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Type": {"application/xml"}}, Body: io.NopCloser(strings.NewReader(body)),
				ContentLength: int64(len(body)), Request: r}, nil
		})
	}
	f := newFakeS3(t, failPart2, storage.S3Config{PartSize: partSize, Concurrency: 2})
	up, err := f.store.NewUpload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer up.Abort()
	if _, err := up.Write(make([]byte, 3*partSize)); err != nil {
		t.Fatal(err)
	}
	if err := up.Commit(t.Context(), "failed/1.dcm"); err == nil {
		t.Fatal("Commit succeeded though part 2 always fails")
	}
	if n := attempts.Load(); n != 3 {
		t.Errorf("part 2 was tried %d times, want 3 (the retryer's attempts)", n)
	}
	f.leftovers(t)
}

func TestS3CancelledCommitAbortsTheMultipartUpload(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	// Part 1 hangs until the client gives up, as on a stalled network; the test cancels then.
	hang := func(next http.RoundTripper) http.RoundTripper {
		return faultFunc(func(r *http.Request) (*http.Response, error) {
			if isPart(r, "1") {
				cancel()
				<-r.Context().Done()
				return nil, r.Context().Err()
			}
			return next.RoundTrip(r)
		})
	}
	f := newFakeS3(t, hang, storage.S3Config{PartSize: partSize, Concurrency: 1})
	up, err := f.store.NewUpload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer up.Abort()
	if _, err := up.Write(make([]byte, 2*partSize+1)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := up.Commit(ctx, "cancelled/1.dcm"); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Commit took %v to notice the cancellation", d)
	}
	f.leftovers(t)
}

func TestS3CancelledOpen(t *testing.T) {
	f := newFakeS3(t, nil, storage.S3Config{})
	const key = "open/1.dcm"
	if _, err := storage.Put(t.Context(), f.store, key, strings.NewReader(strings.Repeat("x", 32<<20))); err != nil {
		t.Fatal(err)
	}
	t.Run("before the request", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if r, err := f.store.Open(ctx, key, 0, -1); !errors.Is(err, context.Canceled) {
			if err == nil {
				r.Close()
			}
			t.Errorf("Open = %v, want context.Canceled", err)
		}
	})
	t.Run("while streaming", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		r, err := f.store.Open(ctx, key, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := io.ReadFull(r, make([]byte, 1024)); err != nil {
			t.Fatal(err)
		}
		cancel()
		n, err := io.Copy(io.Discard, r)
		if err == nil {
			t.Errorf("reading on after the cancellation: %d more bytes and no error", n)
		}
	})
}

func TestParseS3URL(t *testing.T) {
	tests := []struct {
		spec string
		want storage.S3Config
	}{
		{"s3://bucket", storage.S3Config{Bucket: "bucket"}},
		{"s3://bucket/", storage.S3Config{Bucket: "bucket"}},
		{"s3://bucket/medimg/prod", storage.S3Config{Bucket: "bucket", Prefix: "medimg/prod"}},
		{"s3://bucket?region=eu-west-3", storage.S3Config{Bucket: "bucket", Region: "eu-west-3"}},
		{"s3://b/p?endpoint=http://127.0.0.1:9000&path-style=true&region=us-east-1",
			storage.S3Config{Bucket: "b", Prefix: "p", Endpoint: "http://127.0.0.1:9000", PathStyle: true, Region: "us-east-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := storage.ParseS3URL(tt.spec)
			if err != nil || got != tt.want {
				t.Errorf("ParseS3URL = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"s3:bucket", "s3://", "file://bucket", "s3://bucket?colour=red",
		"s3://bucket?endpoint=127.0.0.1:9000", "s3://bucket?path-style=maybe", "s3://bucket/a//b",
		"s3://bucket/../x", "s3://user:secret@bucket"} {
		t.Run("rejects "+bad, func(t *testing.T) {
			if _, err := storage.ParseS3URL(bad); err == nil {
				t.Errorf("ParseS3URL(%q) succeeded", bad)
			}
		})
	}
}
