package keywrap

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/crypto/argon2"
)

// MasterKeySize is the size of a master key: 64 bytes, what the kernel
// takes for a v2 fscrypt policy.
const MasterKeySize = 64

// Version is the format of Keys this code writes and reads.
const Version = 1

// Names written into Keys, so that a later format can tell.
const (
	Argon2id  = "argon2id"
	AES256GCM = "aes-256-gcm"
)

// Params are Argon2id's cost parameters.
type Params struct {
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
}

// DefaultParams are RFC 9106's second recommended choice (t=3, 64 MiB,
// 4 lanes): about 0.5 s on a two-core machine, and 64 MiB for every guess
// an attacker makes. They are stored with each drive, so they can grow
// later without breaking older drives.
var DefaultParams = Params{Time: 3, MemoryKiB: 64 << 10, Threads: 4}

// Limits on stored parameters: a damaged or hostile marker must not make
// unlocking take hours or all the memory there is.
const (
	maxTime      = 64
	maxMemoryKiB = 4 << 20 // 4 GiB
)

const saltSize = 16

// KDF is how the passphrase's wrapping key is derived.
type KDF struct {
	Algorithm string `json:"algorithm"`
	Params
	Salt []byte `json:"salt"`
}

// Sealed is a master key wrapped with AES-256-GCM.
type Sealed struct {
	Nonce      []byte `json:"nonce"`
	Ciphertext []byte `json:"ciphertext"`
}

// Keys is what a drive stores in the clear to be unlocked: the master key
// wrapped twice.
type Keys struct {
	Version    int    `json:"version"`
	Cipher     string `json:"cipher"`
	KDF        KDF    `json:"kdf"`
	Passphrase Sealed `json:"passphrase"`
	Recovery   Sealed `json:"recovery"`
}

// Additional data of each wrapping: a key sealed for one purpose does not
// open as the other.
const (
	adPassphrase   = "keepsake keywrap v1: passphrase"
	adRecovery     = "keepsake keywrap v1: recovery key"
	recoveryInfo   = "keepsake recovery key v1"
	recoveryCheckD = "keepsake recovery key checksum v1"
)

// NewMasterKey returns MasterKeySize random bytes.
func NewMasterKey() ([]byte, error) {
	k := make([]byte, MasterKeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("make a master key: %w", err)
	}
	return k, nil
}

// Wrap wraps master under passphrase (Argon2id with p and a new salt) and
// under a new recovery key, which it returns to be shown once.
func Wrap(master, passphrase []byte, p Params) (Keys, RecoveryKey, error) {
	if len(master) != MasterKeySize {
		return Keys{}, RecoveryKey{}, fmt.Errorf("wrap: master key of %d bytes, want %d", len(master), MasterKeySize)
	}
	var rk RecoveryKey
	if _, err := rand.Read(rk[:]); err != nil {
		return Keys{}, rk, fmt.Errorf("make a recovery key: %w", err)
	}
	k := Keys{Version: Version, Cipher: AES256GCM}
	if err := k.SetPassphrase(master, passphrase, p); err != nil {
		return Keys{}, rk, err
	}
	kek, err := rk.wrappingKey()
	if err != nil {
		return Keys{}, rk, err
	}
	if k.Recovery, err = seal(kek, master, adRecovery); err != nil {
		return Keys{}, rk, err
	}
	return k, rk, nil
}

// SetPassphrase wraps master under a new passphrase, with a new salt;
// the recovery key's wrapping stays. The caller unwrapped master first
// (with the old passphrase or the recovery key).
func (k *Keys) SetPassphrase(master, passphrase []byte, p Params) error {
	if len(passphrase) == 0 {
		return kerr.New(kerr.InvalidArgs, "the passphrase is empty")
	}
	if err := p.check(); err != nil {
		return err
	}
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return fmt.Errorf("make a salt: %w", err)
	}
	kdf := KDF{Algorithm: Argon2id, Params: p, Salt: salt}
	sealed, err := seal(kdf.derive(passphrase), master, adPassphrase)
	if err != nil {
		return err
	}
	k.KDF, k.Passphrase = kdf, sealed
	return nil
}

// UnwrapPassphrase returns the master key; WrongPassphrase when the
// passphrase is not this drive's.
func (k Keys) UnwrapPassphrase(passphrase []byte) ([]byte, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	if k.KDF.Algorithm != Argon2id {
		return nil, kerr.New(kerr.Damaged, "unknown key derivation %q: update Keepsake", k.KDF.Algorithm)
	}
	if err := k.KDF.Params.check(); err != nil {
		return nil, kerr.Wrap(kerr.Damaged, err, "stored key derivation parameters")
	}
	master, ok := open(k.KDF.derive(passphrase), k.Passphrase, adPassphrase)
	if !ok {
		return nil, kerr.New(kerr.WrongPassphrase, "the passphrase does not unlock this drive")
	}
	return master, nil
}

