package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Defaults of S3Config: an object up to one part is a single PutObject; a larger one goes up in
// parts of 16 MiB, four at a time, which bounds what one Commit holds in flight.
const (
	defaultPartSize    = 16 << 20
	defaultConcurrency = 4
	minPartSize        = 5 << 20 // S3's smallest part but the last
	maxParts           = 10000   // S3's limit on the parts of one upload
)

// S3Config configures the S3 store. Credentials, and the region when Region is empty, come from the
// standard AWS chain (environment, shared config files, web identity, instance role).
type S3Config struct {
	Bucket string
	// Prefix is put before every key, as Prefix + "/" + key, so that one bucket can hold several stores.
	Prefix   string
	Region   string
	Endpoint string // an S3-compatible server, e.g. http://127.0.0.1:9000; empty for AWS
	// PathStyle addresses the bucket as ENDPOINT/BUCKET rather than BUCKET.ENDPOINT, which most
	// S3-compatible servers need.
	PathStyle bool
	// TempDir holds the spool files of uploads in progress (default: the OS temp directory).
	TempDir string
	// PartSize is the size of one part of a multipart upload, and the largest object sent in a
	// single PutObject (default 16 MiB, at least 5 MiB).
	PartSize int64
	// Concurrency is the number of parts one Commit sends at a time (default 4).
	Concurrency int
	// Client replaces the client NewS3 would build (tests); the fields above that configure the
	// client are then ignored.
	Client *s3.Client
}

// S3 is the Store on an S3 bucket. Uploads are spooled to a temp file, so that they can be read back
// before Commit and memory stays flat, and written to their final key on Commit: S3 has no rename,
// and a PUT is atomic, so readers see the whole object or none.
type S3 struct {
	client      *s3.Client
	bucket      string
	root        string // Prefix + "/", or "" for none
	tempDir     string
	partSize    int64
	concurrency int
}

var _ Store = (*S3)(nil)

// ParseS3URL parses s3://BUCKET[/PREFIX][?region=REGION&endpoint=URL&path-style=true].
func ParseS3URL(spec string) (S3Config, error) {
	u, err := url.Parse(spec)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.Opaque != "" || u.User != nil || u.Fragment != "" {
		return S3Config{}, fmt.Errorf("storage: %q: want s3://BUCKET[/PREFIX][?region=R&endpoint=URL&path-style=true]", spec)
	}
	cfg := S3Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}
	for name, vals := range u.Query() {
		v := vals[len(vals)-1]
		switch name {
		case "region":
			cfg.Region = v
		case "endpoint":
			e, err := url.Parse(v)
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				return S3Config{}, fmt.Errorf("storage: %q: endpoint %q is not an http(s) URL", spec, v)
			}
			cfg.Endpoint = v
		case "path-style":
			if cfg.PathStyle, err = strconv.ParseBool(v); err != nil {
				return S3Config{}, fmt.Errorf("storage: %q: path-style %q: want true or false", spec, v)
			}
		default:
			return S3Config{}, fmt.Errorf("storage: %q: unknown parameter %q (want region, endpoint, path-style)", spec, name)
		}
	}
	if cfg.Prefix != "" && !ValidKey(cfg.Prefix) {
		return S3Config{}, fmt.Errorf("storage: %q: prefix %q: want segments of [A-Za-z0-9._-]", spec, cfg.Prefix)
	}
	return cfg, nil
}

// NewS3 opens the store on cfg.Bucket. It does not contact S3: call Check to know the bucket is there.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("storage: s3: no bucket")
	}
	if cfg.Prefix != "" && !ValidKey(cfg.Prefix) {
		return nil, fmt.Errorf("storage: s3: prefix %q: want segments of [A-Za-z0-9._-]", cfg.Prefix)
	}
	s := &S3{client: cfg.Client, bucket: cfg.Bucket, tempDir: cfg.TempDir,
		partSize: max(cfg.PartSize, minPartSize), concurrency: max(cfg.Concurrency, 1)}
	if cfg.PartSize == 0 {
		s.partSize = defaultPartSize
	}
	if cfg.Concurrency == 0 {
		s.concurrency = defaultConcurrency
	}
	if cfg.Prefix != "" {
		s.root = cfg.Prefix + "/"
	}
	if s.tempDir == "" {
		s.tempDir = os.TempDir()
	}
	if s.client == nil {
		client, err := newS3Client(ctx, cfg)
		if err != nil {
			return nil, err
		}
		s.client = client
	}
	return s, nil
}

// newS3Client builds a client from the standard AWS configuration chain and cfg.
func newS3Client(ctx context.Context, cfg S3Config) (*s3.Client, error) {
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("storage: s3: loading the AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		if cfg.Endpoint == "" {
			return nil, errors.New("storage: s3: no region: add ?region= to the URL or set AWS_REGION")
		}
		// S3-compatible servers mostly ignore the region, but requests must be signed for one.
		awsCfg.Region = "us-east-1"
	}
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.UsePathStyle = cfg.PathStyle
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		// Ranged GETs carry no checksum; without this the SDK logs that it skipped validating each one.
		o.DisableLogOutputChecksumValidationSkipped = true
		// Throttling, 5xx and broken connections are retried with jittered back-off, a few times.
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 4
			so.MaxBackoff = 5 * time.Second
		})
	}), nil
}

