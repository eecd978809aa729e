package computer

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/diamondburned/gotk4/pkg/pango"
	"github.com/keepsake/keepsake/app/computers"
	"github.com/keepsake/keepsake/app/ui"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
)

//go:embed keycheck.ui
var keyCheckUI string

// call runs work with the service off the main loop and hands its result
// to done on it: with svc when a test set one, else with the app's
// connection (none: the "not running" error).
func call[T any](env *ui.Env, svc Service, work func(ctx context.Context, s Service) (T, error), done func(T, error)) {
	if svc != nil {
		ui.Async(func() (T, error) { return work(context.Background(), svc) }, done)
		return
	}
	ui.Call(env, func(ctx context.Context, c *client.Client) (T, error) { return work(ctx, c) }, done)
}

// KeyCheck asks a computer for its host keys, shows their fingerprints
// with what to compare them with, and accepts the first one.
type KeyCheck struct {
	Root          *gtk.Box              `ui:"key_check"`
	CheckButton   *gtk.Button           `ui:"check_button"`
	BusyBox       *gtk.Box              `ui:"busy_box"`
	BusySpinner   *gtk.Spinner          `ui:"busy_spinner"`
	BusyLabel     *gtk.Label            `ui:"busy_label"`
	ErrorLabel    *gtk.Label            `ui:"error_label"`
	ResultBox     *gtk.Box              `ui:"result_box"`
	WarningLabel  *gtk.Label            `ui:"warning_label"`
	KeysGroup     *adw.PreferencesGroup `ui:"keys_group"`
	KeyList       *gtk.ListBox          `ui:"key_list"`
	Instruction   *gtk.Label            `ui:"instruction"`
	Command       *gtk.Label            `ui:"command"`
	Caution       *gtk.Label            `ui:"caution"`
	RecheckButton *gtk.Button           `ui:"recheck_button"`
	AcceptButton  *gtk.Button           `ui:"accept_button"`
	AcceptedBox   *gtk.Box              `ui:"accepted_box"`
	AcceptedLabel *gtk.Label            `ui:"accepted_label"`

	env *ui.Env
	svc Service
	// computer names it in the texts.
	computer string
	// prepare, called on the main loop as a check starts, gives the work
	// to do off it before the keys are asked for: it returns the profile
	// to ask with (the page creates it there).
	prepare func() Prepare
	// changed is told when the check starts, ends or accepts.
	changed func()
	// OnAccepted is told when the person accepted the key.
	OnAccepted func()

	profile  string
	model    KeyModel
	rows     []*gtk.ListBoxRow
	busy     bool
	accepted bool
	gen      int // drops the answer of a check that Reset made stale
}

// Prepare is work done before a check asks for the keys: it returns the
// profile to ask with, or where it failed.
type Prepare func(ctx context.Context, s Service) (profile string, stage Stage, err error)

// NewKeyCheck builds the check; prepare (nil for a profile set with
// SetProfile) gives the profile to ask with.
func NewKeyCheck(env *ui.Env, prepare func() Prepare, changed func()) *KeyCheck {
	k := &KeyCheck{env: env, prepare: prepare, changed: changed}
	ui.Fill(k, keyCheckUI)
	k.CheckButton.ConnectClicked(k.Check)
	k.RecheckButton.ConnectClicked(k.Check)
	noHyphens(k.Command)
	k.AcceptButton.ConnectClicked(k.accept)
	return k
}

// Reset forgets an earlier check (the address changed).
func (k *KeyCheck) Reset(computer string) {
	k.gen++
	k.computer = computer
	k.accepted, k.busy = false, false
	k.model = KeyModel{}
	k.ResultBox.SetVisible(false)
	k.BusyBox.SetVisible(false)
	k.BusySpinner.Stop()
	k.setError("")
	k.CheckButton.SetLabel(i18n.T("_Check Connection"))
	k.CheckButton.SetVisible(true)
	k.CheckButton.SetSensitive(true)
	k.clearRows()
	k.tell()
}

// SetProfile sets the profile whose computer is checked.
func (k *KeyCheck) SetProfile(name string) { k.profile = name }

// Accepted reports whether the computer's key is accepted.
func (k *KeyCheck) Accepted() bool { return k.accepted }

// Busy reports whether a call is under way.
func (k *KeyCheck) Busy() bool { return k.busy }

func (k *KeyCheck) tell() {
	if k.changed != nil {
		k.changed()
	}
}

func (k *KeyCheck) setBusy(busy bool, doing string) {
	k.busy = busy
	k.BusyBox.SetVisible(busy)
	k.BusyLabel.SetLabel(doing)
	if busy {
		k.BusySpinner.Start()
	} else {
		k.BusySpinner.Stop()
	}
	k.CheckButton.SetSensitive(!busy)
	k.RecheckButton.SetSensitive(!busy)
	k.AcceptButton.SetSensitive(!busy && k.model.CanAccept && !k.accepted)
	k.tell()
}

func (k *KeyCheck) setError(msg string) {
	k.ErrorLabel.SetLabel(msg)
	k.ErrorLabel.SetVisible(msg != "")
}

type scanned struct {
	profile string
	keys    []api.HostKey
	state   string
	stage   Stage
}

