package humanize

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/keepsake/keepsake/shared/i18n"
)

// Dates and times are written by GLib (g_date_time_format) from formats
// the translators own whole ("Today at %H:%M"), as Files and the other
// GNOME apps write them: month names and AM/PM come from the user's
// LC_TIME, word order from the translation, and 12 or 24 hours from
// GNOME's clock-format setting (SetClock24). Go decides only which day a
// moment falls on, in now's time zone.

// clock12 is set when the user's clock shows 12 hours; the zero value,
// 24 hours, is GNOME's default.
var clock12 atomic.Bool

// SetClock24 says whether times are shown on a 24-hour clock ("14:05")
// or a 12-hour one ("2:05 PM"): GNOME's clock-format setting, which the
// app reads and follows. Rows made before a change keep their text until
// they are made again.
func SetClock24(on bool) { clock12.Store(!on) }

// Clock24 reports the clock SetClock24 chose.
func Clock24() bool { return !clock12.Load() }

// Precision is how precisely DateTitle and DateInSentence give the time
// of day.
type Precision int

const (
	// Minutes is the usual "Today at 10:00".
	Minutes Precision = iota
	// Seconds tells apart two moments of one minute: "Today at 10:00:05".
	Seconds
)

// clock picks the format for the user's clock and the precision asked,
// and writes t with it. The formats are translations: one GLib refuses
// is a translator's slip, and the moment is then written plainly rather
// than not at all.
func clock(t time.Time, p Precision, h24, h12, h24s, h12s string) string {
	f := h24
	switch {
	case p == Seconds && clock12.Load():
		f = h12s
	case p == Seconds:
		f = h24s
	case clock12.Load():
		f = h12
	}
	return format(t, f)
}

// format writes t with a format of GLib's.
func format(t time.Time, f string) string {
	if s, ok := glibDate(t, f); ok {
		return s
	}
	s, _ := glibDate(t, "%Y-%m-%d %H:%M:%S")
	return s
}

// When says when something happened relative to now: "just now",
// "5 minutes ago", "yesterday at 14:05", "12 March at 09:00"; a zero time
// is "never". t is shown in now's time zone (the service's times are UTC).
func When(t, now time.Time) string {
	if t.IsZero() {
		// TRANSLATORS: when the last backup was, for one that never was ("Last backup: never").
		return i18n.T("never")
	}
	t = t.In(now.Location())
	d := now.Sub(t)
	switch {
	case d < 0:
		return Until(t, now)
	case d < time.Minute:
		return i18n.T("just now")
	case d < time.Hour:
		n := int(d / time.Minute)
		return fmt.Sprintf(i18n.N("%d minute ago", "%d minutes ago", n), n)
	case sameDay(t, now), sameDay(t, now.AddDate(0, 0, -1)), t.Year() == now.Year():
		return DateInSentence(t, now, Minutes)
	}
	// TRANSLATORS: a day of an earlier year inside a sentence ("12 March 2025"), a g_date_time_format format: %-d the day of the month, %B the month's name, %Y the year. Reorder as your language needs, keep the % codes.
	return format(t, i18n.T("%-d %B %Y"))
}

// Until says when something will happen: "now", "in 5 minutes",
// "today at 15:00", "tomorrow at 09:00".
func Until(t, now time.Time) string {
	if t.IsZero() {
		// TRANSLATORS: when the next backup is, when none is planned ("Next backup: not scheduled").
		return i18n.T("not scheduled")
	}
	t = t.In(now.Location())
	d := t.Sub(now)
	switch {
	case d <= 30*time.Second:
		// TRANSLATORS: when the next backup is: it is due now.
		return i18n.T("now")
	case d < 45*time.Minute:
		n := int(math.Ceil(d.Minutes()))
		return fmt.Sprintf(i18n.N("in %d minute", "in %d minutes", n), n)
	case sameDay(t, now.AddDate(0, 0, 1)):
		return clock(t, Minutes,
			// TRANSLATORS: a time tomorrow inside a sentence ("Next backup: tomorrow at 09:00"), a g_date_time_format format: %H the hour (00–23), %M the minutes. Keep the % codes.
			i18n.T("tomorrow at %H:%M"),
			// TRANSLATORS: the same on a 12-hour clock: %-l the hour (1–12), %M the minutes, %p AM or PM.
			i18n.T("tomorrow at %-l:%M %p"),
			"", "")
	}
	return DateInSentence(t, now, Minutes)
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.In(a.Location()).Date()
	return ay == by && am == bm && ad == bd
}

// DateTitle is a moment as a row's title: "Today at 10:00", "Yesterday
// at 09:15", "2 March at 14:00", "2 March 2025 at 14:00"; with Seconds,
// "Today at 10:00:05", to tell two of one minute apart.
func DateTitle(t, now time.Time, p Precision) string {
	if t.IsZero() {
		// TRANSLATORS: the title of a backup or version whose time is not known.
		return i18n.T("Unknown Time")
	}
	t = t.In(now.Location())
	switch {
	case sameDay(t, now):
		return clock(t, p,
			// TRANSLATORS: a row's title, a time today, a g_date_time_format format: %H the hour (00–23), %M the minutes, %S the seconds. Keep the % codes.
			i18n.T("Today at %H:%M"),
			// TRANSLATORS: a row's title, a time today on a 12-hour clock, a g_date_time_format format: %-l the hour (1–12), %M the minutes, %S the seconds, %p AM or PM.
			i18n.T("Today at %-l:%M %p"),
			i18n.T("Today at %H:%M:%S"),
			i18n.T("Today at %-l:%M:%S %p"))
	case sameDay(t, now.AddDate(0, 0, -1)):
		return clock(t, p,
			// TRANSLATORS: a row's title, a time yesterday, a g_date_time_format format: %H the hour (00–23), %M the minutes, %S the seconds. Keep the % codes.
			i18n.T("Yesterday at %H:%M"),
			// TRANSLATORS: a row's title, a time yesterday on a 12-hour clock, a g_date_time_format format: %-l the hour (1–12), %M the minutes, %S the seconds, %p AM or PM.
			i18n.T("Yesterday at %-l:%M %p"),
			i18n.T("Yesterday at %H:%M:%S"),
			i18n.T("Yesterday at %-l:%M:%S %p"))
	}
	return otherDay(t, now, p)
}

