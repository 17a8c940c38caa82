package storage

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// TestDirSyncerShares holds the first fsync of a directory open while more callers arrive: they
// must not count on it (it may have started before their rename), and they all share the one
// fsync that starts after it.
func TestDirSyncerShares(t *testing.T) {
	var s dirSyncer
	var mu sync.Mutex
	calls := 0
	first := make(chan struct{})
	release := make(chan struct{})
	fsync := func(string) error {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			close(first)
			<-release
		}
		return nil
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.sync("d", fsync) }()
	<-first
	const later = 10
	returned := make(chan struct{}, later)
	for range later {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.sync("d", fsync); err != nil {
				t.Error(err)
			}
			returned <- struct{}{}
		}()
	}
	// Let them all queue behind the running fsync; none may return on it.
	time.Sleep(50 * time.Millisecond)
	if len(returned) != 0 {
		t.Fatalf("%d callers returned on an fsync that started before they called", len(returned))
	}
	close(release)
	wg.Wait()
	if calls != 2 {
		t.Errorf("%d fsyncs for 1+%d callers, want 2 (one running, one shared by the rest)", calls, later)
	}
	if len(s.dirs) != 0 {
		t.Errorf("%d directories still tracked after every caller returned", len(s.dirs))
	}
}

// TestDirSyncerReportsFailure fails every caller that waited on a failed fsync, and only those.
func TestDirSyncerReportsFailure(t *testing.T) {
	var s dirSyncer
	boom := errors.New("boom")
	if err := s.sync("d", func(string) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
	if err := s.sync("d", func(string) error { return nil }); err != nil {
		t.Errorf("after a failed fsync, a good one returned %v", err)
	}
}