// Check asks S3 whether the bucket exists and can be reached with the credentials, once and without
// retries, so that start-up (and a readiness probe) fails fast and says why.
func (s *S3) Check(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket}, func(o *s3.Options) {
		o.RetryMaxAttempts = 1
	})
	if err != nil {
		return fmt.Errorf("storage: s3 bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Open returns length bytes of key from offset (length < 0: to the end) as one streamed GET.
func (s *S3) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	// length > MaxInt64-offset: no object is that long, and offset+length would overflow.
	if offset < 0 || length > math.MaxInt64-offset {
		return nil, fmt.Errorf("storage: open %s: range %d+%d outside the object", key, offset, length)
	}
	if length == 0 {
		// No HTTP range is empty: ask for the size and check the offset against it.
		info, err := s.Stat(ctx, key)
		if err != nil {
			return nil, err
		}
		if offset > info.Size {
			return nil, rangeErr(key, offset, length, info.Size)
		}
		return io.NopCloser(strings.NewReader("")), nil
	}
	in := &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.root + key)}
	switch {
	case length > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", offset, offset+length-1))
	case offset > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", offset))
	}
	out, err := s.client.GetObject(ctx, in)
	if isInvalidRange(err) {
		return s.openPastEnd(ctx, key, offset, length)
	}
	if err != nil {
		return nil, s3Err("open", key, err)
	}
	// S3 shortens a range that runs past the end instead of refusing it; the interface refuses it.
	if length > 0 && aws.ToInt64(out.ContentLength) != length {
		out.Body.Close()
		return nil, rangeErr(key, offset, length, objectSize(out.ContentRange))
	}
	return out.Body, nil
}

// openPastEnd answers a GET refused with 416: the range starts at or past the end. Starting at
// the end with length < 0 is an empty read, as on a file; anything else is a range error.
func (s *S3) openPastEnd(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	if length < 0 && offset == info.Size {
		return io.NopCloser(strings.NewReader("")), nil
	}
	return nil, rangeErr(key, offset, length, info.Size)
}

func rangeErr(key string, offset, length, size int64) error {
	return fmt.Errorf("storage: open %s: range %d+%d outside a %d-byte object", key, offset, length, size)
}

// objectSize is the total of a Content-Range "bytes a-b/total", or -1 if it has none.
func objectSize(contentRange *string) int64 {
	_, total, ok := strings.Cut(aws.ToString(contentRange), "/")
	n, err := strconv.ParseInt(total, 10, 64)
	if !ok || err != nil {
		return -1
	}
	return n
}

// Stat describes the object at key with a HEAD request.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := checkKey(key); err != nil {
		return Info{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.root + key)})
	if err != nil {
		return Info{}, s3Err("stat", key, err)
	}
	return Info{Key: key, Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified)}, nil
}

// Delete removes key. S3's DELETE succeeds on a missing key, so a HEAD comes first to report
// ErrNotFound as the interface promises; a key deleted between the two is deleted either way.
func (s *S3) Delete(ctx context.Context, key string) error {
	if _, err := s.Stat(ctx, key); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.root + key)})
	if err != nil {
		return s3Err("delete", key, err)
	}
	return nil
}

// List calls fn for every object under prefix, a page of ListObjectsV2 at a time. Objects whose
// names no key could have were not written by the store and are not listed. fn may delete the
// object it is given: the continuation token does not depend on it.
func (s *S3) List(ctx context.Context, prefix string, fn func(Info) error) error {
	if _, ok := prefixDir(prefix); !ok {
		return fmt.Errorf("%w: prefix %q", ErrInvalidKey, prefix)
	}
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: &s.bucket, Prefix: aws.String(s.root + prefix)})
	for pages.HasMorePages() {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("storage: list %q: %w", prefix, err)
		}
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("storage: list %q: %w", prefix, err)
		}
		for _, obj := range page.Contents {
			key, ok := strings.CutPrefix(aws.ToString(obj.Key), s.root)
			if !ok || !ValidKey(key) {
				continue
			}
			info := Info{Key: key, Size: aws.ToInt64(obj.Size), ModTime: aws.ToTime(obj.LastModified)}
			if err := fn(info); err != nil {
				return err
			}
		}
	}
	return nil
}

// s3Err wraps an error of op on key; a missing object is ErrNotFound.
func s3Err(op, key string, err error) error {
	if isNotFound(err) {
		return fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return fmt.Errorf("storage: %s %s: %w", op, key, err)
}

// isNotFound reports a missing object: NoSuchKey from a GET, a bare 404 from a HEAD (which has
// no body to name the error). A missing bucket is a configuration error, not a missing object.
func isNotFound(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "NoSuchBucket" {
		return false
	}
	return httpStatus(err) == 404
}

func isInvalidRange(err error) bool { return httpStatus(err) == 416 }

// httpStatus is the HTTP status of a failed S3 call, or 0 if it got no response.
func httpStatus(err error) int {
	var resp *smithyhttp.ResponseError
	if errors.As(err, &resp) {
		return resp.HTTPStatusCode()
	}
	return 0
}
