package crypto

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// ErrHasherBusy means every hashing slot stayed taken until the caller's
// deadline: the gateway is under a login flood and sheds the request.
var ErrHasherBusy = errors.New("password hasher busy")

// Argon2Params are argon2id's cost parameters.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// OWASPParams are the OWASP Password Storage Cheat Sheet's argon2id minimum:
// 19 MiB of memory, two passes, one lane.
func OWASPParams() Argon2Params { return Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1} }

const (
	saltLen = 16
	keyLen  = 32
)

// Hasher hashes and verifies passwords with argon2id. At most `slots`
// hashes run at once, so a flood of logins costs bounded memory
// (slots × MemoryKiB) instead of exhausting it.
type Hasher struct {
	params  Argon2Params
	slots   chan struct{}
	dummy   string
	maxWait time.Duration
}

// NewHasher returns a hasher allowing `concurrency` hashes at a time.
func NewHasher(params Argon2Params, concurrency int) (*Hasher, error) {
	if concurrency < 1 {
		concurrency = 1
	}
	h := &Hasher{params: params, slots: make(chan struct{}, concurrency), maxWait: 2 * time.Second}
	dummy, err := h.Hash(context.Background(), "dummy password for unknown users")
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

// acquire waits for a hashing slot, at most maxWait: under a flood it is
// better to shed a login at once than to queue it for the whole deadline.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(h.maxWait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ErrHasherBusy
	case <-t.C:
		return ErrHasherBusy
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the PHC-format argon2id hash of password with a fresh salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	p := h.params
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify checks password against a stored hash: argon2id in PHC form, or a
// legacy hex SHA-256 digest imported from older deployments. rehash is true
// when the password matched a hash that should be replaced (legacy, or
// weaker parameters than the current ones).
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (ok, rehash bool, err error) {
	if isLegacySHA256(encoded) {
		sum := sha256.Sum256([]byte(password))
		want, _ := hex.DecodeString(strings.ToLower(encoded))
		ok := subtle.ConstantTimeCompare(sum[:], want) == 1
		// Spend the same time as a real verification so that legacy
		// accounts cannot be told apart by timing.
		if _, err := h.verifyArgon(ctx, h.dummy, password); err != nil {
			return false, false, err
		}
		return ok, ok, nil
	}
	p, err := h.verifyArgon(ctx, encoded, password)
	if err != nil || p == nil {
		return false, false, err
	}
	return true, *p != h.params, nil
}

// VerifyDummy spends the time of one verification and always fails; it runs
// when the user is unknown so that timing does not reveal it.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, err := h.verifyArgon(ctx, h.dummy, password)
	return err
}

// verifyArgon returns the hash's parameters when password matches, nil when
// it does not (or the hash is malformed), and an error only when busy.
func (h *Hasher) verifyArgon(ctx context.Context, encoded, password string) (*Argon2Params, error) {
	p, salt, want, ok := parsePHC(encoded)
	if !ok {
		return nil, nil
	}
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want))) //nolint:gosec // parsePHC bounds len(want) to 16..64
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return nil, nil
	}
	return &p, nil
}

func parsePHC(encoded string) (Argon2Params, []byte, []byte, bool) {
	var p Argon2Params
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, false
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &threads); err != nil {
		return p, nil, nil, false
	}
	// Bounds keep a tampered stored hash from costing unbounded work.
	if p.MemoryKiB < 8 || p.MemoryKiB > 1<<20 || p.Time < 1 || p.Time > 16 || threads < 1 || threads > 16 {
		return p, nil, nil, false
	}
	p.Threads = uint8(threads)
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, false
	}
	return p, salt, key, true
}

func isLegacySHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