// UnwrapRecovery returns the master key; WrongRecoveryKey when rk is
// another drive's.
func (k Keys) UnwrapRecovery(rk RecoveryKey) ([]byte, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	kek, err := rk.wrappingKey()
	if err != nil {
		return nil, err
	}
	master, ok := open(kek, k.Recovery, adRecovery)
	if !ok {
		return nil, kerr.New(kerr.WrongRecoveryKey, "the recovery key is not this drive's (it is well formed, so it is likely another drive's)")
	}
	return master, nil
}

func (k Keys) check() error {
	if k.Version != Version || k.Cipher != AES256GCM {
		return kerr.New(kerr.Damaged, "stored keys of version %d (%s): this Keepsake reads version %d (%s): update Keepsake",
			k.Version, k.Cipher, Version, AES256GCM)
	}
	return nil
}

func (p Params) check() error {
	if p.Time < 1 || p.Time > maxTime || p.MemoryKiB < 8*uint32(max(p.Threads, 1)) || p.MemoryKiB > maxMemoryKiB || p.Threads < 1 {
		return kerr.New(kerr.InvalidArgs, "Argon2id parameters out of range: time %d (1..%d), memory %d KiB (8×threads..%d), threads %d (1..)",
			p.Time, maxTime, p.MemoryKiB, maxMemoryKiB, p.Threads)
	}
	return nil
}

func (k KDF) derive(passphrase []byte) []byte {
	return argon2.IDKey(passphrase, k.Salt, k.Time, k.MemoryKiB, k.Threads, 32)
}

func seal(kek, plain []byte, ad string) (Sealed, error) {
	aead, err := gcm(kek)
	if err != nil {
		return Sealed{}, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return Sealed{}, fmt.Errorf("make a nonce: %w", err)
	}
	return Sealed{Nonce: nonce, Ciphertext: aead.Seal(nil, nonce, plain, []byte(ad))}, nil
}

func open(kek []byte, s Sealed, ad string) ([]byte, bool) {
	aead, err := gcm(kek)
	if err != nil || len(s.Nonce) != aead.NonceSize() {
		return nil, false
	}
	plain, err := aead.Open(nil, s.Nonce, s.Ciphertext, []byte(ad))
	if err != nil || len(plain) != MasterKeySize {
		return nil, false
	}
	return plain, true
}

func gcm(kek []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("wrapping key: %w", err)
	}
	return cipher.NewGCM(block)
}

// RecoveryKey is 256 random bits that unwrap the master key when the
// passphrase is forgotten.
type RecoveryKey [32]byte

// checksumSize bytes of SHA-256 follow the key in its written form: a
// typo passes unnoticed once in 16 million.
const checksumSize = 3

// groupSize letters make a group of the written form: 32+3 bytes are 56
// base32 letters, 7 groups of 8.
const groupSize = 8

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// String is the form a person copies down: 7 groups of 8 letters and
// digits (A-Z, 2-7), the last ones a checksum.
func (rk RecoveryKey) String() string {
	sum := rk.checksum()
	s := b32.EncodeToString(append(rk[:], sum[:]...))
	var groups []string
	for len(s) > 0 {
		n := min(groupSize, len(s))
		groups = append(groups, s[:n])
		s = s[n:]
	}
	return strings.Join(groups, "-")
}

func (rk RecoveryKey) checksum() [checksumSize]byte {
	h := sha256.Sum256(append([]byte(recoveryCheckD), rk[:]...))
	var c [checksumSize]byte
	copy(c[:], h[:])
	return c
}

func (rk RecoveryKey) wrappingKey() ([]byte, error) {
	k, err := hkdf.Key(sha256.New, rk[:], nil, recoveryInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("derive the recovery wrapping key: %w", err)
	}
	return k, nil
}

// ParseRecoveryKey reads a recovery key as a person types it: any case,
// with or without dashes and spaces, 0 for O and 1 for I (letters base32
// lacks). Anything that is not a recovery key, a typo included, is
// MistypedRecoveryKey.
func ParseRecoveryKey(s string) (RecoveryKey, error) {
	var rk RecoveryKey
	clean := strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t' || r == '\n' || r == '\r':
			return -1
		case r == '0':
			return 'O'
		case r == '1':
			return 'I'
		case r == '8':
			return 'B'
		}
		return r
	}, strings.ToUpper(s))
	want := b32.EncodedLen(len(rk) + checksumSize)
	if len(clean) != want {
		return rk, kerr.New(kerr.MistypedRecoveryKey, "a recovery key has %d letters and digits (7 groups of 8); this has %d", want, len(clean))
	}
	b, err := b32.DecodeString(clean)
	if err != nil {
		return rk, kerr.Wrap(kerr.MistypedRecoveryKey, err, "the recovery key holds a character that is not A-Z or 2-7")
	}
	copy(rk[:], b)
	sum := rk.checksum()
	if string(sum[:]) != string(b[len(rk):]) {
		return RecoveryKey{}, kerr.New(kerr.MistypedRecoveryKey, "the recovery key has a typo (its checksum does not match): compare each group with the one written down")
	}
	return rk, nil
}
