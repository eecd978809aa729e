package humanize

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
)

// english makes counts English for the test, whatever the machine's
// locale (the process starts in C, whose counts are English too), and
// puts the locale back after.
func english(t *testing.T) {
	t.Helper()
	t.Setenv("LC_ALL", "C.UTF-8")
	i18n.Init()
	t.Cleanup(func() { os.Unsetenv("LC_ALL"); i18n.Init() })
}

func TestCountGroupsDigitsAsTheLocaleDoes(t *testing.T) {
	have, _ := exec.Command("locale", "-a").Output()
	for _, tc := range []struct {
		name   string
		locale string
		n      int64
		want   string
	}{
		{"English", "en_US.utf8", 20013, "20,013"},
		{"English millions", "en_US.utf8", 1234567, "1,234,567"},
		{"small numbers are not grouped", "en_US.utf8", 999, "999"},
		{"German", "de_DE.utf8", 20013, "20.013"},
		{"Polish", "pl_PL.utf8", 20013, "20\u202f013"},
		{"the C locale counts in English", "C.utf8", 20013, "20,013"},
		{"negative", "en_US.utf8", -20013, "-20,013"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains("\n"+strings.ToLower(string(have)), "\n"+strings.ToLower(tc.locale)+"\n") {
				if os.Getenv("CI") == "true" {
					t.Fatalf("locale %s is missing (build-aux/deps.sh makes it)", tc.locale)
				}
				t.Skipf("locale %s is missing: as root, localedef -i %s -f UTF-8 %s", tc.locale, tc.locale[:5], tc.locale)
			}
			t.Setenv("LC_ALL", tc.locale)
			i18n.Init()
			t.Cleanup(func() { os.Unsetenv("LC_ALL"); i18n.Init() })
			if got := Count(tc.n); got != tc.want {
				t.Errorf("Count(%d) in %s = %q, want %q", tc.n, tc.locale, got, tc.want)
			}
		})
	}
}

func TestCountsInSentences(t *testing.T) {
	english(t)
	for _, tc := range []struct{ name, got, want string }{
		{"bytes", Size(999), "999 bytes"},
		{"files done", Progress(jobFiles(20013, 0), now0), "20,013 files"},
		{"files of a total", Progress(jobFiles(1500, 20013), now0), "1,500 of 20,013 files"},
		{"a plural", Interval(0), "only when you ask"},
		{"hours", Duration(1500 * 3600e9), "about 1,500 hours"},
		{"more folders", Folders([]string{"/a", "/b", "/c", "/d"}, "", 1), "/a and 3 more"},
		{"Count", Count(uint64(1_000_000)), "1,000,000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

var now0 = time.Unix(1_800_000_000, 0)

func jobFiles(done, total uint64) client.Job { return client.Job{FilesDone: done, FilesTotal: total} }
