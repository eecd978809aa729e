package exclude

import (
	"slices"
	"testing"
)

func TestRsyncPatterns(t *testing.T) {
	cases := map[string]struct {
		in, want []string
	}{
		"base names":            {[]string{"*.tmp", "node_modules/", ".Trash-*/"}, []string{"*.tmp", "node_modules/", ".Trash-*/"}},
		"anchored":              {[]string{"/proc/", "/home/*/Downloads/"}, []string{"/proc/", "/home/*/Downloads/"}},
		"homes":                 {[]string{"~/.cache/", "~/.local/share/Trash/"}, []string{"/root/.cache/", "/home/*/.cache/", "/root/.local/share/Trash/", "/home/*/.local/share/Trash/"}},
		"a slash inside":        {[]string{"build/out"}, []string{"build/out"}},
		"comments and blanks":   {[]string{"# note", "", "   ", "*.o  "}, []string{"*.o"}},
		"left to the backup":    {[]string{"**/x", "a/**", `\#x`, "[ab].txt", "~", "~/", "/", "a/../b", "./a", "- x", "+ y"}, nil},
		"a negation anywhere":   {[]string{"*.log", "!keep.log"}, nil},
		"the defaults all pass": {DefaultPatterns(), nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := RsyncPatterns(c.in)
			if name == "the defaults all pass" {
				// Every default has a translation: a pull leaves caches,
				// trash and /proc on the other side.
				if len(got) < len(DefaultPatterns()) {
					t.Fatalf("%q from %q", got, c.in)
				}
				return
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("RsyncPatterns(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}
