package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/medimg/medimg/storage"
)

// listKeys returns the sorted keys List reports under prefix, checking each Info against a Stat.
func listKeys(t *testing.T, s storage.Store, prefix string) []string {
	t.Helper()
	var (
		mu   sync.Mutex // List promises no order; nothing stops an implementation calling fn concurrently
		keys []string
	)
	err := s.List(t.Context(), prefix, func(info storage.Info) error {
		mu.Lock()
		defer mu.Unlock()
		keys = append(keys, info.Key)
		if info.ModTime.IsZero() {
			return fmt.Errorf("%s: no modification time", info.Key)
		}
		if st, err := s.Stat(t.Context(), info.Key); err != nil || st.Size != info.Size {
			return fmt.Errorf("%s: List size %d, Stat %+v, %v", info.Key, info.Size, st, err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	slices.Sort(keys)
	return keys
}

func testList(t *testing.T, s storage.Store) {
	all := []string{"other/d.dcm", "studies/1/a.dcm", "studies/1/b.dcm", "studies/12/c.dcm", "top.dcm"}
	for i, k := range all {
		put(t, s, k, content(i+1, uint64(i)))
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", all},
		{"studies/", all[1:4]},
		{"studies/1/", all[1:3]},
		{"studies/1", all[1:4]},
		{"studies/12/c", all[3:4]},
		{"studies/1/a.dcm", all[1:2]},
		{"top", all[4:]},
		{"t", all[4:]},
		{"nothing/", nil},
		{"studies/1/a.dcm/", nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.prefix), func(t *testing.T) {
			if got := listKeys(t, s, tt.prefix); !slices.Equal(got, tt.want) {
				t.Errorf("List(%q) = %q, want %q", tt.prefix, got, tt.want)
			}
		})
	}
}

func testListStops(t *testing.T, s storage.Store) {
	for i := range 5 {
		put(t, s, fmt.Sprintf("l/%d.dcm", i), []byte("x"))
	}
	stop := errors.New("stop")
	calls := 0
	err := s.List(t.Context(), "", func(storage.Info) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List = %v after %d calls, want %v after 1", err, calls, stop)
	}
}

// testListDelete is the orphan sweep: list everything, delete what has no index row.
func testListDelete(t *testing.T, s storage.Store) {
	for i := range 20 {
		put(t, s, fmt.Sprintf("studies/%d/series/%d/%d.dcm", i%3, i%5, i), []byte("x"))
	}
	var mu sync.Mutex
	deleted := 0
	err := s.List(t.Context(), "studies/", func(info storage.Info) error {
		mu.Lock()
		defer mu.Unlock()
		deleted++
		return s.Delete(t.Context(), info.Key)
	})
	if err != nil || deleted != 20 {
		t.Errorf("List deleting = %v after %d objects, want nil after 20", err, deleted)
	}
	if keys := listKeys(t, s, ""); len(keys) != 0 {
		t.Errorf("left after deleting everything: %q", keys)
	}
}

func testListCancelled(t *testing.T, s storage.Store) {
	put(t, s, key, []byte("x"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.List(ctx, "", func(storage.Info) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("List with a cancelled context = %v, want context.Canceled", err)
	}
}
