package users

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over the memory
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams are the OWASP Password Storage Cheat Sheet's current minimum for argon2id,
// m=19456 KiB (19 MiB), t=2, p=1, with a 16-byte salt and a 32-byte key. Each hash or
// verification holds 19 MiB for its duration.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Limits on the parameters of a stored hash, so that a tampered row cannot make a sign-in
// allocate gigabytes or spin for minutes.
const (
	maxHashMemory  = 1 << 20 // KiB: 1 GiB
	maxHashTime    = 100
	minHashSaltLen = 8 // the argon2 specification's minimum
	maxHashSaltLen = 64
	minHashKeyLen  = 16
	maxHashKeyLen  = 128
)

// errBadPasswordHash is wrapped by every error about a stored hash that cannot be used.
var errBadPasswordHash = errors.New("malformed password hash")

// phcBase64 is the PHC string format's encoding: standard alphabet, no padding.
var phcBase64 = base64.RawStdEncoding.Strict()

// Hasher hashes and verifies passwords, with at most maxConcurrent hashes computed at once so
// that a burst of sign-ins cannot exhaust memory (each costs Params.Memory).
type Hasher struct {
	params Params
	slots  chan struct{} // a semaphore: one element per hash being computed
	// dummy is what VerifyUnknown checks against: h's params, a random salt and a random key
	// (no password derives it; only its cost matters).
	dummy string
	// derive computes the key; tests replace it to watch the slots.
	derive func(password, salt []byte, p Params) []byte
}

// NewHasher returns a Hasher with params p computing at most maxConcurrent hashes at once
// (maxConcurrent < 1 means 1). It panics when p is outside the limits Verify accepts for a
// stored hash: such params are a programming error, not an input.
func NewHasher(p Params, maxConcurrent int) *Hasher {
	if err := p.check(); err != nil {
		panic(fmt.Sprintf("users: NewHasher: %v", err))
	}
	return &Hasher{
		params: p,
		slots:  make(chan struct{}, max(maxConcurrent, 1)),
		dummy:  encodePHC(p, randomHashBytes(p.SaltLen), randomHashBytes(p.KeyLen)),
		derive: deriveArgon2id,
	}
}

// Hash returns the PHC string of password, "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>", with
// a random salt. It waits for a free slot; the only error is ctx ending first.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := randomHashBytes(h.params.SaltLen)
	key, err := h.key(ctx, password, salt, h.params)
	if err != nil {
		return "", fmt.Errorf("users: hash password: %w", err)
	}
	return encodePHC(h.params, salt, key), nil
}

// Verify reports whether password matches encoded, a PHC string made with any parameters within
// limits. needsRehash is true, only with ok, when encoded's parameters differ from h's: the caller
// then stores a new Hash of the password it has just checked. A malformed, non-argon2id or
// too costly encoded is an error, as is ctx ending while waiting for a slot.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	p, salt, want, err := decodePHC(encoded)
	if err != nil {
		return false, false, fmt.Errorf("users: verify password: %w", err)
	}
	got, err := h.key(ctx, password, salt, p)
	if err != nil {
		return false, false, fmt.Errorf("users: verify password: %w", err)
	}
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	return true, p != h.params, nil
}

// VerifyUnknown costs what Verify of a wrong password costs and always fails: call it for an
// unknown username so that the answer and its timing are those of a wrong password.
func (h *Hasher) VerifyUnknown(ctx context.Context, password string) {
	_, _, _ = h.Verify(ctx, password, h.dummy)
}

// key derives the key of password in one of h's slots, waiting for one until ctx ends.
func (h *Hasher) key(ctx context.Context, password string, salt []byte, p Params) ([]byte, error) {
	// Checked first because select picks at random when a slot is also free.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("waiting for a slot: %w", err)
	}
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a slot: %w", ctx.Err())
	}
	defer func() { <-h.slots }()
	return h.derive([]byte(password), salt, p), nil
}

