package i18n

/*
#include <libintl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

// group writes n with the digit grouping of LC_NUMERIC (the ' flag of
// printf: "20,013" in English, "20.013" in German, "20 013" in Polish).
static int group(char *buf, size_t len, long long n) { return snprintf(buf, len, "%'lld", n); }

// ungrouped: the C and POSIX locales have no thousands separator.
static int ungrouped(void) { const char *s = localeconv()->thousands_sep; return s == NULL || *s == 0; }
*/
import "C"

import (
	"os"
	"strconv"
	"sync/atomic"
	"unsafe"
)

// Domain is the gettext domain: the .mo files are
// <LocaleDir>/<language>/LC_MESSAGES/keepsake.mo.
const Domain = "keepsake"

// LocaleDir is where the .mo files are installed; meson sets it at build
// time (-X github.com/keepsake/keepsake/shared/i18n.LocaleDir=...), and
// KEEPSAKE_LOCALEDIR overrides it (build-aux/run.sh and the tests point it
// at freshly compiled catalogs).
var LocaleDir = "/usr/share/locale"

var domain *C.char

// ready is set once Init bound the domain: before that (in tests, in
// library use) every function returns the English text untouched.
var ready atomic.Bool

// Init selects the user's locale (as setlocale(LC_ALL, "") does in a C
// program: Go programs do not call it) and binds the domain to the
// installed catalogs. Mains call it first; it is safe to call more than
// once.
func Init() {
	dir := LocaleDir
	if d := os.Getenv("KEEPSAKE_LOCALEDIR"); d != "" {
		dir = d
	}
	empty := C.CString("")
	defer C.free(unsafe.Pointer(empty))
	C.setlocale(C.LC_ALL, empty)
	if domain == nil {
		domain = C.CString(Domain)
	}
	cdir := C.CString(dir)
	defer C.free(unsafe.Pointer(cdir))
	utf8 := C.CString("UTF-8")
	defer C.free(unsafe.Pointer(utf8))
	C.bindtextdomain(domain, cdir)
	// Whatever the locale's charset, Go strings are UTF-8.
	C.bind_textdomain_codeset(domain, utf8)
	ready.Store(true)
}

// T translates a sentence.
func T(msgid string) string {
	if !ready.Load() || msgid == "" {
		return msgid
	}
	id := C.CString(msgid)
	defer C.free(unsafe.Pointer(id))
	return C.GoString(C.dgettext(domain, id))
}

// N translates a sentence about n things: singular for English's one,
// plural otherwise; the catalog picks the language's own form for n.
func N(singular, plural string, n int) string {
	if !ready.Load() {
		if n == 1 {
			return singular
		}
		return plural
	}
	s := C.CString(singular)
	defer C.free(unsafe.Pointer(s))
	p := C.CString(plural)
	defer C.free(unsafe.Pointer(p))
	// dngettext takes an unsigned long; counts here are never negative,
	// and a negative one is read as "many".
	var cn C.ulong = 2
	if n >= 0 {
		cn = C.ulong(n)
	}
	return C.GoString(C.dngettext(domain, s, p, cn))
}

// P translates a short text that needs its context to be translated
// right ("Back" as a button, "Back" as in "back up"): the catalog keys it
// as context + "\x04" + text, which is what xgettext writes for msgctxt.
func P(context, msgid string) string {
	if !ready.Load() {
		return msgid
	}
	key := context + "\x04" + msgid
	k := C.CString(key)
	defer C.free(unsafe.Pointer(k))
	out := C.GoString(C.dgettext(domain, k))
	if out == key {
		return msgid
	}
	return out
}

// Noop marks a sentence for translation where it is written and returns
// it unchanged (GNOME's N_): a table of sentences is built once, before
// the language is known, and each is translated with T where it is shown.
func Noop(msgid string) string { return msgid }

// Number writes a count with the digit grouping of the user's locale
// (LC_NUMERIC), as GNOME's own apps do with printf's ' flag: "20,013" in
// en_US, "20.013" in de_DE, "20 013" (a narrow no-break space) in pl_PL.
// The C and POSIX locales, and a program that has not called Init, which
// group nothing, count in English: nobody reads "20013 files" better.
func Number(n int64) string {
	if !ready.Load() || C.ungrouped() != 0 {
		return english(n)
	}
	var buf [32]C.char
	k := C.group(&buf[0], C.size_t(len(buf)), C.longlong(n))
	if k < 0 || int(k) >= len(buf) {
		return strconv.FormatInt(n, 10)
	}
	return C.GoStringN(&buf[0], k)
}

// english groups digits by threes with commas.
func english(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return sign + s
}
