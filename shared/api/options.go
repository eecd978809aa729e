package api

import (
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/keepsake/keepsake/shared/kerr"
)

// Settings are the keys of Profile.Configure and Manager.CreateProfile;
// nil leaves a setting as it is.
type Settings struct {
	Sources  *[]Path   `key:"sources" json:"sources,omitempty"`
	Excludes *[]string `key:"excludes" json:"excludes,omitempty"`
	// IncludeMounts are mount points inside the sources whose other
	// filesystems are backed up too (others are left out).
	IncludeMounts  *[]Path `key:"include-mounts" json:"include_mounts,omitempty"`
	Drive          *string `key:"drive" json:"drive,omitempty"`
	Interval       *uint64 `key:"interval" json:"interval,omitempty"` // seconds, 0 = off
	OnChange       *bool   `key:"on-change" json:"on_change,omitempty"`
	Quiet          *uint64 `key:"quiet" json:"quiet,omitempty"` // seconds
	OnPlug         *bool   `key:"on-plug" json:"on_plug,omitempty"`
	SkipOnBattery  *bool   `key:"skip-on-battery" json:"skip_on_battery,omitempty"`
	Retention      *string `key:"retention" json:"retention,omitempty"`
	MinFree        *string `key:"min-free" json:"min_free,omitempty"`
	Flatpak        *bool   `key:"flatpak" json:"flatpak,omitempty"`
	FlatpakOffline *bool   `key:"flatpak-offline" json:"flatpak_offline,omitempty"`
	// Host names another computer's folder on the drive ("" = the
	// address's host); only for a profile whose sources are ssh://.
	Host *string `key:"host" json:"host,omitempty"`
	// OverdueDays: warn when the last success is older (0 = never).
	OverdueDays *uint32 `key:"overdue-days" json:"overdue_days,omitempty"`
	// Viewers are local uids that may browse and restore another
	// computer's files besides administrators.
	Viewers *[]uint32 `key:"viewers" json:"viewers,omitempty"`
	// RestoreTo is the other computer's folder restores may be sent to
	// (ssh://user@host/dir, writable through an rrsync -wo key line; ""
	// = none).
	RestoreTo *string `key:"restore-to" json:"restore_to,omitempty"`
}

// Auth is the option every method takes: fail with NotAuthorized instead
// of letting polkit ask for a password.
type Auth struct {
	NoUserInteraction bool `key:"auth.no_user_interaction"`
}

// Scope is the option of methods that show stored files: an
// administrator sees every user's files (browse-all).
type Scope struct {
	AllUsers bool `key:"all-users"`
}

// BackupOptions are BackupNow's options.
type BackupOptions struct {
	Auth
	// Full ignores the change journal and reads every folder.
	Full bool `key:"full"`
}

// ListOptions are ListSnapshots', ListDirectory's, Versions' and
// ListFlatpaks' options.
type ListOptions struct {
	Auth
	Scope
}

// SearchOptions are Search's options.
type SearchOptions struct {
	Auth
	Scope
	In    Path      `key:"in"`
	Since time.Time `key:"since"`
	Until time.Time `key:"until"`
	Limit uint32    `key:"limit"`
}

// DeletedOptions are Deleted's options.
type DeletedOptions struct {
	Auth
	Scope
	Since time.Time `key:"since"`
}

// RestoreOptions are Restore's options.
type RestoreOptions struct {
	Auth
	Scope
	To        Path `key:"to"`
	Overwrite bool `key:"overwrite"`
	// ToComputer sends the paths to another computer's RestoreTo folder.
	ToComputer bool `key:"to-computer"`
}

// PruneOptions are Prune's options.
type PruneOptions struct {
	Auth
	// Free is a size or percentage to make free instead of the policy.
	Free   string `key:"free"`
	DryRun bool   `key:"dry-run"`
}

// VerifyOptions are Verify's options.
type VerifyOptions struct {
	Auth
	// Sample is a percentage (1-100); 0 checks everything.
	Sample uint32 `key:"sample"`
}

// FlatpakRestoreOptions are RestoreFlatpaks' options.
type FlatpakRestoreOptions struct {
	Auth
	Installation string `key:"installation"`
	Offline      bool   `key:"offline"`
	// Data: also put back each app's data (default true).
	Data      *bool `key:"data"`
	Overwrite bool  `key:"overwrite"`
}

// AppDataOptions are RestoreAppData's options.
type AppDataOptions struct {
	Auth
	Overwrite bool `key:"overwrite"`
}

// ToOptions is ToDict without the keys at their zero value: what a caller
// sends. An optional (pointer) field is sent whenever it is set, even to
// its zero value: FlatpakRestoreOptions.Data false means "no data",
// which is not the default.
func ToOptions(v any) Dict {
	m := ToDict(v)
	for _, f := range fields(reflect.Indirect(reflect.ValueOf(v)).Type()) {
		if x, ok := m[f.key]; ok && f.typ.Kind() != reflect.Pointer && reflect.ValueOf(x.Value()).IsZero() {
			delete(m, f.key)
		}
	}
	return m
}

// FromOptions reads options into dst, refusing keys dst does not know and
// values of the wrong type as InvalidArgs errors that name them.
func FromOptions(m Dict, dst any) error {
	known := map[string]bool{}
	for _, f := range fields(reflect.TypeOf(dst).Elem()) {
		known[f.key] = true
	}
	for k := range m {
		if !known[k] {
			var ks []string
			for k := range known {
				ks = append(ks, k)
			}
			sort.Strings(ks)
			return kerr.New(kerr.InvalidArgs, "unknown option %q (known here: %s)", k, strings.Join(ks, ", "))
		}
	}
	if err := FromDict(m, dst); err != nil {
		return kerr.New(kerr.InvalidArgs, "option %v", err)
	}
	return nil
}
