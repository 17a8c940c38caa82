// Package metered wraps a storage.Store with Prometheus metrics: the latency and the errors of every
// blob store operation, so that a slow or failing bucket shows up before the DICOMweb latency does.
package metered

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/medimg/medimg/storage"
)

// Operations are the label values of the operation label, one per method of storage.Store and
// storage.Upload that does I/O (upload is NewUpload, commit is Upload.Commit).
var Operations = []string{"upload", "commit", "open", "stat", "delete", "list"}

// Store is a storage.Store whose operations are timed and counted.
type Store struct {
	next     storage.Store
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
}

// New wraps next; its metrics are registered on reg.
func New(next storage.Store, reg prometheus.Registerer) (*Store, error) {
	s := &Store{
		next: next,
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "medimg_blob_operation_duration_seconds",
			Help:    "Blob store operation latency by operation (upload, commit, open, stat, delete, list); open is the time to the first byte, list the whole walk.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operation"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medimg_blob_operation_errors_total",
			Help: "Blob store operations that failed, by operation; a missing object counts too (it should not happen), a cancelled request does not.",
		}, []string{"operation"}),
	}
	for _, c := range []prometheus.Collector{s.duration, s.errors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metered: register metrics: %w", err)
		}
	}
	// Every operation has its series from the start, so that rates are 0 rather than absent.
	for _, op := range Operations {
		s.duration.WithLabelValues(op)
		s.errors.WithLabelValues(op)
	}
	return s, nil
}

// observe records one operation that started at start and ended with err.
func (s *Store) observe(op string, start time.Time, err error) {
	s.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, context.Canceled) {
		s.errors.WithLabelValues(op).Inc()
	}
}

// Check asks the wrapped store, when it can be asked (readiness), and answers nil otherwise.
func (s *Store) Check(ctx context.Context) error {
	if c, ok := s.next.(interface{ Check(context.Context) error }); ok {
		return c.Check(ctx)
	}
	return nil
}

// NewUpload starts an upload whose Commit is measured too.
func (s *Store) NewUpload(ctx context.Context) (storage.Upload, error) {
	start := time.Now()
	up, err := s.next.NewUpload(ctx)
	s.observe("upload", start, err)
	if err != nil {
		return nil, err
	}
	return &upload{Upload: up, s: s}, nil
}

// Open measures the time until the reader is returned.
func (s *Store) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	start := time.Now()
	rc, err := s.next.Open(ctx, key, offset, length)
	s.observe("open", start, err)
	return rc, err
}

// Stat measures Stat.
func (s *Store) Stat(ctx context.Context, key string) (storage.Info, error) {
	start := time.Now()
	info, err := s.next.Stat(ctx, key)
	s.observe("stat", start, err)
	return info, err
}

// Delete measures Delete.
func (s *Store) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := s.next.Delete(ctx, key)
	s.observe("delete", start, err)
	return err
}

// List measures the whole walk, fn included.
func (s *Store) List(ctx context.Context, prefix string, fn func(storage.Info) error) error {
	start := time.Now()
	err := s.next.List(ctx, prefix, fn)
	s.observe("list", start, err)
	return err
}

type upload struct {
	storage.Upload
	s *Store
}

func (u *upload) Commit(ctx context.Context, key string) error {
	start := time.Now()
	err := u.Upload.Commit(ctx, key)
	u.s.observe("commit", start, err)
	return err
}
