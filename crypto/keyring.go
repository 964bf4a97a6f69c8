package crypto

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// KeyringConfig says where the keys live and how they are made and retired.
type KeyringConfig struct {
	// Path is the keyring file (JSON, mode 0600). Replicas share keys by
	// sharing this file (a mounted secret).
	Path string
	// RSABits is the size of new payload-decryption keys.
	RSABits int
	// Grace is how long a rotated-out key keeps working.
	Grace time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// storedKey is one key in the keyring file.
type storedKey struct {
	Kid     string    `json:"kid"`
	PEM     string    `json:"pem"`
	Created time.Time `json:"created"`
	Retired time.Time `json:"retired,omitzero"`
}

type keyringFile struct {
	Version    int         `json:"version"`
	Decryption []storedKey `json:"decryption"`
	Signing    []storedKey `json:"signing"`
	// Records are the keys that sign transaction records. They are never
	// rotated out: a record signed years ago must still verify.
	Records []storedKey `json:"records,omitempty"`
	// Archive is the secret that authenticates backup archives (HMAC).
	// It is never rotated: an archive must restore as long as it is kept.
	// Copying it to another deployment lets that one restore this one's
	// archives.
	Archive *archiveKey `json:"archive,omitempty"`
}

// archiveKey is the backup archives' HMAC secret; Kid names it in archives,
// so a restore tells a foreign archive from an altered one.
type archiveKey struct {
	Kid     string    `json:"kid"`
	Secret  string    `json:"secret"`
	Created time.Time `json:"created"`
}

// newArchiveKey makes a fresh 256-bit archive secret.
func newArchiveKey(now time.Time) *archiveKey {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	return &archiveKey{Kid: archiveKid(secret), Secret: base64.RawURLEncoding.EncodeToString(secret), Created: now}
}

// archiveKid names an archive secret without revealing it.
func archiveKid(secret []byte) string {
	sum := sha256.Sum256(append([]byte("gateway archive key\x00"), secret...))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

type rsaKey struct {
	kid string
	// thumbprint is the key's RFC 7638 thumbprint (SHA-256, base64url),
	// the kid that libraries such as node-jose compute for a PEM key
	// themselves; a JWE naming it names this key.
	thumbprint string
	key        *rsa.PrivateKey
}

type edKey struct {
	kid string
	key ed25519.PrivateKey
}

// keySet is one immutable view of the keyring; the current keys come first.
type keySet struct {
	decryption []rsaKey
	signing    []edKey
	records    []edKey
	archive    archiveSecret
	// infos describe every key above, for operators.
	infos   []KeyInfo
	modTime time.Time
}

// KeyInfo describes one key of the keyring without its material: what it
// is for, when it was made, whether it is the current key of its kind and,
// for a rotated-out key, when it stops being accepted.
type KeyInfo struct {
	Kid     string    `json:"kid"`
	Use     string    `json:"use"`
	Current bool      `json:"current"`
	Created time.Time `json:"created_at"`
	// Expires is zero for a key in use without end.
	Expires time.Time `json:"expires_at,omitzero"`
}

// Keys describes the keys in use: payload decryption, token signing and
// record signing, current first within each use.
func (k *Keyring) Keys() []KeyInfo { return slices.Clone(k.snapshot().infos) }

func (k *Keyring) info(use string, i int, sk storedKey) KeyInfo {
	in := KeyInfo{Kid: sk.Kid, Use: use, Current: i == 0, Created: sk.Created.UTC()}
	if i > 0 && !sk.Retired.IsZero() {
		in.Expires = sk.Retired.Add(k.cfg.Grace).UTC()
	}
	return in
}

// Keyring holds the RSA keys that decrypt client payloads and the Ed25519
// keys that sign the gateway's JWTs. The first key of each kind is current;
// the others are rotated-out keys still accepted for their grace period.
// It re-reads its file when the file changes, so a rotation by the CLI
// reaches a running gateway without a restart.
type Keyring struct {
	cfg        KeyringConfig
	mu         sync.RWMutex
	set        *keySet
	generation atomic.Uint64
}

// OpenKeyring loads the keyring file, creating it with fresh keys when it
// does not exist.
func OpenKeyring(cfg KeyringConfig) (*Keyring, error) {
	if cfg.RSABits == 0 {
		cfg.RSABits = 3072
	}
	if cfg.RSABits < 2048 {
		return nil, fmt.Errorf("keyring: RSA keys of %d bits are too small", cfg.RSABits)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	k := &Keyring{cfg: cfg}
	if _, err := os.Stat(cfg.Path); errors.Is(err, os.ErrNotExist) {
		if err := k.write(&keyringFile{Version: 1}, true); err != nil {
			return nil, err
		}
	}
	if f, err := k.readFile(); err == nil && (len(f.Records) == 0 || f.Archive == nil) {
		// A keyring from before record signing or archive keys: add them.
		if err := k.write(f, false); err != nil {
			return nil, err
		}
	}
	if err := k.Reload(); err != nil {
		return nil, err
	}
	return k, nil
}

// Rotate makes new current keys; the previous ones are retired now and kept
// for the grace period, and keys retired longer ago are dropped.
func (k *Keyring) Rotate() error {
	f, err := k.readFile()
	if err != nil {
		return err
	}
	if err := k.write(f, true); err != nil {
		return err
	}
	return k.Reload()
}

// write adds fresh current keys when fresh is set, prunes expired ones and
// writes the file atomically.
func (k *Keyring) write(f *keyringFile, fresh bool) error {
	now := k.cfg.Now().UTC()
	if fresh {
		rk, err := rsa.GenerateKey(rand.Reader, k.cfg.RSABits)
		if err != nil {
			return fmt.Errorf("keyring: RSA key: %w", err)
		}
		_, ek, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return fmt.Errorf("keyring: Ed25519 key: %w", err)
		}
		rsaDER, _ := x509.MarshalPKCS8PrivateKey(rk)
		edDER, _ := x509.MarshalPKCS8PrivateKey(ek)
		f.Decryption = append([]storedKey{{Kid: kidOf(&rk.PublicKey), PEM: pemOf(rsaDER), Created: now}}, retire(f.Decryption, now)...)
		f.Signing = append([]storedKey{{Kid: kidOf(ek.Public()), PEM: pemOf(edDER), Created: now}}, retire(f.Signing, now)...)
	}
	f.Decryption = prune(f.Decryption, now, k.cfg.Grace)
	f.Signing = prune(f.Signing, now, k.cfg.Grace)
	if len(f.Records) == 0 {
		_, rk, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return fmt.Errorf("keyring: Ed25519 key: %w", err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(rk)
		f.Records = []storedKey{{Kid: kidOf(rk.Public()), PEM: pemOf(der), Created: now}}
	}
	if f.Archive == nil {
		f.Archive = newArchiveKey(now)
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(k.cfg.Path), 0o700); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	tmp := k.cfg.Path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	if err := os.Rename(tmp, k.cfg.Path); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	return nil
}

func retire(keys []storedKey, now time.Time) []storedKey {
	out := make([]storedKey, len(keys))
	for i, sk := range keys {
		if sk.Retired.IsZero() {
			sk.Retired = now
		}
		out[i] = sk
	}
	return out
}

func prune(keys []storedKey, now time.Time, grace time.Duration) []storedKey {
	var out []storedKey
	for i, sk := range keys {
		if i == 0 || sk.Retired.IsZero() || now.Sub(sk.Retired) < grace {
			out = append(out, sk)
		}
	}
	return out
}

func (k *Keyring) readFile() (*keyringFile, error) {
	b, err := os.ReadFile(k.cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	var f keyringFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("keyring %s: %w", k.cfg.Path, err)
	}
	if len(f.Decryption) == 0 || len(f.Signing) == 0 {
		return nil, fmt.Errorf("keyring %s holds no keys", k.cfg.Path)
	}
	return &f, nil
}

// Reload reads the keyring file again.
func (k *Keyring) Reload() error {
	st, err := os.Stat(k.cfg.Path)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	f, err := k.readFile()
	if err != nil {
		return err
	}
	set := &keySet{modTime: st.ModTime()}
	now := k.cfg.Now()
	for i, sk := range f.Decryption {
		if i > 0 && !sk.Retired.IsZero() && now.Sub(sk.Retired) >= k.cfg.Grace {
			continue
		}
		key, err := parsePEM(sk.PEM)
		if err != nil {
			return fmt.Errorf("keyring: decryption key %s: %w", sk.Kid, err)
		}
		rk, ok := key.(*rsa.PrivateKey)
		if !ok {
			return fmt.Errorf("keyring: decryption key %s is not RSA", sk.Kid)
		}
		set.decryption = append(set.decryption, rsaKey{kid: sk.Kid, thumbprint: thumbprintOf(&rk.PublicKey), key: rk})
		set.infos = append(set.infos, k.info("payload", i, sk))
	}
	for i, sk := range f.Signing {
		if i > 0 && !sk.Retired.IsZero() && now.Sub(sk.Retired) >= k.cfg.Grace {
			continue
		}
		key, err := parsePEM(sk.PEM)
		if err != nil {
			return fmt.Errorf("keyring: signing key %s: %w", sk.Kid, err)
		}
		ek, ok := key.(ed25519.PrivateKey)
		if !ok {
			return fmt.Errorf("keyring: signing key %s is not Ed25519", sk.Kid)
		}
		set.signing = append(set.signing, edKey{kid: sk.Kid, key: ek})
		set.infos = append(set.infos, k.info("token", i, sk))
	}
	for i, sk := range f.Records {
		key, err := parsePEM(sk.PEM)
		if err != nil {
			return fmt.Errorf("keyring: record key %s: %w", sk.Kid, err)
		}
		ek, ok := key.(ed25519.PrivateKey)
		if !ok {
			return fmt.Errorf("keyring: record key %s is not Ed25519", sk.Kid)
		}
		set.records = append(set.records, edKey{kid: sk.Kid, key: ek})
		set.infos = append(set.infos, k.info("record", i, sk))
	}
	if len(set.records) == 0 {
		return fmt.Errorf("keyring %s holds no record key", k.cfg.Path)
	}
	if f.Archive == nil {
		return fmt.Errorf("keyring %s holds no archive key", k.cfg.Path)
	}
	secret, err := base64.RawURLEncoding.DecodeString(f.Archive.Secret)
	if err != nil || len(secret) < 32 || archiveKid(secret) != f.Archive.Kid {
		return fmt.Errorf("keyring %s: the archive key is not 32 bytes of base64url matching its kid", k.cfg.Path)
	}
	set.archive = archiveSecret{kid: f.Archive.Kid, secret: secret}
	set.infos = append(set.infos, KeyInfo{Kid: f.Archive.Kid, Use: "archive", Current: true, Created: f.Archive.Created.UTC()})
	k.mu.Lock()
	k.set = set
	k.mu.Unlock()
	k.generation.Add(1)
	return nil
}

// archiveSecret is the secret that authenticates backup archives, and its
// id.
type archiveSecret struct {
	kid    string
	secret []byte
}

// ArchiveKey returns the id and the secret of the key that authenticates
// backup archives.
func (k *Keyring) ArchiveKey() (kid string, secret []byte) {
	a := k.snapshot().archive
	return a.kid, a.secret
}

// Generation changes whenever the keys are reloaded, so caches of what the
// keys verified can tell that they must start over.
func (k *Keyring) Generation() uint64 { return k.generation.Load() }

// ReloadIfChanged re-reads the file when its modification time changed,
// and drops keys whose grace period ended.
func (k *Keyring) ReloadIfChanged() error {
	st, err := os.Stat(k.cfg.Path)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	k.mu.RLock()
	same := st.ModTime().Equal(k.set.modTime)
	k.mu.RUnlock()
	if same {
		return nil
	}
	return k.Reload()
}

func (k *Keyring) snapshot() *keySet {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.set
}

func parsePEM(s string) (any, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PKCS#8 PEM block")
	}
	return x509.ParsePKCS8PrivateKey(block.Bytes)
}

func pemOf(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// kidOf names a key by a digest of its public key, so the same key has the
// same kid on every replica.
// thumbprintOf is an RSA public key's RFC 7638 thumbprint: the SHA-256 of
// its required members in lexical order, base64url without padding.
func thumbprintOf(pub *rsa.PublicKey) string {
	e := big.NewInt(int64(pub.E)).Bytes()
	canonical := `{"e":"` + base64.RawURLEncoding.EncodeToString(e) + `","kty":"RSA","n":"` + base64.RawURLEncoding.EncodeToString(pub.N.Bytes()) + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func kidOf(pub any) string {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// PublicKeyInfo is what GET /api/gpk returns: the current payload key.
type PublicKeyInfo struct {
	PublicKey string          `json:"publicKey"`
	Kid       string          `json:"kid"`
	Alg       string          `json:"alg"`
	Enc       string          `json:"enc"`
	JWK       jose.JSONWebKey `json:"jwk"`
}

// PayloadPublicKey returns the current payload-encryption public key.
func (k *Keyring) PayloadPublicKey() PublicKeyInfo {
	cur := k.snapshot().decryption[0]
	der, _ := x509.MarshalPKIXPublicKey(&cur.key.PublicKey)
	return PublicKeyInfo{
		PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		Kid:       cur.kid,
		Alg:       string(jose.RSA_OAEP_256),
		Enc:       string(jose.A256GCM),
		JWK:       jose.JSONWebKey{Key: &cur.key.PublicKey, KeyID: cur.kid, Algorithm: string(jose.RSA_OAEP_256), Use: "enc"},
	}
}

// JWKS returns the public keys that verify the gateway's JWTs.
func (k *Keyring) JWKS() jose.JSONWebKeySet { return publicSet(k.snapshot().signing) }

// RecordKeys returns the public keys that verify transaction record
// signatures, current first. They are never rotated out, so a client can
// check any record it ever got without asking the gateway.
func (k *Keyring) RecordKeys() jose.JSONWebKeySet { return publicSet(k.snapshot().records) }

// publicSet is the JWK set of the public halves of Ed25519 keys.
func publicSet(keys []edKey) jose.JSONWebKeySet {
	var set jose.JSONWebKeySet
	for _, ek := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: ek.key.Public(), KeyID: ek.kid, Algorithm: "EdDSA", Use: "sig"})
	}
	return set
}

func (k *Keyring) signer() edKey { return k.snapshot().signing[0] }

func (k *Keyring) verificationKey(kid string) (ed25519.PublicKey, bool) {
	for _, ek := range k.snapshot().signing {
		if ek.kid == kid {
			return ek.key.Public().(ed25519.PublicKey), true
		}
	}
	return nil, false
}

func (k *Keyring) decryptionKeys() []rsaKey { return k.snapshot().decryption }
