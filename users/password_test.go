package users

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// passwordTestParams are cheap argon2id params for tests where the cost is not the point.
var passwordTestParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashAndVerify(t *testing.T) {
	h := NewHasher(passwordTestParams, 2)
	ctx := context.Background()
	for _, password := range []string{"correct horse battery staple", "Ünïcödé пароль 密码", "", strings.Repeat("x", 1024)} {
		encoded, err := h.Hash(ctx, password)
		if err != nil {
			t.Fatalf("Hash: %v", err)
		}
		t.Run(fmt.Sprintf("the password of %d bytes verifies", len(password)), func(t *testing.T) {
			ok, needsRehash, err := h.Verify(ctx, password, encoded)
			if err != nil || !ok || needsRehash {
				t.Errorf("Verify = %v, %v, %v; want true, false, nil", ok, needsRehash, err)
			}
		})
		t.Run(fmt.Sprintf("another password than the one of %d bytes does not", len(password)), func(t *testing.T) {
			ok, needsRehash, err := h.Verify(ctx, password+"x", encoded)
			if err != nil || ok || needsRehash {
				t.Errorf("Verify = %v, %v, %v; want false, false, nil", ok, needsRehash, err)
			}
		})
	}
}

func TestHashIsPHCWithDefaultParams(t *testing.T) {
	encoded, err := NewHasher(DefaultParams, 1).Hash(context.Background(), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	// Parsed here by hand rather than by decodePHC, which is what is being checked.
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 {
		t.Fatalf("hash %q has %d $-separated fields, want 6", encoded, len(fields))
	}
	if got, want := strings.Join(fields[:4], "$"), "$argon2id$v=19$m=19456,t=2,p=1"; got != want {
		t.Errorf("hash starts %q, want %q", got, want)
	}
	for _, f := range []struct {
		name, text string
		len        int
	}{{"salt", fields[4], 16}, {"key", fields[5], 32}} {
		b, err := base64.RawStdEncoding.DecodeString(f.text)
		if err != nil || len(b) != f.len {
			t.Errorf("%s %q decodes to %d bytes, %v; want %d bytes of unpadded standard base64", f.name, f.text, len(b), err, f.len)
		}
	}
}

func TestHashSaltsEachHash(t *testing.T) {
	h := NewHasher(passwordTestParams, 1)
	a, errA := h.Hash(context.Background(), "correct horse battery staple")
	b, errB := h.Hash(context.Background(), "correct horse battery staple")
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if a == b {
		t.Errorf("two hashes of one password are both %q", a)
	}
}

func TestVerifyNeedsRehash(t *testing.T) {
	current := NewHasher(passwordTestParams, 1)
	tests := []struct {
		name     string
		made     Params
		password string
		want     bool
	}{
		{"a hash with the current params does not", passwordTestParams, "secret password", false},
		{"a hash with more memory does", Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, "secret password", true},
		{"a hash with more passes does", Params{Memory: 64, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, "secret password", true},
		{"a hash with more lanes does", Params{Memory: 64, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}, "secret password", true},
		{"a hash with a shorter salt does", Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 32}, "secret password", true},
		{"a hash with a longer key does", Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 64}, "secret password", true},
		{"a wrong password never does", Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, "wrong password", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			encoded, err := NewHasher(tt.made, 1).Hash(context.Background(), "secret password")
			if err != nil {
				t.Fatal(err)
			}
			ok, needsRehash, err := current.Verify(context.Background(), tt.password, encoded)
			if err != nil || ok != (tt.password == "secret password") || needsRehash != tt.want {
				t.Errorf("Verify = %v, %v, %v; want %v, %v, nil", ok, needsRehash, err, tt.password == "secret password", tt.want)
			}
		})
	}
}

