package config

import (
	"fmt"
	"strings"

	"github.com/keepsake/keepsake/shared/grammar"
)

// Remote says whether the profile backs up another computer and which:
// its sources are ssh:// addresses of one user@host:port, whose paths it
// joins (grammar.RemoteSources). A profile of local folders gives
// ok=false.
func (p Profile) Remote() (r grammar.Remote, ok bool, err error) {
	return grammar.RemoteSources(p.Sources)
}

// HostName is the folder the profile's snapshots go to on the drive for
// another computer: Host, or the address's host. "" for a local profile
// (the service's own host name).
func (p Profile) HostName() string {
	r, ok, err := p.Remote()
	if err != nil || !ok {
		return ""
	}
	if p.Host != "" {
		return p.Host
	}
	return r.DefaultName()
}

// RestoreTarget is where restores of the profile's files may be sent on
// the other computer (ok false: nowhere).
func (p Profile) RestoreTarget() (r grammar.Remote, ok bool) {
	r, err := parseRestoreTo(p.RestoreTo)
	return r, err == nil && p.RestoreTo != ""
}

// parseRestoreTo reads a restore-to address: ssh://[user@]host[:port]/dir
// with exactly one folder; "" is none.
func parseRestoreTo(s string) (grammar.Remote, error) {
	if s == "" {
		return grammar.Remote{}, nil
	}
	r, err := grammar.ParseRemote(s)
	if err != nil {
		return r, err
	}
	if len(r.Paths) != 1 || r.Paths[0] == "/" {
		return r, fmt.Errorf("%q must name one folder there, not %d", s, len(r.Paths))
	}
	return r, nil
}

// checkHost checks a computer's name on the drive: it becomes a folder.
func checkHost(s string) error {
	switch {
	case s == "":
		return nil
	case s == "." || s == ".." || strings.ContainsAny(s, "/\\\x00") || strings.HasPrefix(s, "."):
		return fmt.Errorf("%q cannot name a folder on the drive", s)
	case len(s) > 64:
		return fmt.Errorf("%q is longer than 64 characters", s)
	}
	return nil
}
