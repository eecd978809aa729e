package api

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// Dict is an a{sv} dictionary as godbus has it.
type Dict = map[string]dbus.Variant

var (
	timeType  = reflect.TypeOf(time.Time{})
	pathType  = reflect.TypeOf(Path(""))
	pathsType = reflect.TypeOf([]Path(nil))
	objType   = reflect.TypeOf(dbus.ObjectPath(""))
)

// field is one keyed field of a struct, embedded structs flattened.
type field struct {
	key   string
	index []int
	typ   reflect.Type
}

func fields(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			for _, sub := range fields(f.Type) {
				sub.index = append([]int{i}, sub.index...)
				out = append(out, sub)
			}
			continue
		}
		if k := f.Tag.Get("key"); k != "" {
			out = append(out, field{key: k, index: []int{i}, typ: f.Type})
		}
	}
	return out
}

// Signature is the D-Bus type a Go field type crosses the bus as.
func Signature(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem() // an optional value: absent when nil
	}
	switch t {
	case timeType:
		return "x"
	case pathType:
		return "s"
	case pathsType:
		return "as"
	case objType:
		return "o"
	}
	switch t.Kind() {
	case reflect.String:
		return "s"
	case reflect.Bool:
		return "b"
	case reflect.Uint64:
		return "t"
	case reflect.Int64:
		return "x"
	case reflect.Uint32:
		return "u"
	case reflect.Int32:
		return "i"
	case reflect.Float64:
		return "d"
	case reflect.Slice:
		switch t.Elem().Kind() {
		case reflect.String:
			return "as"
		case reflect.Uint64:
			return "at"
		case reflect.Uint32:
			return "au"
		}
	}
	panic("api: no D-Bus type for " + t.String())
}

// Keys lists the keys of a struct type with their D-Bus types, "key:sig".
func Keys(v any) []string {
	var out []string
	for _, f := range fields(reflect.TypeOf(v)) {
		out = append(out, f.key+":"+Signature(f.typ))
	}
	return out
}

// Dicter is a value whose dictionary has no fixed keys (the Result of a
// Flatpak restore): it converts itself.
type Dicter interface{ ToDict() Dict }

// DictReader reads a dictionary with no fixed keys into itself.
type DictReader interface{ FromDict(Dict) error }

// ToDict turns a struct (or pointer to one) into an a{sv} dictionary.
func ToDict(v any) Dict {
	if d, ok := v.(Dicter); ok {
		return d.ToDict()
	}
	rv := reflect.Indirect(reflect.ValueOf(v))
	m := Dict{}
	for _, f := range fields(rv.Type()) {
		fv := rv.FieldByIndex(f.index)
		typ := f.typ
		if typ.Kind() == reflect.Pointer {
			if fv.IsNil() {
				continue
			}
			fv, typ = fv.Elem(), typ.Elem()
		}
		var x any
		switch typ {
		case timeType:
			x = Micros(fv.Interface().(time.Time))
		case pathType:
			x = EncodePath(fv.String())
		case pathsType:
			ps := fv.Interface().([]Path)
			s := make([]string, len(ps))
			for i, p := range ps {
				s[i] = EncodePath(string(p))
			}
			x = s
		default:
			switch Signature(typ) {
			case "o":
				x = dbus.ObjectPath(fv.String())
			case "s":
				x = fv.String()
			case "b":
				x = fv.Bool()
			case "t":
				x = fv.Uint()
			case "x":
				x = fv.Int()
			case "u":
				x = uint32(fv.Uint())
			case "i":
				x = int32(fv.Int())
			case "d":
				x = fv.Float()
			case "as":
				s := make([]string, fv.Len())
				for i := range s {
					s[i] = fv.Index(i).String()
				}
				x = s
			case "at":
				x = append([]uint64{}, fv.Interface().([]uint64)...)
			case "au":
				x = append([]uint32{}, fv.Interface().([]uint32)...)
			}
		}
		m[f.key] = dbus.MakeVariant(x)
	}
	return m
}

