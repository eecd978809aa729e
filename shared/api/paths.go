package api

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Path is a file name or path as Linux has it: any bytes but NUL. In Go it
// holds the raw bytes; on the bus and in JSON it is written with
// EncodePath.
type Path string

// The escape of bytes that are not UTF-8: byte b (0x80-0xFF) is written as
// the private-use character U+F700+b (U+F780-U+F7FF), as MirBSD's OPTU-8
// does. A name that holds one of those characters itself has its bytes
// escaped the same way, so EncodePath is one-to-one and DecodePath undoes
// it exactly; every other valid UTF-8 name (all but names using these 128
// private-use characters) crosses unchanged, so busctl and gdbus users type
// names as they see them.
const (
	escapeFirst = 0xF780
	escapeLast  = 0xF7FF
)

func isEscape(r rune) bool { return r >= escapeFirst && r <= escapeLast }

// EncodePath turns any byte string into valid UTF-8 that DecodePath turns
// back into the same bytes.
func EncodePath(p string) string {
	if utf8.ValidString(p) && !strings.ContainsFunc(p, isEscape) {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRuneInString(p[i:])
		if r == utf8.RuneError && n <= 1 || isEscape(r) {
			for _, c := range []byte(p[i : i+max(n, 1)]) {
				b.WriteRune(rune(escapeFirst - 0x80 + int(c)))
			}
			i += max(n, 1)
			continue
		}
		b.WriteString(p[i : i+n])
		i += n
	}
	return b.String()
}

// DecodePath is the inverse of EncodePath: every U+F780-U+F7FF character
// becomes the byte it stands for; everything else, raw bytes included, is
// kept.
func DecodePath(s string) string {
	if !strings.ContainsFunc(s, isEscape) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if isEscape(r) {
			b.WriteByte(byte(r - escapeFirst + 0x80))
		} else {
			// Raw bytes that are not UTF-8 stay as they are, so that a
			// name typed in a shell and its escaped form both work.
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// EncodePaths encodes each path.
func EncodePaths(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = EncodePath(p)
	}
	return out
}

// DecodePaths decodes each path.
func DecodePaths(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = DecodePath(p)
	}
	return out
}

// MarshalJSON writes the encoded form: JSON strings are UTF-8 too.
func (p Path) MarshalJSON() ([]byte, error) { return json.Marshal(EncodePath(string(p))) }

// UnmarshalJSON reads the encoded form.
func (p *Path) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*p = Path(DecodePath(s))
	return nil
}
