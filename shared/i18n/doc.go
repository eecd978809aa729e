// Package i18n translates Keepsake's user-visible text with gettext: the
// app's and keepsakectl's sentences, in the user's language, from the .mo
// files meson installs (po/ in the source).
//
// It calls the C library's own gettext (dgettext, dngettext) through cgo
// rather than a Go reimplementation: GLib and GTK translate with the same
// functions, so the app's own strings, GTK's and libadwaita's follow one
// language choice (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), and plural forms
// come from each catalog's Plural-Forms expression, evaluated by the same
// code every GNOME app relies on (Polish's three forms, Arabic's six).
//
// Marking: the strings to translate are the literal first arguments of
// T, N (singular and plural) and P (context, text), written as "..."
// literals so that xgettext finds them (po/POTFILES lists the files). A
// format string is translated whole, with its verbs, never assembled from
// pieces: word order differs between languages.
package i18n
