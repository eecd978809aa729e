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

// DriveList shows drives to pick one from: a check button per drive that
// can hold backups, a dimmed mark (with the reason in the subtitle) for one
// that cannot. The first-run setup and the add-a-computer steps share it.
type DriveList struct {
	list     *gtk.ListBox
	rows     []*adw.ActionRow
	building bool
}

// NewDriveList fills list.
func NewDriveList(list *gtk.ListBox) *DriveList { return &DriveList{list: list} }

// Show replaces the rows with drives, chosen ticked; picked is called
// when the user ticks another one.
func (l *DriveList) Show(drives []DriveChoice, chosen string, picked func(uuid string)) {
	l.building = true
	defer func() { l.building = false }()
	for _, r := range l.rows {
		l.list.Remove(r)
	}
	l.rows = l.rows[:0]
	var group *gtk.CheckButton
	for _, d := range drives {
		d := d
		row := NewRow(d.Title, d.Subtitle)
		if d.Selectable() {
			check := gtk.NewCheckButton()
			check.SetVAlign(gtk.AlignCenter)
			SetName(check, d.Title)
			if group == nil {
				group = check
			} else {
				check.SetGroup(group)
			}
			check.SetActive(d.UUID == chosen)
			check.ConnectToggled(func() {
				if l.building || !check.Active() {
					return
				}
				picked(d.UUID)
			})
			row.AddPrefix(check)
			row.SetActivatableWidget(check)
		} else {
			img := gtk.NewImageFromIconName("action-unavailable-symbolic")
			img.SetTooltipText("Cannot hold backups")
			img.AddCSSClass("dim-label")
			row.AddPrefix(img)
		}
		l.list.Append(row)
		l.rows = append(l.rows, row)
	}
}

// SetSensitive makes every row (in)sensitive, as while a setup runs.
func (l *DriveList) SetSensitive(on bool) {
	for _, r := range l.rows {
		r.SetSensitive(on)
	}
}
