package api

import (
	"fmt"
	"sort"
	"strings"

	"github.com/godbus/dbus/v5"
)

// Outcomes of a FlatpakOutcome.
const (
	OutcomeInstalled = "installed" // installed, added or applied
	OutcomePresent   = "present"   // already there: nothing done
	OutcomeFailed    = "failed"
	OutcomeRestored  = "restored" // an app's data, put back
)

// KindData is the Kind of an app's data in a FlatpakOutcome (the others
// are the flatpak package's: app, runtime, remote, override, pin, mask).
const KindData = "data"

// FlatpakOutcome is one thing a Flatpak restore did.
type FlatpakOutcome struct {
	// Kind is app, runtime, remote, override, pin, mask or data.
	Kind string `json:"kind"`
	// Ref is what: a ref, a remote's name, an app id (override), a
	// pattern (pin, mask) or, for data, the folder as backed up; "" for
	// data that could not be restored at all.
	Ref Path `json:"ref"`
	// Outcome is installed, present, failed or restored (data).
	Outcome string `json:"outcome"`
	// Message is why it failed, or a remark ("kept its current URL").
	Message string `json:"message,omitempty"`
	// To is where restored data went.
	To Path `json:"to,omitempty"`
}

// FlatpakRestoreResult is the Result of a flatpak-restore Job. Its keys
// are not fixed: one "KIND REF" per thing done ("data" alone when the app
// data could not be restored), the value "installed", "present",
// "failed: why" or, for data, "restored to PATH". Remarks on what
// succeeded do not cross the bus.
type FlatpakRestoreResult struct {
	// Outcomes in the order a restore works: remotes, runtimes, apps,
	// overrides, pins, masks, data.
	Outcomes []FlatpakOutcome `json:"outcomes"`
}

// ToDict is the Job's Result (api.ToDict calls it). Paths, and messages
// that may hold them, cross as EncodePath writes them.
func (r FlatpakRestoreResult) ToDict() Dict {
	m := Dict{}
	for _, o := range r.Outcomes {
		key := o.Kind
		if o.Ref != "" {
			key += " " + EncodePath(string(o.Ref))
		}
		v := o.Outcome
		switch o.Outcome {
		case OutcomeFailed:
			if o.Message != "" {
				v += ": " + EncodePath(o.Message)
			}
		case OutcomeRestored:
			v = "restored to " + EncodePath(string(o.To))
		}
		m[key] = dbus.MakeVariant(v)
	}
	return m
}

// FromDict reads a Job's Result (api.FromDict calls it); a value that is
// not a string is left out, and the error names its key.
func (r *FlatpakRestoreResult) FromDict(m Dict) error {
	r.Outcomes = make([]FlatpakOutcome, 0, len(m))
	var bad error
	for k, v := range m {
		s, ok := v.Value().(string)
		if !ok {
			// Said, but the other outcomes are still read.
			if bad == nil {
				bad = fmt.Errorf("key %q is %s, expected s", k, v.Signature())
			}
			continue
		}
		kind, ref, _ := strings.Cut(k, " ")
		o := FlatpakOutcome{Kind: kind, Ref: Path(DecodePath(ref)), Outcome: s}
		switch {
		case s == OutcomeFailed:
		case strings.HasPrefix(s, OutcomeFailed+": "):
			o.Outcome, o.Message = OutcomeFailed, DecodePath(strings.TrimPrefix(s, OutcomeFailed+": "))
		case strings.HasPrefix(s, "restored to "):
			o.Outcome, o.To = OutcomeRestored, Path(DecodePath(strings.TrimPrefix(s, "restored to ")))
		}
		r.Outcomes = append(r.Outcomes, o)
	}
	r.Sort()
	return bad
}

// kindOrder is the order a restore works in, which is how its results read.
var kindOrder = map[string]int{"remote": 0, "runtime": 1, "app": 2, "override": 3, "pin": 4, "mask": 5, KindData: 6}

// Sort puts the outcomes in the order a restore works in, then by ref.
func (r *FlatpakRestoreResult) Sort() {
	rank := func(k string) int {
		if n, ok := kindOrder[k]; ok {
			return n
		}
		return len(kindOrder)
	}
	sort.SliceStable(r.Outcomes, func(i, j int) bool {
		a, b := r.Outcomes[i], r.Outcomes[j]
		if rank(a.Kind) != rank(b.Kind) {
			return rank(a.Kind) < rank(b.Kind)
		}
		return a.Ref < b.Ref
	})
}

// Counts are the apps and runtimes installed or already present, and the
// things that failed (of any kind).
func (r FlatpakRestoreResult) Counts() (installed, failed int) {
	for _, o := range r.Outcomes {
		switch {
		case o.Outcome == OutcomeFailed:
			failed++
		case o.Kind == "app" || o.Kind == "runtime":
			installed++
		}
	}
	return installed, failed
}

// Summary says what a Flatpak restore did in one line.
func (r FlatpakRestoreResult) Summary() string {
	installed, failed := r.Counts()
	return fmt.Sprintf("%d apps and runtimes installed or present, %d failed", installed, failed)
}