func TestVerifyRefusesMalformedHashes(t *testing.T) {
	const (
		salt = "c2FsdHNhbHRzYWx0c2FsdA"                      // 16 bytes
		key  = "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U" // 32 bytes
	)
	phc := func(alg, version, params, salt, key string) string {
		return strings.Join([]string{"", alg, version, params, salt, key}, "$")
	}
	tests := []struct{ name, encoded string }{
		{"an empty string", ""},
		{"a bcrypt hash", "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", phc("argon2i", "v=19", "m=64,t=1,p=1", salt, key)},
		{"argon2d", phc("argon2d", "v=19", "m=64,t=1,p=1", salt, key)},
		{"no leading $", strings.TrimPrefix(phc("argon2id", "v=19", "m=64,t=1,p=1", salt, key), "$")},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"version 18", phc("argon2id", "v=18", "m=64,t=1,p=1", salt, key)},
		{"version 16", phc("argon2id", "v=16", "m=64,t=1,p=1", salt, key)},
		{"no key", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{"an extra field", phc("argon2id", "v=19", "m=64,t=1,p=1", salt, key) + "$" + key},
		{"parameters out of order", phc("argon2id", "v=19", "t=1,m=64,p=1", salt, key)},
		{"a missing parameter", phc("argon2id", "v=19", "m=64,t=1", salt, key)},
		{"a negative memory", phc("argon2id", "v=19", "m=-64,t=1,p=1", salt, key)},
		{"a memory of 2 GiB", phc("argon2id", "v=19", "m=2097152,t=1,p=1", salt, key)},
		{"a memory beyond 32 bits", phc("argon2id", "v=19", "m=4294967296,t=1,p=1", salt, key)},
		{"less memory than 8 KiB a lane", phc("argon2id", "v=19", "m=15,t=1,p=2", salt, key)},
		{"no passes", phc("argon2id", "v=19", "m=64,t=0,p=1", salt, key)},
		{"101 passes", phc("argon2id", "v=19", "m=64,t=101,p=1", salt, key)},
		{"no lanes", phc("argon2id", "v=19", "m=64,t=1,p=0", salt, key)},
		{"256 lanes", phc("argon2id", "v=19", "m=4096,t=1,p=256", salt, key)},
		{"a salt not in base64", phc("argon2id", "v=19", "m=64,t=1,p=1", "!!!!salt!!!!", key)},
		{"a padded key", phc("argon2id", "v=19", "m=64,t=1,p=1", salt, key+"=")},
		{"a URL-safe key", phc("argon2id", "v=19", "m=64,t=1,p=1", salt, "-_"+key[2:])},
		{"a salt of 4 bytes", phc("argon2id", "v=19", "m=64,t=1,p=1", "c2FsdA", key)},
		{"a key of 8 bytes", phc("argon2id", "v=19", "m=64,t=1,p=1", salt, "a2V5a2V5a2U")},
		{"a key of 200 bytes", phc("argon2id", "v=19", "m=64,t=1,p=1", salt, strings.Repeat("A", 267))},
	}
	h := NewHasher(passwordTestParams, 1)
	// The cases break this well-formed hash one way each.
	if _, _, err := h.Verify(context.Background(), "password", phc("argon2id", "v=19", "m=64,t=1,p=1", salt, key)); err != nil {
		t.Fatalf("the well-formed hash the cases start from: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, needsRehash, err := h.Verify(context.Background(), "password", tt.encoded)
			if !errors.Is(err, errBadPasswordHash) || ok || needsRehash {
				t.Fatalf("Verify = %v, %v, %v; want false, false, a malformed hash error", ok, needsRehash, err)
			}
			if strings.Contains(err.Error(), key[:16]) || strings.Contains(err.Error(), salt) {
				t.Errorf("error %q quotes the stored hash", err)
			}
		})
	}
}

// returnsWithin fails t unless f returns within d, rather than hang the test.
func returnsWithin(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("still waiting after %v", d)
	}
}

func TestHasherGivesUpWaitingWhenTheContextEnds(t *testing.T) {
	h := NewHasher(passwordTestParams, 2)
	encoded, err := h.Hash(context.Background(), "secret password")
	if err != nil {
		t.Fatal(err)
	}
	for range cap(h.slots) { // every slot taken, as by long hashes
		h.slots <- struct{}{}
	}
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Hash", func(ctx context.Context) error { _, err := h.Hash(ctx, "secret password"); return err }},
		{"Verify", func(ctx context.Context) error { _, _, err := h.Verify(ctx, "secret password", encoded); return err }},
		{"VerifyUnknown", func(ctx context.Context) error { h.VerifyUnknown(ctx, "secret password"); return ctx.Err() }},
	}
	for _, c := range calls {
		t.Run(c.name+" returns promptly when the deadline passes", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			var err error
			returnsWithin(t, 2*time.Second, func() { err = c.call(ctx) })
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v, want context.DeadlineExceeded", err)
			}
		})
	}
	for range cap(h.slots) {
		<-h.slots
	}
	t.Run("a cancelled context is refused even with a slot free", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for range 20 { // select would take the free slot about half the time
			if _, err := h.Hash(ctx, "secret password"); !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v, want context.Canceled", err)
			}
		}
	})
}

func TestHasherBoundsConcurrentHashes(t *testing.T) {
	for _, tt := range []struct{ maxConcurrent, want int }{{0, 1}, {1, 1}, {2, 2}, {4, 4}} {
		t.Run(fmt.Sprintf("20 hashes with maxConcurrent %d run %d at once", tt.maxConcurrent, tt.want), func(t *testing.T) {
			h := NewHasher(passwordTestParams, tt.maxConcurrent)
			var running, peak atomic.Int32
			derive := h.derive
			h.derive = func(password, salt []byte, p Params) []byte {
				n := running.Add(1)
				defer running.Add(-1)
				for {
					old := peak.Load()
					if n <= old || peak.CompareAndSwap(old, n) {
						break
					}
				}
				time.Sleep(5 * time.Millisecond) // long enough for the others to pile up
				return derive(password, salt, p)
			}
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					if _, err := h.Hash(context.Background(), "secret password"); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if got := int(peak.Load()); got != tt.want {
				t.Errorf("at most %d hashes ran at once, want %d", got, tt.want)
			}
		})
	}
}

