package computer

import (
	_ "embed"
	"fmt"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/computers"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/ui"
	"github.com/keepsake/keepsake/shared/i18n"
)

//go:embed review.ui
var reviewUI string

// ReviewWindow checks the host key of a computer already added: one
// whose key changed (its backups stopped) or was never accepted.
type ReviewWindow struct {
	*adw.Window `ui:"window"`

	Title     *adw.WindowTitle `ui:"title"`
	Intro     *gtk.Label       `ui:"intro"`
	CheckSlot *adw.Bin         `ui:"check_slot"`

	// Check is the key check.
	Check *KeyCheck

	env     *ui.Env
	profile string
}

// ReviewIntro is what the window says first, for the computer's HostKey.
func ReviewIntro(computer, hostKey string) string {
	if hostKey == computers.KeyChanged {
		// TRANSLATORS: %s is the other computer's name.
		return fmt.Sprintf(i18n.T("Backups of %s have stopped until its key is checked."), computer)
	}
	// TRANSLATORS: %s is the other computer's name.
	return fmt.Sprintf(i18n.T("Keepsake backs up %s once you have checked that it is the right computer and accepted its key."), computer)
}

// NewReview builds the window for a profile without showing it.
func NewReview(env *ui.Env, profile string) *ReviewWindow {
	w := &ReviewWindow{env: env, profile: profile}
	ui.Fill(w, reviewUI)
	w.Check = NewKeyCheck(env, nil, nil)
	w.Check.SetProfile(profile)
	w.CheckSlot.SetChild(w.Check.Root)
	if parent := env.Window(); parent != nil {
		w.SetTransientFor(parent)
	}
	st := env.State()
	title, key := profile, ""
	if p, ok := st.Profile(profile); ok {
		title, key = computers.Title(p, st.Profiles), p.HostKey
		if where := computers.Where(p); where != "" {
			w.Title.SetSubtitle(humanize.Escape(where))
		}
	}
	w.Title.SetTitle(humanize.Escape(title))
	w.Intro.SetLabel(ReviewIntro(title, key))
	w.Check.Reset(title)
	w.Check.OnAccepted = func() {
		// TRANSLATORS: %s is the other computer's name.
		env.Toast(humanize.Escape(fmt.Sprintf(i18n.T("Keepsake trusts %s now. Its backups go on."), title)))
		w.Close()
	}
	return w
}

// SetService makes the window call svc (for tests).
func (w *ReviewWindow) SetService(svc Service) { w.Check.svc = svc }

// Review opens the key check of a profile's computer and asks at once.
func Review(env *ui.Env, profile string) *ReviewWindow {
	w := NewReview(env, profile)
	w.Present()
	w.Check.Check()
	return w
}
