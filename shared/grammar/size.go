package grammar

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Size is a size as typed: bytes, or a percentage of a drive.
type Size struct {
	Bytes   int64
	Percent float64
	IsPct   bool
}

// ParseSize reads "1048576", a number with a unit, or "10%". Units as df
// and du print them are binary: "500K", "500M", "2G", "1.5T", "1P" and
// "2GiB", "2Gi" are powers of 1024. Units as GNOME, disk makers and
// SI write them are decimal: "20 GB", "500 MB", "1.5 TB" are powers of
// 1000. Spaces, case and a decimal comma ("2,5 GB") are forgiven.
func ParseSize(s string) (Size, error) {
	t := strings.ReplaceAll(strings.TrimSpace(s), ",", ".")
	if v, ok := strings.CutSuffix(t, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) || f < 0 || f > 100 {
			return Size{}, fmt.Errorf("%q is not a percentage from 0%% to 100%%", s)
		}
		return Size{Percent: f, IsPct: true}, nil
	}
	i := strings.IndexFunc(t, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') })
	num, unit := t, ""
	if i >= 0 {
		num, unit = strings.TrimSpace(t[:i]), strings.ToLower(strings.TrimSpace(t[i:]))
	}
	mult, ok := sizeUnits[unit]
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f*mult > math.MaxInt64/2 {
		return Size{}, fmt.Errorf("cannot read %q as a size (use 2%%, 500M, 20GiB or 20 GB)", s)
	}
	return Size{Bytes: int64(math.Round(f * mult))}, nil
}

// sizeUnits: K, M, G... alone or with i/iB are binary; with B alone
// decimal.
var sizeUnits = func() map[string]float64 {
	m := map[string]float64{"": 1, "b": 1, "byte": 1, "bytes": 1}
	for i, u := range []string{"k", "m", "g", "t", "p"} {
		bin, dec := math.Ldexp(1, 10*(i+1)), math.Pow(1000, float64(i+1))
		m[u], m[u+"i"], m[u+"ib"], m[u+"b"] = bin, bin, bin, dec
	}
	return m
}()

// Of is the size in bytes on a drive of capacity bytes.
func (z Size) Of(capacity int64) int64 {
	if z.IsPct {
		return int64(z.Percent / 100 * float64(capacity))
	}
	return z.Bytes
}

// String writes the size so that ParseSize reads it back.
func (z Size) String() string {
	if z.IsPct {
		return strconv.FormatFloat(z.Percent, 'f', -1, 64) + "%"
	}
	return FormatSize(z.Bytes)
}

// FormatSize writes bytes in the largest binary unit that keeps three
// significant digits: 512, 1.5K, 20G.
func FormatSize(n int64) string {
	f := float64(n)
	for i, u := range []string{"", "K", "M", "G", "T", "P"} {
		if f < 1024 || i == 5 {
			if i == 0 {
				return strconv.FormatInt(n, 10)
			}
			return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) + u
		}
		f /= 1024
	}
	return strconv.FormatInt(n, 10)
}

// HumanSize writes bytes for people: 512 B, 1.5 KiB, 20 GiB.
func HumanSize(n int64) string {
	s := FormatSize(n)
	if n < 1024 {
		return s + " B"
	}
	return s[:len(s)-1] + " " + s[len(s)-1:] + "iB"
}
