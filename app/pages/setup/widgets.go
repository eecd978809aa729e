package setup

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	coreglib "github.com/diamondburned/gotk4/pkg/core/glib"
	"github.com/diamondburned/gotk4/pkg/glib/v2"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/ui"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
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

// DriveList shows drives to pick one from: a radio button per drive that
// can hold backups, a dimmed mark (with the reason in the subtitle) for one
// that cannot. A drive that cannot only because of its filesystem (a FAT
// stick, an NTFS disk) offers "Erase…" on its row, where the person reads
// why it cannot be chosen; the erase's progress shows under the list. The
// first-run setup and the add-a-computer steps share it.
type DriveList struct {
	list     *gtk.ListBox
	rows     []*adw.ActionRow
	checks   map[string]*gtk.CheckButton // by UUID
	erase    map[string]*gtk.Button      // by UUID, the rows offering it
	picked   func(uuid string)
	building bool

	env        *ui.Env
	jobs       *ui.JobBar
	changed    func()
	enabled    bool // the page's say (SetSensitive)
	describing bool
	erasing    bool // a job was seen running, until sync sees it end
	// dialog is the question or refusal shown (nil when none): kept so
	// that it is not shown twice, and for the tests.
	dialog *gtk.MessageDialog
	// EncryptAfterErase: a drive erased as ext4 is left for the page to
	// encrypt (PrepareDrive's enroll=false) instead of being enrolled
	// unencrypted at once.
	EncryptAfterErase bool
	// PreferExt4 says whether erasing a drive should suggest ext4 (the
	// person wants encrypted backups) instead of btrfs; nil: never.
	PreferExt4 func() bool
	// leader heads the rows' radio group (see Show).
	leader *gtk.CheckButton
}

// eraseStrip is erase.ui's job strip.
type eraseStrip struct {
	Revealer *gtk.Revealer    `ui:"erase_progress"`
	Title    *gtk.Label       `ui:"erase_title"`
	Bar      *gtk.ProgressBar `ui:"erase_bar"`
	Detail   *gtk.Label       `ui:"erase_detail"`
	Cancel   *gtk.Button      `ui:"erase_cancel"`
}

//go:embed erase.ui
var eraseUI string

// NewDriveList fills list; slot, under it, gets the strip that follows an
// erase. changed is told when an erase starts or ends, so the page can
// hold its buttons meanwhile.
func NewDriveList(list *gtk.ListBox, slot *adw.Bin, env *ui.Env, changed func()) *DriveList {
	l := &DriveList{list: list, env: env, changed: changed, enabled: true}
	var s eraseStrip
	ui.Fill(&s, eraseUI)
	slot.SetChild(s.Revealer)
	l.jobs = ui.NewJobBar(env, ui.JobBar{
		Revealer: s.Revealer, Title: s.Title, Bar: s.Bar, Detail: s.Detail, Cancel: s.Cancel,
		Cancelled: i18n.T("Erasing the drive was cancelled"),
	}, env.Toast, l.sync)
	return l
}

// Busy says whether a drive is being described or erased: the drives
// listed are about to change.
func (l *DriveList) Busy() bool { return l.describing || l.jobs.Busy() }

