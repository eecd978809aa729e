package flatpak

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// deployData is what Collect uses of a deployment's "deploy" file.
type deployData struct {
	Origin        string
	Commit        string
	InstalledSize int64
	Timestamp     int64 // commit date, 0 when the file does not say
}

// parseDeploy reads a deploy file: a serialized GVariant of type
// (ssasta{sv}) holding origin, commit, subpaths, installed size (stored
// big-endian by flatpak) and a metadata dictionary whose "timestamp" (t)
// is the commit date. Only the parts needed are decoded.
func parseDeploy(b []byte) (deployData, error) {
	var d deployData
	fail := func(what string) (deployData, error) {
		return deployData{}, fmt.Errorf("deploy data: %s", what)
	}
	// A tuple's non-last variable-size members end at framing offsets
	// stored, last member first, at the end of the tuple.
	sz := offsetSize(len(b))
	if len(b) < 3*sz {
		return fail("too short")
	}
	end1 := readOffset(b[len(b)-sz:], sz)
	end2 := readOffset(b[len(b)-2*sz:], sz)
	end3 := readOffset(b[len(b)-3*sz:], sz)
	bodyEnd := len(b) - 3*sz
	if end1 > end2 || end2 > end3 || end3 > bodyEnd {
		return fail("bad offsets")
	}
	var ok bool
	if d.Origin, ok = cString(b[:end1]); !ok {
		return fail("bad origin")
	}
	if d.Commit, ok = cString(b[end1:end2]); !ok {
		return fail("bad commit")
	}
	sizeAt := align(end3, 8)
	if sizeAt+8 > bodyEnd {
		return fail("no installed size")
	}
	d.InstalledSize = int64(binary.BigEndian.Uint64(b[sizeAt:]))
	if v, ok := dictLookup(b[sizeAt+8:bodyEnd], "timestamp"); ok && v.typ == "t" && len(v.data) == 8 {
		d.Timestamp = int64(binary.LittleEndian.Uint64(v.data))
	}
	return d, nil
}

type variant struct {
	typ  string
	data []byte
}

// dictLookup finds key in a serialized a{sv}. The dictionary starts
// 8-aligned relative to its container; flatpak's tuple puts it right after
// a uint64, so it is aligned here too.
func dictLookup(b []byte, key string) (variant, bool) {
	if len(b) == 0 {
		return variant{}, false
	}
	// An array of variable-size elements ends with one framing offset per
	// element; the last offset is where the offsets start.
	sz := offsetSize(len(b))
	if len(b) < sz {
		return variant{}, false
	}
	table := readOffset(b[len(b)-sz:], sz)
	if table > len(b) || (len(b)-table)%sz != 0 {
		return variant{}, false
	}
	start := 0
	for i := table; i < len(b); i += sz {
		end := readOffset(b[i:], sz)
		start = align(start, 8)
		if end < start || end > table {
			return variant{}, false
		}
		if k, v, err := dictEntry(b[start:end]); err == nil && k == key {
			return v, true
		}
		start = end
	}
	return variant{}, false
}

// dictEntry splits a serialized {sv}: the key, its framing offset at the
// end of the entry, and the variant 8-aligned after the key.
func dictEntry(b []byte) (string, variant, error) {
	sz := offsetSize(len(b))
	if len(b) < sz {
		return "", variant{}, errors.New("short entry")
	}
	keyEnd := readOffset(b[len(b)-sz:], sz)
	if keyEnd > len(b)-sz {
		return "", variant{}, errors.New("bad key offset")
	}
	k, ok := cString(b[:keyEnd])
	if !ok {
		return "", variant{}, errors.New("bad key")
	}
	vStart := align(keyEnd, 8)
	if vStart > len(b)-sz {
		return "", variant{}, errors.New("bad value")
	}
	v := b[vStart : len(b)-sz]
	// A variant is its value, a zero byte, then its type string.
	nul := bytes.LastIndexByte(v, 0)
	if nul < 0 {
		return "", variant{}, errors.New("bad variant")
	}
	return k, variant{typ: string(v[nul+1:]), data: v[:nul]}, nil
}

// offsetSize is the width of framing offsets in a container of n bytes.
func offsetSize(n int) int {
	switch {
	case n <= 0xff:
		return 1
	case n <= 0xffff:
		return 2
	case n <= 0xffffffff:
		return 4
	}
	return 8
}

// readOffset reads a little-endian framing offset of sz bytes.
func readOffset(b []byte, sz int) int {
	var v uint64
	for i := sz - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	if v > 1<<40 {
		return 1 << 40 // larger than any input: rejected by the caller
	}
	return int(v)
}

func align(n, a int) int { return (n + a - 1) / a * a }

// cString reads a serialized GVariant string: bytes then a zero.
func cString(b []byte) (string, bool) {
	if len(b) == 0 || b[len(b)-1] != 0 || bytes.IndexByte(b, 0) != len(b)-1 {
		return "", false
	}
	return string(b[:len(b)-1]), true
}
