package storage

import "sync"

// dirSyncer shares directory fsyncs between concurrent commits: one fsync of a directory makes
// every entry renamed into it before the fsync began durable, so a commit whose rename precedes a
// sync that has not started yet can wait for that sync instead of issuing its own. When many
// instances of a series arrive at once (a study being sent), one fsync serves a whole group of
// them rather than one each, and fsyncing a directory is a synchronous metadata write.
type dirSyncer struct {
	mu   sync.Mutex
	dirs map[string]*dirSyncs
}

// dirSyncs counts the fsyncs of one directory; syncs run one at a time.
type dirSyncs struct {
	started, finished uint64
	failed            uint64 // the number of the last sync that failed (0: none)
	failure           error
	running           bool
	users             int // callers between their rename and their return, to drop the entry when none
	done              *sync.Cond
}

// sync makes dir's entries, as they were when sync was called, durable: it returns once an fsync
// of dir that started after the call has finished, running that fsync itself if nobody else does.
// syncDir is the fsync (a parameter for tests).
func (s *dirSyncer) sync(dir string, syncDir func(string) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dirs == nil {
		s.dirs = make(map[string]*dirSyncs)
	}
	d := s.dirs[dir]
	if d == nil {
		d = &dirSyncs{done: sync.NewCond(&s.mu)}
		s.dirs[dir] = d
	}
	d.users++
	defer func() {
		if d.users--; d.users == 0 {
			delete(s.dirs, dir)
		}
	}()
	// A sync running now may have started before this caller's rename: only the next one counts.
	want := d.started + 1
	for d.finished < want {
		if d.running {
			d.done.Wait()
			continue
		}
		d.running = true
		d.started++
		n := d.started
		s.mu.Unlock()
		err := syncDir(dir)
		s.mu.Lock()
		d.running = false
		d.finished = n
		if err != nil {
			d.failed, d.failure = n, err
		}
		d.done.Broadcast()
	}
	// A failure of the sync this caller waited for, or of a later one, fails it: whether its entry
	// reached the disk is unknown either way.
	if d.failed >= want {
		return d.failure
	}
	return nil
}
