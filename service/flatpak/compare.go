package flatpak

import "strings"

// States of a saved ref, said of what is installed now.
const (
	StateMissing = "missing" // not installed now
	StateOlder   = "older"   // installed now, older than the saved one
	StateNewer   = "newer"   // installed now, newer than the saved one
	StateSame    = "same"    // the same commit, or the same version and date
	// StateDifferent: another commit, and neither version nor date says
	// which is newer.
	StateDifferent = "different"
)

// Status is what is installed now of one saved ref.
type Status struct {
	Ref       Ref
	State     string
	Installed *Ref // nil when missing
}

// Compare says, for each ref of the saved inventory, what is installed now
// (from now, an inventory of the same installation). Versions decide
// first, as a person would judge; commit dates decide when versions are
// missing or equal.
func Compare(saved, now Inventory) []Status {
	installed := map[string]*Ref{}
	for i := range now.Refs {
		installed[now.Refs[i].Ref] = &now.Refs[i]
	}
	out := make([]Status, 0, len(saved.Refs))
	for _, s := range saved.Refs {
		st := Status{Ref: s, Installed: installed[s.Ref]}
		if st.Installed == nil {
			st.State = StateMissing
		} else {
			st.State = compareRef(s, *st.Installed)
		}
		out = append(out, st)
	}
	return out
}

func compareRef(saved, cur Ref) string {
	if saved.Commit != "" && saved.Commit == cur.Commit {
		return StateSame
	}
	if saved.Version != "" && cur.Version != "" {
		switch c := compareVersions(cur.Version, saved.Version); {
		case c > 0:
			return StateNewer
		case c < 0:
			return StateOlder
		}
	}
	if saved.Timestamp != 0 && cur.Timestamp != 0 {
		switch {
		case cur.Timestamp > saved.Timestamp:
			return StateNewer
		case cur.Timestamp < saved.Timestamp:
			return StateOlder
		}
		if saved.Version == cur.Version {
			return StateSame
		}
	}
	return StateDifferent
}

// compareVersions orders version strings the way people read them: runs of
// digits compare as numbers, other runs as text, and a version that goes
// on after an equal prefix is the newer ("1.2" < "1.2.1" < "1.10").
func compareVersions(a, b string) int {
	a, b = strings.TrimLeft(a, versionSeps), strings.TrimLeft(b, versionSeps)
	for a != "" && b != "" {
		ra, resta := versionRun(a)
		rb, restb := versionRun(b)
		da, db := isDigit(ra[0]), isDigit(rb[0])
		switch {
		case da && db:
			na, nb := strings.TrimLeft(ra, "0"), strings.TrimLeft(rb, "0")
			if len(na) != len(nb) {
				return sign(len(na) - len(nb))
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
		case da != db:
			// A number is newer than a word ("1.0" > "1.beta").
			if da {
				return 1
			}
			return -1
		default:
			if c := strings.Compare(ra, rb); c != 0 {
				return c
			}
		}
		a, b = strings.TrimLeft(resta, versionSeps), strings.TrimLeft(restb, versionSeps)
	}
	return sign(len(a) - len(b))
}

const versionSeps = ".-_+~"

// versionRun splits off the leading run of digits or of other characters
// of s, which does not start with a separator.
func versionRun(s string) (string, string) {
	i := 1
	for i < len(s) && isDigit(s[i]) == isDigit(s[0]) && !strings.ContainsRune(versionSeps, rune(s[i])) {
		i++
	}
	return s[:i], s[i:]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func sign(n int) int {
	switch {
	case n > 0:
		return 1
	case n < 0:
		return -1
	}
	return 0
}
