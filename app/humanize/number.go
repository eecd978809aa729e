package humanize

import (
	"os"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// numbers formats counts with the digit grouping of the user's locale
// ("20,013" in English, "20.013" in German, "20 013" in French), read
// once from the environment the way the C library does.
var numbers = message.NewPrinter(Locale(os.Getenv))

// Locale is the language whose digit grouping counts use: LC_ALL, else
// LC_NUMERIC, else LANG ("de_DE.UTF-8" is German). The C and POSIX
// locales, which have no grouping at all, count in English: GNOME has
// no users of them, and test machines run in them.
func Locale(getenv func(string) string) language.Tag {
	for _, v := range []string{"LC_ALL", "LC_NUMERIC", "LANG"} {
		if s := getenv(v); s != "" {
			return localeTag(s)
		}
	}
	return language.English
}

func localeTag(s string) language.Tag {
	// "de_CH.UTF-8@euro": the language and territory are what count.
	if i := strings.IndexAny(s, ".@"); i >= 0 {
		s = s[:i]
	}
	if s == "" || s == "C" || s == "POSIX" {
		return language.English
	}
	t, err := language.Parse(strings.ReplaceAll(s, "_", "-"))
	if err != nil {
		return language.English
	}
	return t
}

// Count is a whole number as the user's locale writes it: "20,013".
func Count[N ~int | ~int64 | ~uint32 | ~uint64](n N) string { return numbers.Sprintf("%d", n) }

// CountIn is Count in a given language, for tests and for callers that
// know better than the environment.
func CountIn(t language.Tag, n int64) string { return message.NewPrinter(t).Sprintf("%d", n) }
