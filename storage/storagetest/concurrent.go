package storagetest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/medimg/medimg/storage"
)

// version is object version v of the overwrite tests: every byte is v and the length depends on v,
// so a reader mixing two versions sees two byte values or a length that does not match them.
func version(v byte) []byte {
	return bytes.Repeat([]byte{v}, 64<<10+int(v)*7)
}

// checkVersion reports what is wrong with b as a version, or "" if b is a whole version.
func checkVersion(b []byte) string {
	if len(b) == 0 {
		return "empty object"
	}
	if want := version(b[0]); len(b) != len(want) {
		return fmt.Sprintf("%d bytes of version %d, which has %d", len(b), b[0], len(want))
	}
	if i := bytes.IndexFunc(b, func(r rune) bool { return byte(r) != b[0] }); i >= 0 {
		return fmt.Sprintf("version %d mixed with other bytes at %d", b[0], i)
	}
	return ""
}

func testReaderDuringOverwrite(t *testing.T, s storage.Store) {
	old := version(1)
	put(t, s, key, old)
	r, err := s.Open(t.Context(), key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	head := make([]byte, 1000)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	put(t, s, key, version(2))
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "reader opened before the overwrite", append(head, rest...), old)
	equal(t, "reader opened after the overwrite", read(t, s, key, 0, -1), version(2))
}

func testConcurrentOverwrite(t *testing.T, s storage.Store) {
	const versions, readers = 40, 4
	put(t, s, key, version(0))
	var (
		wg    sync.WaitGroup
		done  atomic.Bool
		reads atomic.Int64
	)
	for range readers {
		wg.Go(func() {
			for !done.Load() {
				if msg := readVersion(t, s); msg != "" {
					t.Error(msg)
					return
				}
				reads.Add(1)
			}
		})
	}
	for v := range byte(versions) {
		if _, err := storage.Put(t.Context(), s, key, bytes.NewReader(version(v+1))); err != nil {
			t.Error(err)
			break
		}
	}
	done.Store(true)
	wg.Wait()
	if msg := readVersion(t, s); msg != "" {
		t.Error(msg)
	}
	t.Logf("%d reads during %d overwrites", reads.Load(), versions)
}

// readVersion reads the object in small steps, to stretch the read across overwrites, and checks it.
func readVersion(t *testing.T, s storage.Store) string {
	r, err := s.Open(t.Context(), key, 0, -1)
	if err != nil {
		return fmt.Sprintf("Open during overwrites: %v", err)
	}
	defer r.Close()
	var b bytes.Buffer
	if _, err := io.CopyBuffer(&b, struct{ io.Reader }{r}, make([]byte, 4096)); err != nil {
		return fmt.Sprintf("reading during overwrites: %v", err)
	}
	return checkVersion(b.Bytes())
}

func testConcurrentUploads(t *testing.T, s storage.Store) {
	const uploads = 32
	var wg sync.WaitGroup
	for i := range uploads {
		wg.Go(func() {
			data := content(10<<10+i, uint64(i))
			up, err := s.NewUpload(t.Context())
			if err != nil {
				t.Error(err)
				return
			}
			defer up.Abort()
			for chunk := range slices.Chunk(data, 1000) {
				if _, err := up.Write(chunk); err != nil {
					t.Error(err)
					return
				}
			}
			if err := up.Commit(t.Context(), concurrentKey(i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := range uploads {
		equal(t, concurrentKey(i), read(t, s, concurrentKey(i), 0, -1), content(10<<10+i, uint64(i)))
	}
	if keys := listKeys(t, s, "concurrent/"); len(keys) != uploads {
		t.Errorf("List found %d objects, want %d", len(keys), uploads)
	}
}

func concurrentKey(i int) string { return fmt.Sprintf("concurrent/%d/%d.dcm", i%4, i) }

// testCommitDeleteRace puts and deletes objects sharing a directory, whose last Delete may remove the
// directory just as a Commit needs it.
func testCommitDeleteRace(t *testing.T, s storage.Store) {
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			k := fmt.Sprintf("race/1/series/2/%d.dcm", w)
			for range 50 {
				if _, err := storage.Put(t.Context(), s, k, bytes.NewReader([]byte(k))); err != nil {
					t.Error(err)
					return
				}
				if err := s.Delete(t.Context(), k); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func testLarge(t *testing.T, s storage.Store) {
	const size, chunk, rangeLen = 20 << 20, 4093, 1<<20 + 17
	up, err := s.NewUpload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer up.Abort()
	src := rand.NewChaCha8(seedOf(42))
	written := sha256.New()
	buf := make([]byte, chunk)
	for left := size; left > 0; left -= len(buf) {
		buf = buf[:min(chunk, left)]
		src.Read(buf)
		written.Write(buf)
		if _, err := up.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	if up.Size() != size {
		t.Fatalf("Size = %d, want %d", up.Size(), size)
	}
	if err := up.Commit(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	if info, err := s.Stat(t.Context(), key); err != nil || info.Size != size {
		t.Fatalf("Stat = %+v, %v; want size %d", info, err, size)
	}
	got := sha256.New()
	for off := int64(0); off < size; off += rangeLen {
		r, err := s.Open(t.Context(), key, off, min(rangeLen, size-off))
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(got, r)
		r.Close()
		if err != nil || n != min(rangeLen, size-off) {
			t.Fatalf("range at %d: %d bytes, %v", off, n, err)
		}
	}
	if !bytes.Equal(got.Sum(nil), written.Sum(nil)) {
		t.Errorf("sha256 of the ranges %x, of what was written %x", got.Sum(nil), written.Sum(nil))
	}
}
