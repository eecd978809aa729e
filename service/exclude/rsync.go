package exclude

import "strings"

// RsyncPatterns are the patterns rsync's --exclude reads the way this
// package does, translated: what a pull of another computer can leave on
// the other side instead of transferring it and removing it afterwards.
// A pattern whose meaning could differ ("**", escapes, character
// classes) is left out, so rsync never excludes more than the backup
// would; the backup still applies every pattern to what arrives. With a
// "!" pattern anywhere none is given: a later pattern may re-include
// what an earlier one excludes. "~/" stands for /root and every folder
// in /home there, which is what the backup of another computer takes for
// its homes.
func RsyncPatterns(patterns []string) []string {
	var out []string
	for _, p := range patterns {
		p = trimTrailingSpace(p)
		if p == "" || p[0] == '#' {
			continue
		}
		if p[0] == '!' {
			return nil
		}
		if strings.HasPrefix(p, "+ ") || strings.HasPrefix(p, "- ") {
			continue // rsync would read its old-style rule prefix
		}
		if strings.ContainsAny(p, "\\[") || strings.Contains(p, "**") || p == "~" || p == "~/" {
			continue
		}
		if bad := func() bool {
			for _, c := range strings.Split(strings.Trim(p, "/"), "/") {
				if c == "." || c == ".." || c == "" && p != "/" {
					return true
				}
			}
			return false
		}(); bad || strings.Trim(p, "/") == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(p, "~/"); ok {
			out = append(out, "/root/"+rest, "/home/*/"+rest)
			continue
		}
		out = append(out, p)
	}
	return out
}
