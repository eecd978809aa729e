package keywrap_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/service/keywrap"
	"github.com/keepsake/keepsake/shared/kerr"
)

// cheap keeps the tests fast; DefaultParams are measured separately.
var cheap = keywrap.Params{Time: 1, MemoryKiB: 64, Threads: 1}

func wrapped(t *testing.T, pass string) ([]byte, keywrap.Keys, keywrap.RecoveryKey) {
	t.Helper()
	master, err := keywrap.NewMasterKey()
	if err != nil || len(master) != keywrap.MasterKeySize {
		t.Fatalf("master key %d bytes, %v", len(master), err)
	}
	k, rk, err := keywrap.Wrap(master, []byte(pass), cheap)
	if err != nil {
		t.Fatal(err)
	}
	return master, k, rk
}

// storedRoundTrip is what the marker does to keys: JSON out and back.
func storedRoundTrip(t *testing.T, k keywrap.Keys) keywrap.Keys {
	t.Helper()
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	var back keywrap.Keys
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return back
}

func TestUnwrap(t *testing.T) {
	master, k, rk := wrapped(t, "correct horse battery staple")
	k = storedRoundTrip(t, k)
	_, _, otherRK := wrapped(t, "x")
	tampered := storedRoundTrip(t, k)
	tampered.Passphrase.Ciphertext[0] ^= 1
	swapped := storedRoundTrip(t, k)
	swapped.Passphrase, swapped.Recovery = swapped.Recovery, swapped.Passphrase
	badParams := storedRoundTrip(t, k)
	badParams.KDF.Time = 0
	hugeParams := storedRoundTrip(t, k)
	hugeParams.KDF.MemoryKiB = 1 << 30
	future := storedRoundTrip(t, k)
	future.Version = 2

	tests := []struct {
		name  string
		keys  keywrap.Keys
		pass  string
		rk    *keywrap.RecoveryKey
		named kerr.Name
	}{
		{"passphrase", k, "correct horse battery staple", nil, ""},
		{"recovery key", k, "", &rk, ""},
		{"wrong passphrase", k, "correct horse battery stapler", nil, kerr.WrongPassphrase},
		{"empty passphrase", k, "", nil, kerr.WrongPassphrase},
		{"another drive's recovery key", k, "", &otherRK, kerr.WrongRecoveryKey},
		{"tampered wrapping", tampered, "correct horse battery staple", nil, kerr.WrongPassphrase},
		{"wrappings swapped", swapped, "correct horse battery staple", nil, kerr.WrongPassphrase},
		{"KDF time zero", badParams, "correct horse battery staple", nil, kerr.Damaged},
		{"KDF memory of a terabyte", hugeParams, "correct horse battery staple", nil, kerr.Damaged},
		{"a later format", future, "correct horse battery staple", nil, kerr.Damaged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			var err error
			if tt.rk != nil {
				got, err = tt.keys.UnwrapRecovery(*tt.rk)
			} else {
				got, err = tt.keys.UnwrapPassphrase([]byte(tt.pass))
			}
			if tt.named == "" {
				if err != nil || !bytes.Equal(got, master) {
					t.Fatalf("unwrap: %v (key equal: %v)", err, bytes.Equal(got, master))
				}
				return
			}
			if kerr.NameOf(err) != tt.named || got != nil {
				t.Fatalf("got %v (%s), want %s and no key", err, kerr.NameOf(err), tt.named)
			}
		})
	}
}