func deriveArgon2id(password, salt []byte, p Params) []byte {
	return argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// randomHashBytes never fails: crypto/rand.Read crashes the program rather than return an error.
func randomHashBytes(n uint32) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// check returns an error when p is outside the limits of a stored hash.
func (p Params) check() error {
	switch {
	case p.Time < 1 || p.Time > maxHashTime:
		return fmt.Errorf("time %d outside 1..%d", p.Time, maxHashTime)
	case p.Threads < 1:
		return errors.New("parallelism 0")
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxHashMemory: // argon2 needs 8 KiB a lane
		return fmt.Errorf("memory %d KiB outside %d..%d", p.Memory, 8*uint32(p.Threads), maxHashMemory)
	case p.SaltLen < minHashSaltLen || p.SaltLen > maxHashSaltLen:
		return fmt.Errorf("salt of %d bytes outside %d..%d", p.SaltLen, minHashSaltLen, maxHashSaltLen)
	case p.KeyLen < minHashKeyLen || p.KeyLen > maxHashKeyLen:
		return fmt.Errorf("key of %d bytes outside %d..%d", p.KeyLen, minHashKeyLen, maxHashKeyLen)
	}
	return nil
}

func encodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time,
		p.Threads, phcBase64.EncodeToString(salt), phcBase64.EncodeToString(key))
}

// decodePHC parses an argon2id PHC string and checks its parameters against the limits. Its
// errors never quote encoded: a hash does not belong in a log.
func decodePHC(encoded string) (p Params, salt, key []byte, err error) {
	fields := strings.SplitN(encoded, "$", 7)
	if len(fields) != 6 || fields[0] != "" {
		return Params{}, nil, nil, fmt.Errorf("%w: not $argon2id$v=19$m=,t=,p=$salt$key", errBadPasswordHash)
	}
	if fields[1] != "argon2id" {
		return Params{}, nil, nil, fmt.Errorf("%w: not argon2id", errBadPasswordHash)
	}
	if fields[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, fmt.Errorf("%w: not version %d", errBadPasswordHash, argon2.Version)
	}
	m, t, threads, err := parsePHCParams(fields[3])
	if err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: %v", errBadPasswordHash, err)
	}
	if salt, err = decodePHCField(fields[4], maxHashSaltLen); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: salt: %v", errBadPasswordHash, err)
	}
	if key, err = decodePHCField(fields[5], maxHashKeyLen); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: key: %v", errBadPasswordHash, err)
	}
	p = Params{Memory: m, Time: t, Threads: threads, SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	if err := p.check(); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: %v", errBadPasswordHash, err)
	}
	return p, salt, key, nil
}

// parsePHCParams parses "m=<KiB>,t=<passes>,p=<lanes>", in that order, as the reference
// implementation writes it.
func parsePHCParams(s string) (m, t uint32, p uint8, err error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return 0, 0, 0, errors.New("parameters are not m=,t=,p=")
	}
	var n [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(parts[i], name+"=")
		if !ok {
			return 0, 0, 0, errors.New("parameters are not m=,t=,p=")
		}
		bits := 32
		if name == "p" {
			bits = 8
		}
		if n[i], err = strconv.ParseUint(v, 10, bits); err != nil {
			return 0, 0, 0, fmt.Errorf("parameter %s is not a number below 2^%d", name, bits)
		}
	}
	return uint32(n[0]), uint32(n[1]), uint8(n[2]), nil
}

// decodePHCField decodes a salt or key, refusing one longer than maxLen bytes before decoding.
func decodePHCField(s string, maxLen int) ([]byte, error) {
	if len(s) > phcBase64.EncodedLen(maxLen) {
		return nil, fmt.Errorf("longer than %d bytes", maxLen)
	}
	b, err := phcBase64.DecodeString(s)
	if err != nil {
		return nil, errors.New("not unpadded standard base64")
	}
	return b, nil
}
