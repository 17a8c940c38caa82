package storage_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/medimg/medimg/storage"
)

// partSink is the multipart half of an S3 server that keeps nothing: it hashes each part as it
// arrives and checks it against the part's x-amz-checksum-sha256. gofakes3 holds every part in
// memory and concatenates them on completion (whatever its backend), which would put two copies of
// the object in this process's heap and drown the figure the heap test measures.
type partSink struct {
	mu       sync.Mutex
	parts    map[int]string // part number → base64 SHA-256 of what arrived
	problems []string
}

func (p *partSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPost && q.Has("uploads"):
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult>`+
			`<Bucket>medimg</Bucket><Key>k</Key><UploadId>sink</UploadId></InitiateMultipartUploadResult>`)
	case r.Method == http.MethodPut && q.Has("partNumber"):
		h := sha256.New()
		if _, err := io.Copy(h, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sum := base64.StdEncoding.EncodeToString(h.Sum(nil))
		n, _ := strconv.Atoi(q.Get("partNumber"))
		p.mu.Lock()
		p.parts[n] = sum
		if got := r.Header.Get("X-Amz-Checksum-Sha256"); got != sum {
			p.problems = append(p.problems, fmt.Sprintf("part %d: checksum header %q, body hashes to %q", n, got, sum))
		}
		p.mu.Unlock()
		w.Header().Set("ETag", `"`+strconv.Itoa(n)+`"`)
	case r.Method == http.MethodPost && q.Has("uploadId"):
		io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult>`+
			`<Bucket>medimg</Bucket><Key>k</Key><ETag>"done"</ETag></CompleteMultipartUploadResult>`)
	default:
		p.mu.Lock()
		p.problems = append(p.problems, "unexpected request "+r.Method+" "+r.URL.String())
		p.mu.Unlock()
		http.Error(w, "unexpected", http.StatusBadRequest)
	}
}

// heapPeak samples HeapInuse until stop is called, which returns the highest value seen.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

// TestS3GigabyteUploadKeepsMemoryFlat writes a generated 1 GiB object through an upload and commits
// it with the default settings (16 MiB parts, 4 in flight), checking that the heap grows by less
// than 64 MiB and that every part arrives intact with its checksum.
func TestS3GigabyteUploadKeepsMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and sends 1 GiB")
	}
	const size, partSize, chunk = 1 << 30, 16 << 20, 1 << 20
	sink := &partSink{parts: map[int]string{}}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	s, err := storage.NewS3(t.Context(), storage.S3Config{Bucket: testBucket, TempDir: t.TempDir(), Client: client})
	if err != nil {
		t.Fatal(err)
	}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := heapPeak()
	start := time.Now()

	up, err := s.NewUpload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer up.Abort()
	src := rand.NewChaCha8([32]byte{1})
	buf := make([]byte, chunk)
	var want []string
	part := sha256.New()
	for written := 0; written < size; written += chunk {
		src.Read(buf)
		part.Write(buf)
		if _, err := up.Write(buf); err != nil {
			t.Fatal(err)
		}
		if (written+chunk)%partSize == 0 {
			want = append(want, base64.StdEncoding.EncodeToString(part.Sum(nil)))
			part.Reset()
		}
	}
	written := time.Since(start)
	if err := up.Commit(t.Context(), "big/1.dcm"); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	growth := int64(stop()) - int64(before.HeapInuse)

	t.Logf("1 GiB: written to the spool in %v, committed in %v (%v in all); heap in use grew by %.1f MiB at most",
		written.Round(time.Millisecond), (elapsed - written).Round(time.Millisecond), elapsed.Round(time.Millisecond), float64(growth)/(1<<20))
	if growth >= 64<<20 {
		t.Errorf("heap grew by %d MiB, want < 64 MiB", growth>>20)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for _, p := range sink.problems {
		t.Error(p)
	}
	if len(sink.parts) != len(want) {
		t.Errorf("%d parts arrived, want %d", len(sink.parts), len(want))
	}
	for i, sum := range want {
		if sink.parts[i+1] != sum {
			t.Errorf("part %d arrived with SHA-256 %s, want %s", i+1, sink.parts[i+1], sum)
		}
	}
}
