package crypto

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestHashAndVerify(t *testing.T) {
	h, err := NewHasher(OWASPParams(), 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	enc, err := h.Hash(ctx, "pässwörd with ünïcode")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash format: %s", enc)
	}
	if ok, rehash, err := h.Verify(ctx, enc, "pässwörd with ünïcode"); !ok || rehash || err != nil {
		t.Errorf("right password: ok=%v rehash=%v err=%v", ok, rehash, err)
	}
	if ok, _, _ := h.Verify(ctx, enc, "pässwörd with ünïcodf"); ok {
		t.Error("wrong password accepted")
	}
	// Never truncated: a long password differs from its prefix.
	long := strings.Repeat("a", 128)
	enc2, _ := h.Hash(ctx, long)
	if ok, _, _ := h.Verify(ctx, enc2, long[:72]); ok {
		t.Error("password truncated")
	}
	if enc == enc2 {
		t.Error("salts repeat")
	}
}

func TestLegacyAndWeakHashesAskForRehash(t *testing.T) {
	h, _ := NewHasher(OWASPParams(), 2)
	ctx := context.Background()
	sum := sha256.Sum256([]byte("old password"))
	legacy := hex.EncodeToString(sum[:])
	if ok, rehash, _ := h.Verify(ctx, legacy, "old password"); !ok || !rehash {
		t.Errorf("legacy hash: ok=%v rehash=%v", ok, rehash)
	}
	if ok, _, _ := h.Verify(ctx, legacy, "wrong"); ok {
		t.Error("legacy hash accepts a wrong password")
	}
	weak, _ := NewHasher(Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}, 1)
	enc, _ := weak.Hash(ctx, "some password")
	if ok, rehash, _ := h.Verify(ctx, enc, "some password"); !ok || !rehash {
		t.Errorf("weaker parameters: ok=%v rehash=%v", ok, rehash)
	}
}

func TestMalformedStoredHashes(t *testing.T) {
	h, _ := NewHasher(OWASPParams(), 1)
	for _, bad := range []string{"", "plain", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5"} {
		if ok, _, err := h.Verify(context.Background(), bad, "x"); ok || err != nil {
			t.Errorf("%q: ok=%v err=%v", bad, ok, err)
		}
	}
}

func TestConcurrencyBound(t *testing.T) {
	h, _ := NewHasher(OWASPParams(), 1)
	h.slots <- struct{}{} // the one slot is taken
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "password1"); !errors.Is(err, ErrHasherBusy) {
		t.Errorf("hash with no free slot: %v, want ErrHasherBusy", err)
	}
	if err := h.VerifyDummy(ctx, "password1"); !errors.Is(err, ErrHasherBusy) {
		t.Errorf("dummy with no free slot: %v", err)
	}
	<-h.slots
	if err := h.VerifyDummy(context.Background(), "password1"); err != nil {
		t.Errorf("dummy: %v", err)
	}
}

func BenchmarkVerify(b *testing.B) {
	h, _ := NewHasher(OWASPParams(), 2)
	enc, _ := h.Hash(context.Background(), "benchmark password")
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = h.Verify(context.Background(), enc, "benchmark password")
	}
}