func TestVerifyUnknownCostsWhatAWrongPasswordCosts(t *testing.T) {
	h := NewHasher(DefaultParams, 1)
	ctx := context.Background()
	if p, _, _, err := decodePHC(h.dummy); err != nil || p != h.params {
		t.Fatalf("the dummy hash has params %+v, %v; want %+v", p, err, h.params)
	}
	encoded, err := h.Hash(ctx, "secret password")
	if err != nil {
		t.Fatal(err)
	}
	// The fastest of a few runs, alternated, so that a busy machine slows neither one alone.
	timed := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	wrong, unknown := time.Duration(1<<63-1), time.Duration(1<<63-1)
	for range 5 {
		wrong = min(wrong, timed(func() { h.Verify(ctx, "wrong password", encoded) }))
		unknown = min(unknown, timed(func() { h.VerifyUnknown(ctx, "wrong password") }))
	}
	t.Logf("Verify of a wrong password: %v; VerifyUnknown: %v", wrong, unknown)
	if unknown < wrong/2 || unknown > wrong*2 {
		t.Errorf("VerifyUnknown takes %v, Verify of a wrong password %v: not within a factor of 2", unknown, wrong)
	}
}

func FuzzVerify(f *testing.F) {
	h := NewHasher(passwordTestParams, 1)
	valid, err := h.Hash(context.Background(), "secret password")
	if err != nil {
		f.Fatal(err)
	}
	f.Add("secret password", valid)
	f.Add("secret password", strings.Replace(valid, "m=64", "m=1048576", 1))
	f.Add("", "")
	f.Add("x", "$argon2id$v=19$m=64,t=1,p=1$$")
	f.Add("x", "$argon2id$v=19$m=,t=,p=$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5")
	f.Add("x", "$argon2id$v=19$m=64,t=1,p=1,keyid=x$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5")
	// The limits allow hashes that cost seconds; the fuzzer exercises the parsing and comparing
	// on the cheapest argon2 that takes the same inputs.
	derive := h.derive
	h.derive = func(password, salt []byte, p Params) []byte {
		p.Memory, p.Time, p.Threads = 8, 1, 1
		return derive(password, salt, p)
	}
	f.Fuzz(func(t *testing.T, password, encoded string) {
		ok, needsRehash, err := h.Verify(context.Background(), password, encoded)
		if err != nil && (ok || needsRehash) {
			t.Errorf("Verify = %v, %v, %v: an error with a result", ok, needsRehash, err)
		}
		if needsRehash && !ok {
			t.Error("needsRehash without ok")
		}
	})
}

func BenchmarkHash(b *testing.B) {
	h := NewHasher(DefaultParams, 1)
	for b.Loop() {
		if _, err := h.Hash(context.Background(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := NewHasher(DefaultParams, 1)
	encoded, err := h.Hash(context.Background(), "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _, err := h.Verify(context.Background(), "correct horse battery staple", encoded); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// TestSignInPeakMemory checks that the slots bound the memory of a burst of sign-ins: 20 at once
// on a Hasher with DefaultParams and one slot a CPU. Live, that is at most maxConcurrent
// buffers of 19 MiB; but a finished hash's buffer is garbage only freed by the next GC cycle,
// and with GOGC=100 the heap grows to twice what the last cycle found live (which counts the
// buffers allocated during that cycle) before the next. Measured on 2 CPUs: 77 or 115 MiB, 4 or 6
// buffers, depending on when the cycles fall; so the bound allows twice maxConcurrent+1 buffers.
// Without the slots the burst holds all 20 buffers at once, 381 MiB.
func TestSignInPeakMemory(t *testing.T) {
	const signIns = 20
	maxConcurrent := runtime.NumCPU()
	h := NewHasher(DefaultParams, maxConcurrent)
	encoded, err := h.Hash(context.Background(), "secret password")
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	baseline := heapInUse()
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // what runtime.MemStats.HeapInuse says, without stopping the world each time
		defer close(sampled)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			peak.Store(max(peak.Load(), heapInUse()))
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	for range signIns {
		wg.Go(func() {
			if ok, _, err := h.Verify(context.Background(), "secret password", encoded); !ok || err != nil {
				t.Error(ok, err)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	<-sampled
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	const mib = 1 << 20
	buffer := uint64(DefaultParams.Memory) * 1024
	bound := 2*uint64(maxConcurrent+1)*buffer + 32*mib
	t.Logf("%d concurrent sign-ins, maxConcurrent %d: %v in all; heap in use %.1f MiB before, %.1f MiB at peak "+
		"(bound %.0f MiB, %.0f MiB live at most, %.0f MiB without the slots); HeapSys after %.1f MiB",
		signIns, maxConcurrent, elapsed, float64(baseline)/mib, float64(peak.Load())/mib, float64(bound)/mib,
		float64(uint64(maxConcurrent)*buffer)/mib, float64(signIns*buffer)/mib, float64(ms.HeapSys)/mib)
	if peak.Load() >= bound {
		t.Errorf("peak heap in use %d bytes, want below %d", peak.Load(), bound)
	}
}

func heapInUse() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}
