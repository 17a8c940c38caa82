package storage

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// s3Upload is an upload to S3: a spool file in the temp directory until Commit sends it.
type s3Upload struct {
	spool
	s *S3
}

// NewUpload starts an upload as a spool file in the temp directory.
func (s *S3) NewUpload(ctx context.Context) (Upload, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	newFile := func() (*os.File, error) {
		file, err := os.CreateTemp(s.tempDir, "medimg-s3-upload-*")
		if err != nil {
			return nil, fmt.Errorf("storage: new upload: %w", err)
		}
		return file, nil
	}
	return &s3Upload{spool: newSpool(newFile), s: s}, nil
}

// Commit sends the upload to key: one PutObject up to a part's size, a multipart upload above.
// Either way the object appears whole or not at all, and the spool file is gone when Commit returns.
func (u *s3Upload) Commit(ctx context.Context, key string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return errFinished
	}
	defer u.discard()
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: commit %s: %w", key, err)
	}
	var err error
	if u.size <= u.s.partSize {
		err = u.put(ctx, key)
	} else {
		err = u.multipart(ctx, key)
	}
	if err != nil {
		return fmt.Errorf("storage: commit %s: %w", key, err)
	}
	return nil
}

// put sends the whole file in one request, with its SHA-256 for S3 to check.
func (u *s3Upload) put(ctx context.Context, key string) error {
	src := u.content()
	sum, err := fileSHA256(io.NewSectionReader(src, 0, u.size))
	if err != nil {
		return err
	}
	_, err = u.s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:            &u.s.bucket,
		Key:               aws.String(u.s.root + key),
		Body:              io.NewSectionReader(src, 0, u.size),
		ContentLength:     aws.Int64(u.size),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
		ChecksumSHA256:    aws.String(sum),
	})
	return err
}

// multipart sends the file in parts, a few at a time, each read from the file as it is sent. Any
// failure, cancellation included, aborts the upload so that no parts stay behind (and are billed).
func (u *s3Upload) multipart(ctx context.Context, key string) error {
	objKey := aws.String(u.s.root + key)
	created, err := u.s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: &u.s.bucket, Key: objKey, ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
	if err != nil {
		return err
	}
	parts, err := u.sendParts(ctx, objKey, created.UploadId)
	if err == nil {
		_, err = u.s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket: &u.s.bucket, Key: objKey, UploadId: created.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	}
	if err != nil {
		// The request's context may be what ended the upload: the abort gets its own.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, aerr := u.s.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
			Bucket: &u.s.bucket, Key: objKey, UploadId: created.UploadId})
		if aerr != nil {
			err = errors.Join(err, fmt.Errorf("aborting multipart upload %s: %w", aws.ToString(created.UploadId), aerr))
		}
	}
	return err
}

// sendParts uploads the parts of the file, at most Concurrency at a time, and returns them in order.
func (u *s3Upload) sendParts(ctx context.Context, objKey, uploadID *string) ([]types.CompletedPart, error) {
	// S3 allows 10,000 parts: beyond that many default parts (156 GiB), parts grow.
	partSize := max(u.s.partSize, (u.size+maxParts-1)/maxParts)
	n := int((u.size + partSize - 1) / partSize)
	parts := make([]types.CompletedPart, n)
	src := u.content()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(u.s.concurrency)
	for i := range n {
		off := int64(i) * partSize
		size := min(partSize, u.size-off)
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			sum, err := fileSHA256(io.NewSectionReader(src, off, size))
			if err != nil {
				return err
			}
			num := aws.Int32(int32(i + 1))
			out, err := u.s.client.UploadPart(gctx, &s3.UploadPartInput{
				Bucket: &u.s.bucket, Key: objKey, UploadId: uploadID, PartNumber: num,
				Body:              io.NewSectionReader(src, off, size),
				ContentLength:     aws.Int64(size),
				ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
				ChecksumSHA256:    aws.String(sum),
			})
			if err != nil {
				return fmt.Errorf("part %d: %w", i+1, err)
			}
			parts[i] = types.CompletedPart{ETag: out.ETag, PartNumber: num, ChecksumSHA256: aws.String(sum)}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		// errgroup cancels gctx on the first error; report the caller's cancellation as such.
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = errors.Join(cerr, err)
		}
		return nil, err
	}
	return parts, nil
}

// fileSHA256 is the base64 SHA-256 of r, the form S3's checksum headers take.
func fileSHA256(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}