// FromDict fills the struct dst points to from an a{sv} dictionary. Keys
// the struct does not know are ignored (a newer service may send more); a
// known key of the wrong type is an error naming it.
func FromDict(m Dict, dst any) error {
	if d, ok := dst.(DictReader); ok {
		return d.FromDict(m)
	}
	rv := reflect.ValueOf(dst).Elem()
	for _, f := range fields(rv.Type()) {
		v, ok := m[f.key]
		if !ok {
			continue
		}
		want := Signature(f.typ)
		if got := v.Signature().String(); got != want {
			n, ok := integer(v.Value())
			if !ok || !strings.Contains("yqnuixt", want) {
				return fmt.Errorf("key %q is %s, expected %s", f.key, got, want)
			}
			// busctl and gdbus users write numbers with whatever integer
			// type comes to mind: take any that fits.
			if v, ok = fitInteger(n, want); !ok {
				return fmt.Errorf("key %q: %v does not fit %s", f.key, n, want)
			}
		}
		fv := rv.FieldByIndex(f.index)
		typ := f.typ
		if typ.Kind() == reflect.Pointer {
			fv.Set(reflect.New(typ.Elem()))
			fv, typ = fv.Elem(), typ.Elem()
		}
		switch typ {
		case timeType:
			fv.Set(reflect.ValueOf(FromMicros(v.Value().(int64))))
		case pathType:
			fv.SetString(DecodePath(v.Value().(string)))
		case pathsType:
			ss := v.Value().([]string)
			ps := make([]Path, len(ss))
			for i, s := range ss {
				ps[i] = Path(DecodePath(s))
			}
			fv.Set(reflect.ValueOf(ps))
		default:
			x := reflect.ValueOf(v.Value())
			if want == "as" {
				out := reflect.MakeSlice(typ, x.Len(), x.Len())
				for i := 0; i < x.Len(); i++ {
					out.Index(i).SetString(x.Index(i).String())
				}
				fv.Set(out)
			} else {
				fv.Set(x.Convert(typ))
			}
		}
	}
	return nil
}

// ToDicts converts a slice of structs (aa{sv}); never nil, so an empty
// result is an empty array on the bus.
func ToDicts[T any](vs []T) []Dict {
	out := make([]Dict, 0, len(vs))
	for i := range vs {
		out = append(out, ToDict(&vs[i]))
	}
	return out
}

// FromDicts converts an aa{sv} result.
func FromDicts[T any](ms []Dict) ([]T, error) {
	out := make([]T, len(ms))
	for i, m := range ms {
		if err := FromDict(m, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Micros is a time as the interface carries it: µs since the epoch, 0 for
// none.
func Micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// FromMicros is the inverse of Micros, in UTC.
func FromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// Stamp is a time as the interface can carry it: whole µs, UTC. Use
// cases build results with it, so a result printed from a drive equals
// the one that came through the bus.
func Stamp(t time.Time) time.Time { return FromMicros(Micros(t)) }

// jsonKey is the JSON name of a key.
func jsonKey(key string) string { return strings.ReplaceAll(key, "-", "_") }

// integer reads any D-Bus integer as an int64 (a uint64 above MaxInt64
// does not fit any field Keepsake has).
func integer(x any) (int64, bool) {
	switch n := x.(type) {
	case byte:
		return int64(n), true
	case int16:
		return int64(n), true
	case uint16:
		return int64(n), true
	case int32:
		return int64(n), true
	case uint32:
		return int64(n), true
	case int64:
		return n, true
	case uint64:
		return int64(n), n <= math.MaxInt64
	}
	return 0, false
}

func fitInteger(n int64, sig string) (dbus.Variant, bool) {
	switch sig {
	case "t":
		return dbus.MakeVariant(uint64(n)), n >= 0
	case "x":
		return dbus.MakeVariant(n), true
	case "u":
		return dbus.MakeVariant(uint32(n)), n >= 0 && n <= math.MaxUint32
	case "i":
		return dbus.MakeVariant(int32(n)), n >= math.MinInt32 && n <= math.MaxInt32
	}
	return dbus.Variant{}, false
}
