package cli_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// germanMsgids are the sentences the test below reads in German: until
// po/de.po translates each of them, there is nothing to check.
var germanMsgids = []string{
	"no snapshots yet",
	"no snapshot holds a version of %s that you may see",
	"usage: keepsakectl [--repo DIR] [--json] COMMAND [ARGS]",
	"(see keepsakectl --help)",
}

// poTranslates says whether po, as msgcat --no-wrap writes it (each
// msgid and msgstr on one line), translates msgid: a non-empty msgstr,
// not fuzzy.
func poTranslates(po, msgid string) bool {
	id := "msgid " + poQuote(msgid)
	lines := strings.Split(po, "\n")
	for i, l := range lines {
		if l != id || i+1 >= len(lines) {
			continue
		}
		if i > 0 && strings.Contains(lines[i-1], "fuzzy") {
			return false
		}
		return strings.HasPrefix(lines[i+1], "msgstr ") && lines[i+1] != `msgstr ""`
	}
	return false
}

// poQuote quotes s as a .po file does (the msgids here have no escapes
// but quotes).
func poQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// keepsakectl speaks the user's language, from the catalogs meson builds
// from po/: its listings, its errors and its usage messages, while --json
// (for scripts) stays English.
func TestKeepsakectlSpeaksGerman(t *testing.T) {
	skip := func(why string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	if _, err := exec.LookPath("msgfmt"); err != nil {
		skip("msgfmt is missing: install gettext")
	}
	if out, _ := exec.Command("locale", "-a").Output(); !strings.Contains(string(out), "de_DE.utf8") {
		skip("locale de_DE.UTF-8 is missing: as root, localedef -i de_DE -f UTF-8 de_DE.UTF-8")
	}
	po, err := exec.Command("msgcat", "--no-wrap", filepath.Join("..", "..", "po", "de.po")).Output()
	if err != nil {
		t.Fatalf("msgcat po/de.po: %v", err)
	}
	for _, id := range germanMsgids {
		if !poTranslates(string(po), id) {
			// Not a missing tool: the translations of keepsakectl's
			// sentences are merged into po/ with the other parts'.
			t.Skipf("po/de.po does not translate keepsakectl's %q yet", id)
		}
	}
	locale := t.TempDir()
	mo := filepath.Join(locale, "de", "LC_MESSAGES", "keepsake.mo")
	must(t, os.MkdirAll(filepath.Dir(mo), 0o755))
	if out, err := exec.Command("msgfmt", "--check", "-o", mo, filepath.Join("..", "..", "po", "de.po")).CombinedOutput(); err != nil {
		t.Fatalf("msgfmt po/de.po: %v\n%s", err, out)
	}
	bin := buildCtl(t)
	drive := t.TempDir()
	german := func(args ...string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "LANGUAGE=de", "LANG=de_DE.UTF-8", "LC_ALL=", "LC_MESSAGES=", "KEEPSAKE_LOCALEDIR="+locale)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code = cmd.ProcessState.ExitCode()
		if err != nil && code < 0 {
			t.Fatalf("keepsakectl %v: %v", args, err)
		}
		return out.String(), errb.String(), code
	}
	if _, errs, code := german("--repo", drive, "init"); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errs)
	}
	missing := filepath.Join(drive, "nowhere.txt")

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr []string
	}{
		{"a listing's sentence", []string{"--repo", drive, "snapshots"}, 0, "noch keine Schnappschüsse\n", nil},
		{"an error keepsakectl says itself", []string{"--repo", drive, "versions", missing}, 1, "",
			[]string{"keepsakectl: Kein Schnappschuss enthält eine Version von " + missing}},
		{"a mistake in the command line", nil, 2, "",
			[]string{"keepsakectl: Aufruf: keepsakectl [--repo ORDNER] [--json] BEFEHL [ARGUMENTE]\n(siehe keepsakectl --help)\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs, code := german(tt.args...)
			if code != tt.code || out != tt.stdout {
				t.Fatalf("exit %d, stdout %q; want %d and %q (stderr %q)", code, out, tt.code, tt.stdout, errs)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(errs, want) {
					t.Errorf("stderr %q lacks %q", errs, want)
				}
			}
		})
	}

	// --json is for scripts: its messages stay English in every language.
	t.Run("--json stays English", func(t *testing.T) {
		out, errs, code := german("--repo", drive, "--json", "versions", missing)
		var e jsonError
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &e); err != nil || code != 1 {
			t.Fatalf("exit %d, %q (%v) %s", code, out, err, errs)
		}
		if want := "no snapshot holds a version of " + missing + " that you may see"; e.Error != "PathNotFound" || e.Message != want {
			t.Errorf("%+v, want PathNotFound and %q", e, want)
		}
	})
}