// otherDay is a moment neither today nor yesterday, alike in a title and
// inside a sentence.
func otherDay(t, now time.Time, p Precision) string {
	if t.Year() == now.Year() {
		return clock(t, p,
			// TRANSLATORS: a day and time this year, as a title and inside a sentence ("2 March at 14:00"), a g_date_time_format format: %-d the day of the month, %B the month's name, %H the hour (00–23), %M the minutes, %S the seconds. Reorder as your language needs, keep the % codes.
			i18n.T("%-d %B at %H:%M"),
			// TRANSLATORS: the same on a 12-hour clock: %-l the hour (1–12), %p AM or PM.
			i18n.T("%-d %B at %-l:%M %p"),
			i18n.T("%-d %B at %H:%M:%S"),
			i18n.T("%-d %B at %-l:%M:%S %p"))
	}
	return clock(t, p,
		// TRANSLATORS: a day and time of another year, as a title and inside a sentence ("2 March 2025 at 14:00"), a g_date_time_format format: %-d the day of the month, %B the month's name, %Y the year, %H the hour (00–23), %M the minutes, %S the seconds. Reorder as your language needs, keep the % codes.
		i18n.T("%-d %B %Y at %H:%M"),
		// TRANSLATORS: the same on a 12-hour clock: %-l the hour (1–12), %p AM or PM.
		i18n.T("%-d %B %Y at %-l:%M %p"),
		i18n.T("%-d %B %Y at %H:%M:%S"),
		i18n.T("%-d %B %Y at %-l:%M:%S %p"))
}

// DateInSentence is DateTitle inside a sentence ("from today at 10:00").
func DateInSentence(t, now time.Time, p Precision) string {
	if t.IsZero() {
		// TRANSLATORS: inside a sentence, a backup whose time is not known ("Backup of unknown time").
		return i18n.T("unknown time")
	}
	t = t.In(now.Location())
	switch {
	case sameDay(t, now):
		return clock(t, p,
			// TRANSLATORS: a time today inside a sentence ("Last backup: today at 14:05", "Backup of today at 14:05"), a g_date_time_format format: %H the hour (00–23), %M the minutes, %S the seconds. Keep the % codes.
			i18n.T("today at %H:%M"),
			// TRANSLATORS: the same on a 12-hour clock: %-l the hour (1–12), %p AM or PM.
			i18n.T("today at %-l:%M %p"),
			i18n.T("today at %H:%M:%S"),
			i18n.T("today at %-l:%M:%S %p"))
	case sameDay(t, now.AddDate(0, 0, -1)):
		return clock(t, p,
			// TRANSLATORS: a time yesterday inside a sentence ("Last backup: yesterday at 14:05"), a g_date_time_format format: %H the hour (00–23), %M the minutes, %S the seconds. Keep the % codes.
			i18n.T("yesterday at %H:%M"),
			// TRANSLATORS: the same on a 12-hour clock: %-l the hour (1–12), %p AM or PM.
			i18n.T("yesterday at %-l:%M %p"),
			i18n.T("yesterday at %H:%M:%S"),
			i18n.T("yesterday at %-l:%M:%S %p"))
	}
	return otherDay(t, now, p)
}

// Since says from when on something has been so: "since today at 14:05",
// "since yesterday at 09:00", "since 2 March", "since 2 March 2025".
func Since(t, now time.Time) string {
	t = t.In(now.Location())
	switch {
	case sameDay(t, now):
		return clock(t, Minutes,
			// TRANSLATORS: from when on something has been so ("Unreachable since today at 14:05"), a g_date_time_format format: %H the hour (00–23), %M the minutes. Keep the % codes.
			i18n.T("since today at %H:%M"),
			// TRANSLATORS: the same on a 12-hour clock: %-l the hour (1–12), %p AM or PM.
			i18n.T("since today at %-l:%M %p"),
			"", "")
	case sameDay(t, now.AddDate(0, 0, -1)):
		return clock(t, Minutes,
			// TRANSLATORS: from when on something has been so ("Unreachable since yesterday at 14:05"), a g_date_time_format format: %H the hour (00–23), %M the minutes. Keep the % codes.
			i18n.T("since yesterday at %H:%M"),
			// TRANSLATORS: the same on a 12-hour clock: %-l the hour (1–12), %p AM or PM.
			i18n.T("since yesterday at %-l:%M %p"),
			"", "")
	case t.Year() == now.Year():
		// TRANSLATORS: from which day on something has been so ("Unreachable since 2 March"), a g_date_time_format format: %-d the day of the month, %B the month's name. Keep the % codes.
		return format(t, i18n.T("since %-d %B"))
	}
	// TRANSLATORS: the same in an earlier year: %Y the year.
	return format(t, i18n.T("since %-d %B %Y"))
}
