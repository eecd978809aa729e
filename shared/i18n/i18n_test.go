package i18n

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The catalogs here are tiny ones written for the test and compiled with
// the real msgfmt; the lookups are the C library's own.
const polish = `msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);\n"

msgid "Back Up Now"
msgstr "Utwórz kopię teraz"

msgid "%d file"
msgid_plural "%d files"
msgstr[0] "%d plik"
msgstr[1] "%d pliki"
msgstr[2] "%d plików"

msgctxt "navigation"
msgid "Back"
msgstr "Wstecz"
`

func TestTranslatesWithTheLanguagesPluralForms(t *testing.T) {
	if _, err := exec.LookPath("msgfmt"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("msgfmt is missing (build-aux/deps.sh installs gettext)")
		}
		t.Skip("msgfmt is missing: install gettext")
	}
	dir := t.TempDir()
	po := filepath.Join(dir, "pl.po")
	if err := os.WriteFile(po, []byte(polish), 0o644); err != nil {
		t.Fatal(err)
	}
	mo := filepath.Join(dir, "pl", "LC_MESSAGES", Domain+".mo")
	if err := os.MkdirAll(filepath.Dir(mo), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("msgfmt", "--check", "-o", mo, po).CombinedOutput(); err != nil {
		t.Fatalf("msgfmt: %v\n%s", err, out)
	}

	// Before Init: English, with English's plural rule.
	if got := N("%d file", "%d files", 1); got != "%d file" {
		t.Errorf("before Init, N(1) = %q", got)
	}
	if got := T("Back Up Now"); got != "Back Up Now" {
		t.Errorf("before Init, T = %q", got)
	}

	// C.UTF-8 is in every glibc; LANGUAGE picks the catalog (it is read
	// whenever the locale is not plain "C").
	t.Setenv("LC_ALL", "C.UTF-8")
	t.Setenv("LANGUAGE", "pl")
	t.Setenv("KEEPSAKE_LOCALEDIR", dir)
	Init()
	t.Cleanup(func() { os.Unsetenv("LANGUAGE"); Init() })

	if got := T("Back Up Now"); got != "Utwórz kopię teraz" {
		t.Errorf("T = %q", got)
	}
	if got := T("Not in the catalog"); got != "Not in the catalog" {
		t.Errorf("an untranslated text = %q, want it unchanged", got)
	}
	for _, c := range []struct {
		n    int
		want string
	}{
		{1, "%d plik"}, {2, "%d pliki"}, {4, "%d pliki"}, {5, "%d plików"},
		{12, "%d plików"}, {22, "%d pliki"}, {25, "%d plików"}, {0, "%d plików"},
		{-1, "%d pliki"}, // a negative count reads as 2: never "one"
	} {
		if got := N("%d file", "%d files", c.n); got != c.want {
			t.Errorf("N(%d) = %q, want %q", c.n, got, c.want)
		}
	}
	if got := P("navigation", "Back"); got != "Wstecz" {
		t.Errorf("P(navigation, Back) = %q", got)
	}
	if got := P("other", "Back"); got != "Back" {
		t.Errorf("P with an unknown context = %q, want the text itself", got)
	}
}

func TestNumberUsesTheLocalesDigitGrouping(t *testing.T) {
	have, _ := exec.Command("locale", "-a").Output()
	for _, c := range []struct {
		locale string
		n      int64
		want   string
	}{
		{"en_US.utf8", 20013, "20,013"},
		{"en_US.utf8", 999, "999"},
		{"en_US.utf8", -1234567, "-1,234,567"},
		{"de_DE.utf8", 20013, "20.013"},
		{"pl_PL.utf8", 1234567, "1\u202f234\u202f567"}, // glibc's Polish groups with a narrow no-break space
		{"C.utf8", 20013, "20,013"},                    // no grouping of its own: English's
		{"C.utf8", 100, "100"},
		{"C.utf8", -1234567, "-1,234,567"},
	} {
		t.Run(c.locale+"/"+c.want, func(t *testing.T) {
			if !containsLine(string(have), c.locale) {
				if os.Getenv("CI") == "true" {
					t.Fatalf("locale %s is missing (build-aux/deps.sh makes it)", c.locale)
				}
				t.Skipf("locale %s is missing: as root, localedef -i %s -f UTF-8 %s", c.locale, c.locale[:5], c.locale)
			}
			t.Setenv("LC_ALL", c.locale)
			Init()
			t.Cleanup(func() { os.Unsetenv("LC_ALL"); Init() })
			if got := Number(c.n); got != c.want {
				t.Errorf("Number(%d) in %s = %q, want %q", c.n, c.locale, got, c.want)
			}
		})
	}
}

func containsLine(s, line string) bool {
	for _, l := range strings.Split(s, "\n") {
		if strings.EqualFold(l, line) {
			return true
		}
	}
	return false
}
