package humanize

/*
#cgo pkg-config: glib-2.0
#include <glib.h>
#include <stdlib.h>

// format writes the moment at secs (Unix time), shown at offset seconds east
// of UTC, with a g_date_time_format format; NULL for a bad format.
static char *format(gint64 secs, gint32 offset, const char *fmt) {
	GTimeZone *tz = g_time_zone_new_offset(offset);
	GDateTime *utc = g_date_time_new_from_unix_utc(secs);
	char *out = NULL;
	if (tz != NULL && utc != NULL) {
		GDateTime *t = g_date_time_to_timezone(utc, tz);
		if (t != NULL) {
			out = g_date_time_format(t, fmt);
			g_date_time_unref(t);
		}
	}
	if (utc != NULL) g_date_time_unref(utc);
	if (tz != NULL) g_time_zone_unref(tz);
	return out;
}
*/
import "C"

import (
	"time"
	"unsafe"
)

// glibDate writes t with a g_date_time_format format, in the names of
// the user's LC_TIME (month names, AM/PM), as GNOME's apps write dates;
// false when GLib refuses the format (a mistyped translation).
// It is shown at t's own offset from UTC rather than in GLib's idea of
// the local zone, so that the day Go decided ("today", "yesterday") and
// the hour GLib writes always come from the same wall clock.
func glibDate(t time.Time, format string) (string, bool) {
	_, offset := t.Zone()
	f := C.CString(format)
	defer C.free(unsafe.Pointer(f))
	out := C.format(C.gint64(t.Unix()), C.gint32(offset), f)
	if out == nil {
		return "", false
	}
	defer C.g_free(C.gpointer(out))
	return C.GoString(out), true
}

// glibSize is g_format_size: decimal units, one decimal, the number
// written as LC_NUMERIC does and the units translated by GLib itself.
func glibSize(b uint64) string {
	out := C.g_format_size(C.guint64(b))
	defer C.g_free(C.gpointer(out))
	return C.GoString(out)
}
