package searchprovider

import (
	"context"
	"encoding/hex"
	"fmt"
	"mime"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/i18n"
)

// Names on the session bus. The bus name is the app's id with a suffix:
// GApplication owns the id itself on its own connection, and this
// provider answers on another (godbus) so that no search ever waits for
// the GTK main loop.
const (
	BusName    = "io.github.keepsake.Keepsake.SearchProvider"
	ObjectPath = "/io/github/keepsake/Keepsake/SearchProvider"
	Interface  = "org.gnome.Shell.SearchProvider2"
)

// Limit is how many files the overview is given: it shows a handful,
// and a short answer keeps each keystroke fast.
const Limit = 20

// hitLimit is how many versions one search asks the service for: a
// file has several, and Limit files are wanted.
const hitLimit = 3 * Limit

// Searcher is the part of shared/client the provider uses.
type Searcher interface {
	Search(ctx context.Context, profile, pattern string, opts api.SearchOptions) ([]api.SearchHit, error)
}

// Options connect the provider to the app. Every function is called
// from godbus's goroutines: they must be safe there.
type Options struct {
	// Client is the connection to the service; nil while there is none
	// (then every search finds nothing).
	Client func() Searcher
	// Profile is the user's own profile ("" when there is none yet).
	Profile func() string
	// Latest is the newest backup of that profile, to say a file is in
	// it.
	Latest func() string
	// Home is the user's home folder, shown as "~".
	Home string
	// Now is the time descriptions are relative to (time.Now if nil).
	Now func() time.Time
	// ActivateResult opens the history of a backed-up file.
	ActivateResult func(path string)
	// LaunchSearch opens the app's Search page with the terms.
	LaunchSearch func(text string)
}

// Result is one file the overview lists.
type Result struct {
	ID string
	// Path is the file's path (raw bytes); Name and Dir split it.
	Path, Name, Dir string
	// Last is the newest backup holding it; LastSnapshot its name.
	Last         time.Time
	LastSnapshot string
}

// Provider answers the shell.
type Provider struct {
	opts Options

	mu sync.Mutex
	// results are the files of recent answers by id, for
	// GetResultMetas and ActivateResult, which come after them.
	results map[string]Result
	// cancel stops the search under way: when newer terms arrive, the
	// older answer is of no use to anyone.
	cancel context.CancelFunc
	gen    uint64
	// last is the latest answer and complete says it holds every file
	// matching its terms (the service did not stop at hitLimit, nor the
	// provider at Limit): only then can a narrower search be answered
	// from it.
	last     []string
	complete bool
}

// New makes a provider.
func New(opts Options) *Provider {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Provider{opts: opts, results: map[string]Result{}}
}

// ID names a path in the shell's result lists, which are D-Bus strings:
// UTF-8. A path that is valid UTF-8 is its own id; any other is written
// in hex after "x:" (a Linux name is bytes), and comes back exactly.
func ID(p string) string {
	if utf8.ValidString(p) && strings.HasPrefix(p, "/") {
		return p
	}
	return "x:" + hex.EncodeToString([]byte(p))
}

// PathOf reads an id back; ok is false for anything ID never makes.
func PathOf(id string) (p string, ok bool) {
	if strings.HasPrefix(id, "/") {
		return id, true
	}
	if rest, found := strings.CutPrefix(id, "x:"); found {
		b, err := hex.DecodeString(rest)
		if err == nil && len(b) > 0 {
			return string(b), true
		}
	}
	return "", false
}

// Pattern is the service's pattern for the shell's terms: the longest
// term, the one that narrows the search most; the others are checked on
// the answers (Matches). Terms are what a person typed, split at spaces.
func Pattern(terms []string) string {
	best := ""
	for _, t := range terms {
		t = strings.TrimSpace(t)
		if utf8.RuneCountInString(t) > utf8.RuneCountInString(best) {
			best = t
		}
	}
	return best
}