// Check asks the computer for its keys.
func (k *KeyCheck) Check() {
	if k.busy {
		return
	}
	k.gen++
	gen := k.gen
	k.setError("")
	// TRANSLATORS: %s is the other computer's name.
	k.setBusy(true, fmt.Sprintf(i18n.T("Asking %s who it is…"), k.computer))
	var prepare Prepare
	if k.prepare != nil {
		prepare = k.prepare()
	}
	profile := k.profile
	call(k.env, k.svc, func(ctx context.Context, s Service) (scanned, error) {
		r := scanned{profile: profile}
		if prepare != nil {
			name, stage, err := prepare(ctx, s)
			if err != nil {
				r.stage = stage
				return r, err
			}
			r.profile = name
		}
		keys, state, err := s.ScanHostKeys(ctx, r.profile, api.Auth{})
		r.keys, r.state, r.stage = keys, state, StageScan
		return r, err
	}, func(r scanned, err error) {
		if gen != k.gen {
			return
		}
		if r.profile != "" {
			k.profile = r.profile
		}
		k.setBusy(false, "")
		if err != nil {
			k.CheckButton.SetLabel(i18n.T("_Try Again"))
			k.CheckButton.SetVisible(true)
			k.ResultBox.SetVisible(false)
			if r.stage == StageNone { // nothing ran: no connection
				r.stage = StageScan
				if prepare != nil && profile == "" {
					r.stage = StageCreate
				}
			}
			k.setError(Failure(r.stage, err))
			return
		}
		// The answer takes the big button's place; checking again is
		// offered below it.
		k.CheckButton.SetVisible(false)
		k.show(KeyView(r.keys, r.state, k.computer))
		k.accepted = r.state == computers.KeyAccepted
		k.AcceptedBox.SetVisible(k.accepted)
		k.AcceptedLabel.SetLabel(i18n.T("Keepsake trusts this computer."))
		k.setBusy(false, "")
	})
}

func (k *KeyCheck) clearRows() {
	for _, r := range k.rows {
		k.KeyList.Remove(r)
	}
	k.rows = k.rows[:0]
}

func (k *KeyCheck) show(m KeyModel) {
	k.model = m
	k.clearRows()
	for i, r := range m.Rows {
		title := r.Title
		if i == 0 && len(m.Rows) > 1 {
			// TRANSLATORS: %s is a key type ("Ed25519 key"): the first of
			// several keys, the one to compare.
			title = fmt.Sprintf(i18n.T("%s (compare this one)"), title)
		}
		row := keyRow(title, r.Fingerprint)
		k.KeyList.Append(row)
		k.rows = append(k.rows, row)
	}
	k.KeysGroup.SetTitle(m.Headline)
	k.KeysGroup.SetVisible(len(m.Rows) > 0 || m.Headline != "")
	k.KeyList.SetVisible(len(m.Rows) > 0)
	k.Instruction.SetLabel(m.Instruction)
	k.Command.SetLabel(m.Command)
	k.Command.SetVisible(m.Command != "")
	k.Caution.SetLabel(m.Caution)
	k.Caution.SetVisible(m.Caution != "")
	k.WarningLabel.SetLabel(m.Warning)
	k.WarningLabel.SetVisible(m.Warning != "")
	k.AcceptButton.SetLabel(m.Accept)
	k.AcceptButton.SetVisible(m.CanAccept)
	if m.Warning != "" {
		k.AcceptButton.RemoveCSSClass("suggested-action")
		k.AcceptButton.AddCSSClass("destructive-action")
	} else {
		k.AcceptButton.RemoveCSSClass("destructive-action")
		k.AcceptButton.AddCSSClass("suggested-action")
	}
	k.AcceptedBox.SetVisible(false)
	k.ResultBox.SetVisible(true)
}

// keyRow shows a key's type over its fingerprint, which is read and
// compared character by character: monospace, selectable, wrapped
// anywhere on a narrow screen.
func keyRow(title, fingerprint string) *gtk.ListBoxRow {
	box := gtk.NewBox(gtk.OrientationVertical, 3)
	box.SetMarginTop(10)
	box.SetMarginBottom(10)
	box.SetMarginStart(12)
	box.SetMarginEnd(12)
	t := gtk.NewLabel(title)
	t.SetXAlign(0)
	t.SetWrap(true)
	t.AddCSSClass("dim-label")
	t.AddCSSClass("caption")
	f := gtk.NewLabel(fingerprint)
	f.SetXAlign(0)
	f.SetWrap(true)
	f.SetWrapMode(pango.WrapChar)
	f.SetSelectable(true)
	f.AddCSSClass("monospace")
	noHyphens(f)
	box.Append(t)
	box.Append(f)
	row := gtk.NewListBoxRow()
	row.SetActivatable(false)
	row.SetChild(box)
	return row
}

// noHyphens keeps a label from adding hyphens where it wraps a word: a
// fingerprint, a key or a command is compared and copied as written.
func noHyphens(l *gtk.Label) {
	attrs := pango.NewAttrList()
	attrs.Insert(pango.NewAttrInsertHyphens(false))
	l.SetAttributes(attrs)
}

func (k *KeyCheck) accept() {
	if k.busy || !k.model.CanAccept || k.profile == "" {
		return
	}
	profile, fp := k.profile, k.model.Fingerprint
	gen := k.gen
	k.setError("")
	k.setBusy(true, i18n.T("Accepting the key…"))
	call(k.env, k.svc, func(ctx context.Context, s Service) (struct{}, error) {
		return struct{}{}, s.AcceptHostKey(ctx, profile, fp, api.Auth{})
	}, func(_ struct{}, err error) {
		if gen != k.gen {
			return
		}
		if err != nil {
			k.setBusy(false, "")
			k.setError(Failure(StageAccept, err))
			return
		}
		k.accepted = true
		k.AcceptedLabel.SetLabel(i18n.T("Keepsake trusts this computer now."))
		k.AcceptedBox.SetVisible(true)
		k.AcceptButton.SetVisible(false)
		k.setBusy(false, "")
		k.env.Refresh()
		if k.OnAccepted != nil {
			k.OnAccepted()
		}
	})
}
