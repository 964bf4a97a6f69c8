package crypto

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSealOpensOnlyForItsPurposeAndRecord(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	k := MustOpenKeyring(t, c)
	secret := []byte("JBSWY3DPEHPK3PXP")
	sealed, err := k.Seal("totp", secret, []byte("user-1"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, string(secret)) {
		t.Fatal("the sealed value shows the secret")
	}
	again, _ := k.Seal("totp", secret, []byte("user-1"))
	if again == sealed {
		t.Fatal("two seals of one secret are equal: the nonce is not fresh")
	}
	got, err := k.Open("totp", sealed, []byte("user-1"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// A rotation of the payload and signing keys leaves sealed values
	// readable, and so does the keyring read again from its file.
	if err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	k2, err := OpenKeyring(k.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k2.Open("totp", sealed, []byte("user-1")); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("after rotation and reopening: %q, %v", got, err)
	}
	flipped := []byte(sealed)
	flipped[len(flipped)-3] ^= 1
	other := MustOpenKeyring(t, c)
	for name, open := range map[string]func() ([]byte, error){
		"another record":  func() ([]byte, error) { return k.Open("totp", sealed, []byte("user-2")) },
		"another purpose": func() ([]byte, error) { return k.Open("recovery", sealed, []byte("user-1")) },
		"altered":         func() ([]byte, error) { return k.Open("totp", string(flipped), []byte("user-1")) },
		"another keyring": func() ([]byte, error) { return other.Open("totp", sealed, []byte("user-1")) },
		"not sealed":      func() ([]byte, error) { return k.Open("totp", "JBSWY3DPEHPK3PXP", []byte("user-1")) },
		"truncated":       func() ([]byte, error) { return k.Open("totp", sealed[:10], []byte("user-1")) },
	} {
		if _, err := open(); !errors.Is(err, ErrSealed) {
			t.Errorf("%s: err = %v, want ErrSealed", name, err)
		}
	}
}