// Matches says whether a file name has every term in it, ignoring case,
// as the service matches a name without wildcards. A term with wildcards
// was the service's pattern, or is left to it.
func Matches(name string, terms []string) bool {
	lower := strings.ToLower(name)
	for _, t := range terms {
		t = strings.TrimSpace(t)
		if t == "" || strings.ContainsAny(t, "*?[") {
			continue
		}
		if !strings.Contains(lower, strings.ToLower(t)) {
			return false
		}
	}
	return true
}

// Group turns the service's hits (one per version) into files, the most
// recently backed up first, at most limit of them, each having every
// term in its name. Folders are left out: the overview lists files.
func Group(hits []api.SearchHit, terms []string, limit int) []Result {
	byPath := map[string]int{}
	var out []Result
	for _, h := range hits {
		p := string(h.Path)
		if h.Type == "dir" || p == "" {
			continue
		}
		dir, name := path.Split(p)
		if !Matches(name, terms) {
			continue
		}
		last := h.Last
		if last.IsZero() {
			last = h.First
		}
		snap := ""
		if n := len(h.Snapshots); n > 0 {
			snap = h.Snapshots[n-1]
		}
		if i, ok := byPath[p]; ok {
			if last.After(out[i].Last) {
				out[i].Last, out[i].LastSnapshot = last, snap
			}
			continue
		}
		if dir != "/" {
			dir = strings.TrimSuffix(dir, "/")
		}
		byPath[p] = len(out)
		out = append(out, Result{ID: ID(p), Path: p, Name: name, Dir: dir, Last: last, LastSnapshot: snap})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Last.Equal(out[j].Last) {
			return out[i].Last.After(out[j].Last)
		}
		return out[i].Path < out[j].Path
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// Search runs one search for the shell's terms and returns the ids of
// the files found. A newer search cancels this one, which then returns
// nothing: the shell has stopped waiting for it.
func (p *Provider) Search(terms []string) []string {
	pattern := Pattern(terms)
	if pattern == "" {
		return []string{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p.mu.Lock()
	if p.cancel != nil {
		p.cancel()
	}
	p.cancel = cancel
	p.gen++
	gen := p.gen
	p.mu.Unlock()

	c, profile := p.connection(ctx)
	if c == nil || profile == "" {
		return []string{}
	}
	hits, err := c.Search(ctx, profile, pattern, api.SearchOptions{Limit: hitLimit})
	if err != nil {
		// The overview has no place for errors: no results is the
		// answer (the app's Search page says what went wrong).
		return []string{}
	}
	results := Group(hits, terms, Limit+1)
	complete := len(hits) < hitLimit && len(results) <= Limit
	if len(results) > Limit {
		results = results[:Limit]
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if gen != p.gen {
		return []string{}
	}
	ids := p.remember(results)
	p.last, p.complete = ids, complete
	return ids
}

// StartWait is how long a search waits for the app's first reading of
// the service: the shell may start the app for a search, and its first
// keystroke comes before the app knows the user's profile.
var StartWait = time.Second

// connection is the service and the user's profile, waiting up to
// StartWait for them (or until a newer search cancels ctx).
func (p *Provider) connection(ctx context.Context) (Searcher, string) {
	deadline := time.Now().Add(StartWait)
	for {
		var c Searcher
		if p.opts.Client != nil {
			c = p.opts.Client()
		}
		profile := ""
		if p.opts.Profile != nil {
			profile = p.opts.Profile()
		}
		if c != nil && profile != "" || time.Now().After(deadline) {
			return c, profile
		}
		select {
		case <-ctx.Done():
			return nil, ""
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Subsearch narrows earlier results to longer terms (the shell asks so
// as a person types on). When the earlier answer was complete, every
// file matching the new terms is among it: they are filtered here, with
// no call to the service. Otherwise it searches again.
func (p *Provider) Subsearch(previous, terms []string) []string {
	if ids, ok := p.filter(previous, terms); ok {
		return ids
	}
	return p.Search(terms)
}

// filter keeps the previous results whose names have every term; ok is
// false when they are not the latest complete answer.
func (p *Provider) filter(previous, terms []string) (ids []string, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.complete || !slices.Equal(previous, p.last) {
		return nil, false
	}
	ids = []string{}
	for _, id := range previous {
		if r, known := p.results[id]; known && Matches(r.Name, terms) {
			ids = append(ids, id)
		}
	}
	// Still complete: it is what a search for the new terms would find.
	p.last = ids
	return ids, true
}

// remember keeps the latest results for GetResultMetas (with p.mu held);
// older ones are dropped, the shell asks about its latest list only.
func (p *Provider) remember(results []Result) []string {
	if len(p.results) > 10*Limit {
		p.results = map[string]Result{}
	}
	ids := make([]string, len(results))
	for i, r := range results {
		p.results[r.ID] = r
		ids[i] = r.ID
	}
	return ids
}

// Meta is what the overview shows of one result.
type Meta struct {
	ID, Name, Description string
	// Icon is a GIcon as g_icon_to_string writes it: the file type's
	// icons, the most specific first.
	Icon string
}

// Metas describe the results the shell asks about; ids it does not know
// (any more) are left out.
func (p *Provider) Metas(ids []string) []Meta {
	latest := ""
	if p.opts.Latest != nil {
		latest = p.opts.Latest()
	}
	now := p.opts.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Meta, 0, len(ids))
	for _, id := range ids {
		r, ok := p.results[id]
		if !ok {
			continue
		}
		out = append(out, Meta{
			ID:          id,
			Name:        humanize.Display(r.Name),
			Description: Description(r, p.opts.Home, latest, now),
			Icon:        Icon(r.Name),
		})
	}
	return out
}

// Description is a result's second line: where the file is and the
// newest backup that has it.
func Description(r Result, home, latest string, now time.Time) string {
	folder := humanize.Folder(r.Dir, home)
	switch {
	case latest != "" && r.LastSnapshot == latest:
		// TRANSLATORS: a search result's second line in the Activities overview: %s is the file's folder ("~/Documents").
		return fmt.Sprintf(i18n.T("In %s, in the latest backup"), folder)
	case r.Last.IsZero():
		// TRANSLATORS: a search result's second line in the Activities overview: %s is the file's folder ("~/Documents").
		return fmt.Sprintf(i18n.T("In %s"), folder)
	}
	// TRANSLATORS: a search result's second line in the Activities overview: the first %s is the file's folder ("~/Documents"), the second when ("yesterday at 14:05", "3 minutes ago").
	return fmt.Sprintf(i18n.T("In %s, last backed up %s"), folder, humanize.When(r.Last, now))
}

// Icon is the icon of a file's type, guessed from its name the way the
// Files app does for a file it cannot read (the backed-up copy is on the
// drive): "image-jpeg" then "image-x-generic" for photo.jpg. Go's mime
// package reads the system's shared MIME database.
func Icon(name string) string {
	names := []string{}
	if ext := path.Ext(name); ext != "" {
		if t := mime.TypeByExtension(strings.ToLower(ext)); t != "" {
			if i := strings.IndexByte(t, ';'); i >= 0 {
				t = t[:i]
			}
			t = strings.TrimSpace(t)
			if media, _, ok := strings.Cut(t, "/"); ok {
				names = append(names, strings.ReplaceAll(t, "/", "-"), genericIcon(media))
			}
		}
	}
	names = append(names, "text-x-generic")
	seen := map[string]bool{}
	var uniq []string
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			uniq = append(uniq, n)
		}
	}
	// GLib's form for a themed icon with fallbacks.
	return ". GThemedIcon " + strings.Join(uniq, " ")
}

// genericIcon is the freedesktop icon naming spec's generic icon of a
// media type.
func genericIcon(media string) string {
	switch media {
	case "application":
		return "application-x-generic"
	case "inode":
		return "inode-x-generic"
	}
	return media + "-x-generic"
}

// Activate opens the history of a result.
func (p *Provider) Activate(id string) {
	if pth, ok := PathOf(id); ok && p.opts.ActivateResult != nil {
		p.opts.ActivateResult(pth)
	}
}

// Launch opens the app's Search page with the terms.
func (p *Provider) Launch(terms []string) {
	if p.opts.LaunchSearch != nil {
		// The Search page takes one name, as the service does: the
		// longest term.
		p.opts.LaunchSearch(Pattern(terms))
	}
}
