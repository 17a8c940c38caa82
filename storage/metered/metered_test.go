package metered_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/medimg/medimg/storage"
	"github.com/medimg/medimg/storage/metered"
	"github.com/medimg/medimg/storage/storagetest"
)

// The wrapper passes the behaviour suite that every store passes.
func TestMeteredFS(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		fs, err := storage.NewFS(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		s, err := metered.New(fs, prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestMeteredCountsOperationsAndErrors(t *testing.T) {
	ctx := context.Background()
	fs, err := storage.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s, err := metered.New(fs, reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := storage.Put(ctx, s, "a/b", strings.NewReader("data")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "a/missing"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Stat of a missing key: %v", err)
	}
	rc, err := s.Open(ctx, "a/b", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	for op, n := range map[string]int{"upload": 0, "commit": 0, "open": 0, "stat": 1, "delete": 0, "list": 0} {
		if got := int(value(t, reg, "medimg_blob_operation_errors_total", op).GetCounter().GetValue()); got != n {
			t.Errorf("%s: %d errors, want %d", op, got, n)
		}
	}
	for op, n := range map[string]int{"upload": 1, "commit": 1, "open": 1, "stat": 1, "delete": 0} {
		if got := histogramCount(t, reg, op); got != n {
			t.Errorf("%s: %d observations, want %d", op, got, n)
		}
	}
}

func histogramCount(t *testing.T, reg *prometheus.Registry, op string) int {
	t.Helper()
	return int(value(t, reg, "medimg_blob_operation_duration_seconds", op).GetHistogram().GetSampleCount())
}

// value is the series of the family name whose operation label is op.
func value(t *testing.T, reg *prometheus.Registry, name, op string) *dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == op {
				return m
			}
		}
	}
	t.Fatalf("%s: no series for %s", name, op)
	return nil
}