// Changing the passphrase rewraps the same master key: the old one stops
// working, the new one and the recovery key give the same key.
func TestSetPassphrase(t *testing.T) {
	master, k, rk := wrapped(t, "old passphrase")
	oldSalt := append([]byte(nil), k.KDF.Salt...)
	got, err := k.UnwrapPassphrase([]byte("old passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	if err := k.SetPassphrase(got, []byte("new passphrase"), cheap); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(k.KDF.Salt, oldSalt) {
		t.Error("the salt stayed the same across a passphrase change")
	}
	if _, err := k.UnwrapPassphrase([]byte("old passphrase")); !kerr.Is(err, kerr.WrongPassphrase) {
		t.Errorf("old passphrase after the change: %v, want WrongPassphrase", err)
	}
	for what, unwrap := range map[string]func() ([]byte, error){
		"new passphrase": func() ([]byte, error) { return k.UnwrapPassphrase([]byte("new passphrase")) },
		"recovery key":   func() ([]byte, error) { return k.UnwrapRecovery(rk) },
	} {
		if got, err := unwrap(); err != nil || !bytes.Equal(got, master) {
			t.Errorf("%s after the change: %v", what, err)
		}
	}
	if err := k.SetPassphrase(master, nil, cheap); !kerr.Is(err, kerr.InvalidArgs) {
		t.Errorf("empty new passphrase: %v, want InvalidArgs", err)
	}
	if err := k.SetPassphrase(master, []byte("x"), keywrap.Params{}); !kerr.Is(err, kerr.InvalidArgs) {
		t.Errorf("zero parameters: %v, want InvalidArgs", err)
	}
}

func TestRecoveryKeyText(t *testing.T) {
	_, _, rk := wrapped(t, "p")
	s := rk.String()
	groups := strings.Split(s, "-")
	if len(groups) != 7 {
		t.Fatalf("recovery key %q: %d groups, want 7", s, len(groups))
	}
	for _, g := range groups {
		if len(g) != 8 || strings.Trim(g, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
			t.Fatalf("recovery key %q: group %q", s, g)
		}
	}
	typo := []byte(s)
	if typo[3] == 'A' {
		typo[3] = 'B'
	} else {
		typo[3] = 'A'
	}
	swap := []byte(s)
	for i := 0; i+1 < len(swap); i++ {
		if swap[i] != swap[i+1] && swap[i] != '-' && swap[i+1] != '-' {
			swap[i], swap[i+1] = swap[i+1], swap[i]
			break
		}
	}
	asTyped := strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(s, "-", " "), "O", "0"))
	asTyped = strings.ReplaceAll(asTyped, "i", "1")

	tests := []struct {
		name  string
		in    string
		named kerr.Name
	}{
		{"as printed", s, ""},
		{"lower case, spaces, 0 for O and 1 for I", asTyped, ""},
		{"no separators, surrounding blanks", "  " + strings.ReplaceAll(s, "-", "") + "\n", ""},
		{"one letter wrong", string(typo), kerr.MistypedRecoveryKey},
		{"two letters swapped", string(swap), kerr.MistypedRecoveryKey},
		{"a group missing", strings.Join(groups[1:], "-"), kerr.MistypedRecoveryKey},
		{"a letter outside base32", "9" + s[1:], kerr.MistypedRecoveryKey},
		{"empty", "", kerr.MistypedRecoveryKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := keywrap.ParseRecoveryKey(tt.in)
			if tt.named == "" {
				if err != nil || got != rk {
					t.Fatalf("ParseRecoveryKey(%q): %v", tt.in, err)
				}
				return
			}
			if kerr.NameOf(err) != tt.named {
				t.Fatalf("ParseRecoveryKey(%q): %v (%s), want %s", tt.in, err, kerr.NameOf(err), tt.named)
			}
		})
	}
}

func TestWrapRefusesBadMasterKey(t *testing.T) {
	if _, _, err := keywrap.Wrap(make([]byte, 32), []byte("p"), cheap); err == nil {
		t.Fatal("a 32-byte master key was wrapped")
	}
}

// The default parameters cost what the package says: logged for the
// record, and bounded loosely (the machine may be busy).
func TestDefaultParamsCost(t *testing.T) {
	if testing.Short() {
		realfs.Unavailable(t, "-short: this test measures Argon2id with the default parameters")
	}
	master, _ := keywrap.NewMasterKey()
	start := time.Now()
	k, _, err := keywrap.Wrap(master, []byte("passphrase"), keywrap.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	wrap := time.Since(start)
	start = time.Now()
	if _, err := k.UnwrapPassphrase([]byte("passphrase")); err != nil {
		t.Fatal(err)
	}
	unwrap := time.Since(start)
	t.Logf("Argon2id t=%d m=%d KiB p=%d: wrap %v, unwrap %v", k.KDF.Time, k.KDF.MemoryKiB, k.KDF.Threads, wrap, unwrap)
	if unwrap < 20*time.Millisecond || unwrap > 30*time.Second {
		t.Errorf("unwrapping took %v: the parameters are not what they should be", unwrap)
	}
}

func BenchmarkUnwrapDefault(b *testing.B) {
	master, _ := keywrap.NewMasterKey()
	k, _, err := keywrap.Wrap(master, []byte("passphrase"), keywrap.DefaultParams)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		k.UnwrapPassphrase([]byte("passphrase"))
	}
}
