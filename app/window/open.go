package window

import "github.com/keepsake/keepsake/app/pages/history"

// The desktop opens the window on something: a file's history or a
// backed-up folder (the Files app's "Previous Versions…"), or the Search
// page with a name (GNOME Shell's overview). It is always about the
// user's own files, whatever computer the window shows, and waits for
// the first reading of the service when the app was just started for it.

// ShowHistory opens the version history of one of the user's files.
func (w *Window) ShowHistory(path string) {
	w.whenReady(func() { history.Open(w.OwnEnv(), path) })
}

// BrowseFolder shows a folder of the user's backups on the Browse page.
func (w *Window) BrowseFolder(dir string) {
	w.whenReady(func() {
		w.selectProfile(w.OwnProfile())
		w.env.Show("browse")
		w.browse.Open(dir)
	})
}

// ShowSearch shows the Search page searching for text.
func (w *Window) ShowSearch(text string) {
	w.whenReady(func() {
		w.selectProfile(w.OwnProfile())
		w.env.Show("search")
		w.search.Find(text)
	})
}

// ShowPage shows one of the pages ("browse", "search", …).
func (w *Window) ShowPage(name string) {
	w.whenReady(func() { w.env.Show(name) })
}

// whenReady runs f now when the pages show the service's state, else
// after the first reading that does; the setup or the "service not
// running" page stays in front until then.
func (w *Window) whenReady(f func()) {
	st := w.currentState()
	if st.Err == nil && len(st.Profiles) > 0 && !w.inSetup && w.Top.VisibleChildName() == "main" {
		f()
		return
	}
	w.pending = append(w.pending, f)
}

func (w *Window) runPending() {
	fs := w.pending
	w.pending = nil
	for _, f := range fs {
		f()
	}
}