// Show replaces the rows with drives, chosen ticked; picked is called
// when the user ticks another one, or once a drive they erased is ready.
func (l *DriveList) Show(drives []DriveChoice, chosen string, picked func(uuid string)) {
	l.building = true
	defer func() { l.building = false }()
	for _, r := range l.rows {
		l.list.Remove(r)
	}
	l.rows = l.rows[:0]
	l.checks = map[string]*gtk.CheckButton{}
	l.erase = map[string]*gtk.Button{}
	l.picked = picked
	// One choice among the drives: radio buttons, even for a lone
	// drive. GTK draws a check button as a radio only once it is in a
	// group, so every row joins one led by a button that is never shown.
	l.leader = gtk.NewCheckButton()
	group := l.leader
	for _, d := range drives {
		d := d
		row := NewRow(d.Title, d.Subtitle)
		if d.Selectable() {
			check := gtk.NewCheckButton()
			check.SetVAlign(gtk.AlignCenter)
			SetName(check, d.Title)
			check.SetGroup(group)
			check.SetActive(d.UUID == chosen)
			check.ConnectToggled(func() {
				if l.building || !check.Active() {
					return
				}
				picked(d.UUID)
			})
			row.AddPrefix(check)
			row.SetActivatableWidget(check)
			l.checks[d.UUID] = check
		} else {
			img := gtk.NewImageFromIconName("action-unavailable-symbolic")
			img.SetTooltipText(i18n.T("Cannot hold backups"))
			img.AddCSSClass("dim-label")
			row.AddPrefix(img)
			if d.Erase != "" {
				// Short on the row, whose width a phone's screen may
				// limit; the tooltip and the accessible name say it all.
				// TRANSLATORS: a button on a drive's row, short: the
				// tooltip says "Erase and use for backups…".
				b := gtk.NewButtonWithMnemonic(i18n.T("_Erase…"))
				b.SetVAlign(gtk.AlignCenter)
				b.SetTooltipText(i18n.T(EraseLabel))
				ui.SetAccessibleName(b, i18n.T(EraseLabel))
				b.ConnectClicked(func() { l.describe(d, false) })
				row.AddSuffix(b)
				l.erase[d.UUID] = b
			}
		}
		l.list.Append(row)
		l.rows = append(l.rows, row)
	}
	l.sync()
}

// Offers says whether the row of the drive uuid offers to erase it.
func (l *DriveList) Offers(uuid string) bool { return l.erase[uuid] != nil }

// SetSensitive makes every row (in)sensitive, as while a setup runs.
func (l *DriveList) SetSensitive(on bool) {
	l.enabled = on
	l.sync()
}

// sync applies the page's say and the erase under way to the rows.
func (l *DriveList) sync() {
	on := l.enabled && !l.Busy()
	for _, r := range l.rows {
		r.SetSensitive(on)
	}
	// However an erase ended, even failed or cancelled, the drive may
	// have changed: the list is read again.
	if l.erasing && !l.jobs.Busy() {
		l.env.Refresh()
	}
	l.erasing = l.jobs.Busy()
	if l.changed != nil && !l.building {
		l.changed()
	}
}

// describe asks the service what erasing the drive destroys: the answer
// is the confirmation's text, or the reason it is never erased (a system
// disk, an internal one, a drive in use). The service mounts and probes
// the drive meanwhile, so this runs off the main loop.
func (l *DriveList) describe(d DriveChoice, ext4 bool) {
	if l.Busy() || l.dialog != nil {
		return
	}
	dev := d.Erase
	if ext4 {
		dev = d.Device
	}
	if dev == "" {
		return
	}
	l.describing = true
	l.sync()
	ui.Call(l.env, func(ctx context.Context, c *client.Client) (api.DeviceInfo, error) {
		dev := WholeDisk("/sys", dev)
		info, err := c.DescribeDevice(ctx, dev, api.Auth{})
		if err != nil {
			return info, fmt.Errorf("describe %s: %w", dev, err)
		}
		return info, nil
	}, func(info api.DeviceInfo, err error) {
		l.describing = false
		l.sync()
		if err != nil {
			l.refuse(d.Title, err)
			return
		}
		l.confirm(info, ext4)
	})
}

// EraseAsExt4 offers to erase a drive whose filesystem cannot be
// encrypted (btrfs, xfs…) as ext4, which can: the same question and
// job as Erase…, without the choice of filesystem.
func (l *DriveList) EraseAsExt4(d DriveChoice) { l.describe(d, true) }

