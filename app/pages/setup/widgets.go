package setup

import (
	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	coreglib "github.com/diamondburned/gotk4/pkg/core/glib"
	"github.com/diamondburned/gotk4/pkg/glib/v2"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/ui"
)

// NewRow makes a row whose title and subtitle are shown as written: drive
// labels and folder names may hold '&' or '<', which libadwaita would
// otherwise read as markup. The title is also the row's accessible name.
func NewRow(title, subtitle string) *adw.ActionRow {
	row := adw.NewActionRow()
	SetRowText(row, title, subtitle)
	row.SetSubtitleLines(0)
	return row
}

// SetRowText sets a row's title and subtitle as plain text (names that
// are not UTF-8 shown as humanize.Display does).
func SetRowText(row *adw.ActionRow, title, subtitle string) {
	title, subtitle = humanize.Display(title), humanize.Display(subtitle) // folder names are bytes
	if !Plain(coreglib.InternObject(row)) {
		title, subtitle = escape(title), escape(subtitle)
	}
	row.SetTitle(title)
	row.SetSubtitle(subtitle)
}

// Plain turns off markup on a row (libadwaita 1.2's use-markup) and
// reports whether it could; older versions always read markup.
func Plain(obj *coreglib.Object) bool {
	if obj.PropertyType("use-markup") == coreglib.TypeInvalid {
		return false
	}
	obj.SetObjectProperty("use-markup", false)
	return true
}

func escape(s string) string { return glib.MarkupEscapeText(s, len(s)) }

// SetName gives a widget without a visible label its tooltip and its
// accessible name, which is what the UI tests find it by.
func SetName(w gtk.Widgetter, name string) {
	gtk.BaseWidget(w).SetTooltipText(name)
	ui.SetAccessibleName(w, name)
}
