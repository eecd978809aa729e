package humanize

import "github.com/keepsake/keepsake/shared/i18n"

// Count is a whole number as the user's locale writes it ("20,013" in
// English, "20.013" in German), through the C library's own grouping
// for LC_NUMERIC, as GNOME's apps write counts.
func Count[N ~int | ~int64 | ~uint32 | ~uint64](n N) string { return i18n.Number(int64(n)) }