// refuse says why a drive cannot be erased.
func (l *DriveList) refuse(title string, err error) {
	d := gtk.NewMessageDialog(l.env.Window(), gtk.DialogModal|gtk.DialogDestroyWithParent, gtk.MessageWarning, gtk.ButtonsClose)
	// TRANSLATORS: a dialog's heading; %s is the drive's name.
	d.SetObjectProperty("text", fmt.Sprintf(i18n.T("“%s” Cannot Be Erased"), humanize.Display(title)))
	d.SetObjectProperty("secondary-text", humanize.Error(err))
	d.ConnectResponse(func(int) {
		d.Destroy()
		l.dialog = nil
	})
	l.dialog = d
	d.Present()
}

// confirm shows what erasing destroys and asks for it, with the choice
// of ext4 for the person who wants encrypted backups (no choice when
// onlyExt4: the drive is erased to be encrypted).
func (l *DriveList) confirm(info api.DeviceInfo, onlyExt4 bool) {
	heading, body := EraseQuestion(info)
	d := gtk.NewMessageDialog(l.env.Window(), gtk.DialogModal|gtk.DialogDestroyWithParent, gtk.MessageWarning, gtk.ButtonsNone)
	d.SetObjectProperty("text", heading)
	d.SetObjectProperty("secondary-text", body)
	ext4 := gtk.NewCheckButtonWithMnemonic(i18n.T("Use ext4 instead (for _encrypted backups)"))
	ext4.SetTooltipText(i18n.T("Btrfs keeps each backup as a snapshot of its own; ext4 can hold encrypted backups"))
	ext4.SetActive(onlyExt4 || l.PreferExt4 != nil && l.PreferExt4())
	if area, ok := d.MessageArea().(*gtk.Box); ok && !onlyExt4 {
		area.Append(ext4)
	}
	d.AddButton(i18n.T("_Cancel"), int(gtk.ResponseCancel))
	if w, ok := d.AddButton(i18n.T("_Erase"), int(gtk.ResponseAccept)).(*gtk.Button); ok {
		w.AddCSSClass("destructive-action")
	}
	// Enter must not erase a drive.
	d.SetDefaultResponse(int(gtk.ResponseCancel))
	d.ConnectResponse(func(resp int) {
		fs := EraseFilesystem(ext4.Active())
		d.Destroy()
		l.dialog = nil
		if resp == int(gtk.ResponseAccept) {
			l.prepare(info, fs, !(ext4.Active() && l.EncryptAfterErase))
		}
	})
	l.dialog = d
	d.Present()
}

// prepare erases the drive confirmed and follows the job in the strip.
// The confirmation's token makes the service refuse a drive that changed
// since it was shown. polkit asks for an administrator's password.
func (l *DriveList) prepare(info api.DeviceInfo, fs string, enroll bool) {
	// TRANSLATORS: the heading of an erase's progress; %s is the drive's name.
	ui.RunJob(l.jobs, fmt.Sprintf(i18n.T("Erasing “%s”"), humanize.Display(DeviceName(info))),
		func(ctx context.Context, c *client.Client, follow func(dbus.ObjectPath) (client.Job, error)) (api.PrepareResult, error) {
			job, err := c.PrepareDrive(ctx, info.Device, api.PrepareOptions{Filesystem: fs, Confirm: info.Token, Enroll: &enroll})
			if err != nil {
				return api.PrepareResult{}, fmt.Errorf("prepare %s: %w", info.Device, err)
			}
			j, err := follow(job)
			if err != nil {
				return api.PrepareResult{}, err
			}
			return j.PrepareResult()
		}, func(r api.PrepareResult) {
			l.env.Toast(humanize.Escape(Prepared(r, enroll)))
			l.pick(r.UUID)
		})
}

// pick chooses the drive just made, as the person meant to use it: its
// row ticked when the list shows it already, else the page told, and the
// next reading of the drives ticks it.
func (l *DriveList) pick(uuid string) {
	if uuid == "" || l.picked == nil {
		return
	}
	if check := l.checks[uuid]; check != nil {
		check.SetActive(true)
		return
	}
	l.picked(uuid)
}
