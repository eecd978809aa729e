package api

import (
	"fmt"
	"os/user"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/keepsake/keepsake/shared/grammar"
)

// SettingKeys are the keys of Settings, in order.
func SettingKeys() []string {
	var ks []string
	for _, f := range fields(reflect.TypeOf(Settings{})) {
		ks = append(ks, f.key)
	}
	return ks
}

// Set reads one setting as people type it (keepsakectl configure
// KEY=VALUE, the same words as keepsake.conf): lists of paths separated
// by ":", durations ("1h", "90s", "1d" or seconds; "off" for an
// interval), yes/no, and text.
func (s *Settings) Set(key, text string) error {
	rv := reflect.ValueOf(s).Elem()
	for _, f := range fields(rv.Type()) {
		if f.key != key {
			continue
		}
		fv := rv.FieldByIndex(f.index)
		v, err := parseSetting(key, f.typ.Elem(), text)
		if err != nil {
			return err
		}
		p := reflect.New(f.typ.Elem())
		p.Elem().Set(reflect.ValueOf(v).Convert(f.typ.Elem()))
		fv.Set(p)
		return nil
	}
	return fmt.Errorf("unknown setting %q (known: %s)", key, strings.Join(SettingKeys(), ", "))
}

func parseSetting(key string, t reflect.Type, text string) (any, error) {
	switch t {
	case pathsType:
		ps := []Path{}
		if grammar.IsRemote(text) {
			// Another computer: one address, its paths separated by
			// commas (ssh://u@host:2222/home/u,/etc); ':' is the port's.
			return append(ps, Path(text)), nil
		}
		if text != "" {
			for _, p := range strings.Split(text, ":") {
				ps = append(ps, Path(p))
			}
		}
		return ps, nil
	}
	switch t.Kind() {
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint32 { // local users
			l := []uint32{}
			for _, w := range strings.FieldsFunc(text, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
				uid, err := lookupUID(w)
				if err != nil {
					return nil, fmt.Errorf("%s: %v", key, err)
				}
				l = append(l, uid)
			}
			return l, nil
		}
		l := []string{}
		if text != "" {
			l = strings.Split(text, ":")
		}
		return l, nil
	case reflect.Bool:
		switch strings.ToLower(text) {
		case "yes", "true", "on", "1":
			return true, nil
		case "no", "false", "off", "0":
			return false, nil
		}
		return nil, fmt.Errorf("%s wants yes or no, not %q", key, text)
	case reflect.Uint32: // a count of days
		n, err := strconv.ParseUint(text, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%s wants a whole number, not %q", key, text)
		}
		return uint32(n), nil
	case reflect.Uint64: // a duration in seconds
		if strings.EqualFold(text, "off") {
			return uint64(0), nil
		}
		var n uint64
		if _, err := fmt.Sscanf(text, "%d", &n); err == nil && fmt.Sprint(n) == text {
			return n, nil
		}
		d, err := grammar.ParseDuration(text)
		if err != nil {
			return nil, fmt.Errorf("%s wants seconds, a duration like 30m, 1h or 1d, or off: %v", key, err)
		}
		return uint64(d / time.Second), nil
	}
	return text, nil
}

// lookupUID reads a local user as a uid or a user name.
func lookupUID(w string) (uint32, error) {
	if n, err := strconv.ParseUint(w, 10, 32); err == nil {
		return uint32(n), nil
	}
	u, err := user.Lookup(w)
	if err != nil {
		return 0, fmt.Errorf("%q is neither a uid nor a user of this computer", w)
	}
	n, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("user %q has uid %q", w, u.Uid)
	}
	return uint32(n), nil
}
