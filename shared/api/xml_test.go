package api

import (
	"encoding/json"
	"encoding/xml"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/keepsake/keepsake/data"
)

type xmlAnnotation struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type xmlArg struct {
	Name        string          `xml:"name,attr"`
	Type        string          `xml:"type,attr"`
	Annotations []xmlAnnotation `xml:"annotation"`
}

type xmlMember struct {
	Name        string          `xml:"name,attr"`
	Type        string          `xml:"type,attr"`
	Args        []xmlArg        `xml:"arg"`
	Annotations []xmlAnnotation `xml:"annotation"`
}

type xmlNode struct {
	Interfaces []struct {
		Name       string      `xml:"name,attr"`
		Methods    []xmlMember `xml:"method"`
		Properties []xmlMember `xml:"property"`
		Signals    []xmlMember `xml:"signal"`
	} `xml:"interface"`
}

func sortedKeys(s string) string {
	f := strings.Fields(s)
	sort.Strings(f)
	return strings.Join(f, " ")
}

// The interface XML annotates every dictionary with its keys; Dicts maps
// each to its struct. Both must agree, both ways.
func TestKeysMatchXML(t *testing.T) {
	var n xmlNode
	if err := xml.Unmarshal(data.InterfaceXML, &n); err != nil {
		t.Fatal(err)
	}
	inXML := map[string]string{}
	for _, i := range n.Interfaces {
		short := strings.TrimPrefix(i.Name, "io.github.keepsake.Keepsake1.")
		note := func(where, typ string, as []xmlAnnotation) {
			found := false
			for _, a := range as {
				if a.Name == DictKeysAnnotation {
					inXML[where] = a.Value
					found = true
				} else if op, ok := strings.CutPrefix(a.Name, DictKeysAnnotation+"."); ok {
					inXML[where+"."+op] = a.Value
					found = true
				}
			}
			if !found && strings.Contains(typ, "a{sv}") && where != "Drive.Enroll.options" {
				t.Errorf("%s (%s) has no %s annotation", where, typ, DictKeysAnnotation)
			}
		}
		for _, m := range i.Methods {
			for _, a := range m.Args {
				note(short+"."+m.Name+"."+a.Name, a.Type, a.Annotations)
			}
		}
		for _, p := range i.Properties {
			note(short+"."+p.Name, p.Type, p.Annotations)
		}
	}
	for where, v := range Dicts {
		want := strings.Join(Keys(v), " ")
		got, ok := inXML[where]
		if !ok {
			t.Errorf("%s: the XML has no %s annotation; it should be value=%q", where, DictKeysAnnotation, want)
			continue
		}
		if sortedKeys(got) != sortedKeys(want) {
			t.Errorf("%s: XML says %q, %T has %q", where, got, v, want)
		}
	}
	for where := range inXML {
		if _, ok := Dicts[where]; !ok {
			t.Errorf("%s is annotated in the XML but has no struct in api.Dicts", where)
		}
	}
}

// Every key's JSON name is the key with "_" for "-", so --json output and
// the bus speak of the same things.
func TestJSONNamesFollowKeys(t *testing.T) {
	for where, v := range Dicts {
		for _, f := range fields(reflect.TypeOf(v)) {
			sf := reflect.TypeOf(v).FieldByIndex(f.index)
			j, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if j == "" {
				continue // options: never printed
			}
			if j != jsonKey(f.key) {
				t.Errorf("%s: field %s has json %q, want %q", where, sf.Name, j, jsonKey(f.key))
			}
		}
	}
}

// A value converted to a{sv} and back is the same value, for every struct.
func TestDictRoundTrip(t *testing.T) {
	for where, v := range Dicts {
		t.Run(where, func(t *testing.T) {
			orig := reflect.New(reflect.TypeOf(v))
			fill(orig.Elem())
			m := ToDict(orig.Interface())
			if len(m) != len(Keys(v)) {
				t.Fatalf("ToDict gave %d keys, the struct has %d", len(m), len(Keys(v)))
			}
			for k, x := range m {
				if got, want := x.Signature().String(), sigOf(v, k); got != want {
					t.Errorf("key %s crosses as %s, declared %s", k, got, want)
				}
			}
			back := reflect.New(reflect.TypeOf(v))
			if err := FromDict(m, back.Interface()); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(orig.Interface(), back.Interface()) {
				a, _ := json.Marshal(orig.Interface())
				b, _ := json.Marshal(back.Interface())
				t.Fatalf("round trip changed the value:\n%s\n%s", a, b)
			}
		})
	}
}

func sigOf(v any, key string) string {
	for _, k := range Keys(v) {
		if name, sig, _ := strings.Cut(k, ":"); name == key {
			return sig
		}
	}
	return "?"
}
