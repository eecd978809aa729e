package api

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestPathRoundTrip(t *testing.T) {
	cases := map[string]struct {
		in        string
		unchanged bool
	}{
		"ascii":               {"/home/me/report.txt", true},
		"utf-8":               {"/home/émile/Überblick ✓.odt", true},
		"latin-1":             {"/home/me/caf\xe9.txt", false},
		"newline":             {"/home/me/two\nlines", true},
		"lone continuation":   {"/x/\x80", false},
		"truncated sequence":  {"/x/\xe2\x82", false},
		"private use literal": {"/x/\uf780\uf7ff", false},
		"other private use":   {"/x/\ue000", true},
		"all high bytes":      {string([]byte{0xff, 0xfe, 0x80, 0xc0}), false},
		"empty":               {"", true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			enc := EncodePath(c.in)
			if !utf8.ValidString(enc) {
				t.Fatalf("EncodePath(%q) = %q is not UTF-8", c.in, enc)
			}
			if got := DecodePath(enc); got != c.in {
				t.Fatalf("DecodePath(EncodePath(%q)) = %q", c.in, got)
			}
			if (enc == c.in) != c.unchanged {
				t.Fatalf("EncodePath(%q) = %q: unchanged %v, want %v", c.in, enc, enc == c.in, c.unchanged)
			}
			b, err := json.Marshal(Path(c.in))
			if err != nil {
				t.Fatal(err)
			}
			var back Path
			if err := json.Unmarshal(b, &back); err != nil || string(back) != c.in {
				t.Fatalf("JSON %s came back as %q (%v)", b, back, err)
			}
		})
	}
}

func FuzzPathRoundTrip(f *testing.F) {
	for _, s := range []string{"", "a", "caf\xe9", "\uf780", "\xef\x9e\x80", "x\x00y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := EncodePath(s)
		if !utf8.ValidString(enc) {
			t.Fatalf("not UTF-8: %q", enc)
		}
		if DecodePath(enc) != s {
			t.Fatalf("round trip of %q gave %q", s, DecodePath(enc))
		}
	})
}

// Two different names never share an encoding (EncodePath is one-to-one).
func TestPathEncodingDistinct(t *testing.T) {
	names := []string{"a", "\xe9", "é", "\uf7e9", "\xef\x9f\xa9", "\uf7c3\uf7a9", "\xc3\xa9"}
	seen := map[string]string{}
	for _, n := range names {
		e := EncodePath(n)
		if o, ok := seen[e]; ok && o != n {
			t.Fatalf("%q and %q both encode to %q", o, n, e)
		}
		seen[e] = n
	}
}

// Raw bytes and escapes side by side decode to the bytes: keepsakectl
// takes a name as the shell gives it or as --json printed it.
func TestDecodeKeepsRawBytes(t *testing.T) {
	raw := "/x/caf\xe9 \xff.txt"
	if got := DecodePath(raw); got != raw {
		t.Fatalf("raw bytes changed: %q", got)
	}
	if got := DecodePath("/x/caf\uf7e9 \xff.txt"); got != raw {
		t.Fatalf("mixed form decoded to %q", got)
	}
}
