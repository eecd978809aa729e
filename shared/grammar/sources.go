package grammar

import "fmt"

// RemoteSources reads a list of sources that are either folders on this
// computer or ssh:// addresses of one other computer (one user@host:port),
// whose paths it joins in order. remote is false for local folders.
func RemoteSources(sources []string) (r Remote, remote bool, err error) {
	for i, s := range sources {
		if !IsRemote(s) {
			if remote {
				return r, false, fmt.Errorf("%q is a folder here, but %q is another computer: back up this computer or one other computer", s, sources[0])
			}
			continue
		}
		one, err := ParseRemote(s)
		if err != nil {
			return r, false, err
		}
		if !remote {
			if i > 0 {
				return r, false, fmt.Errorf("%q is another computer, but %q is a folder here: back up this computer or one other computer", s, sources[0])
			}
			r, remote = one, true
			r.Paths = nil
		} else if one.User != r.User || one.Host != r.Host || one.Port != r.Port {
			return r, false, fmt.Errorf("%q is not the same computer as %q: one computer at a time", s, sources[0])
		}
		for _, p := range one.Paths {
			if !contains(r.Paths, p) {
				r.Paths = append(r.Paths, p)
			}
		}
	}
	return r, remote, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
