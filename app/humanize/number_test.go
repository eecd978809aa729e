package humanize

import (
	"time"

	"github.com/keepsake/keepsake/shared/client"
	"testing"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// english makes counts English for the test, whatever the machine's
// locale, and puts the locale back after.
func english(t *testing.T) {
	t.Helper()
	saved := numbers
	numbers = message.NewPrinter(language.English)
	t.Cleanup(func() { numbers = saved })
}

func TestLocaleOfTheEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"nothing set counts in English", nil, "en"},
		{"LANG", map[string]string{"LANG": "de_DE.UTF-8"}, "de-DE"},
		{"LC_NUMERIC over LANG", map[string]string{"LANG": "en_US.UTF-8", "LC_NUMERIC": "fr_FR.UTF-8"}, "fr-FR"},
		{"LC_ALL over everything", map[string]string{"LANG": "en_US.UTF-8", "LC_NUMERIC": "fr_FR.UTF-8", "LC_ALL": "sv_SE.UTF-8"}, "sv-SE"},
		{"a modifier", map[string]string{"LANG": "de_CH.UTF-8@euro"}, "de-CH"},
		{"C.UTF-8 counts in English", map[string]string{"LANG": "C.UTF-8"}, "en"},
		{"POSIX counts in English", map[string]string{"LC_ALL": "POSIX"}, "en"},
		{"nonsense counts in English", map[string]string{"LANG": "!!"}, "en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Locale(func(k string) string { return tc.env[k] })
			if got.String() != tc.want {
				t.Errorf("Locale = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCountGroupsDigitsAsTheLocaleDoes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		locale string
		n      int64
		want   string
	}{
		{"English", "en_US.UTF-8", 20013, "20,013"},
		{"English millions", "en_GB.UTF-8", 1234567, "1,234,567"},
		{"small numbers are not grouped", "en_US.UTF-8", 999, "999"},
		{"German", "de_DE.UTF-8", 20013, "20.013"},
		{"Swiss German", "de_CH.UTF-8", 20013, "20’013"},
		{"French", "fr_FR.UTF-8", 20013, "20\u00a0013"},
		{"Polish", "pl_PL.UTF-8", 20013, "20\u00a0013"},
		{"the C locale counts in English", "C.UTF-8", 20013, "20,013"},
		{"negative", "en_US.UTF-8", -20013, "-20,013"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CountIn(localeTag(tc.locale), tc.n); got != tc.want {
				t.Errorf("CountIn(%s, %d) = %q, want %q", tc.locale, tc.n, got, tc.want)
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
