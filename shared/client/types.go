package client

import (
	"fmt"
	"reflect"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/dbusapi"
)

// Manager is the Manager object's properties.
type Manager struct {
	Version     string            `prop:"Version"`
	Host        string            `prop:"Host"`
	ConfigPath  string            `prop:"ConfigPath"`
	ConfigError string            `prop:"ConfigError"`
	Profiles    []dbus.ObjectPath `prop:"Profiles"`
	Drives      []dbus.ObjectPath `prop:"Drives"`
	Jobs        []dbus.ObjectPath `prop:"Jobs"`
}

// Profile is a Profile object's properties.
type Profile struct {
	Path           dbus.ObjectPath
	Name           string          `prop:"Name"`
	Owner          uint32          `prop:"Owner"`
	Sources        []string        `prop:"Sources"`
	Excludes       []string        `prop:"Excludes"`
	DriveUUID      string          `prop:"DriveUUID"`
	Drive          dbus.ObjectPath `prop:"Drive"`
	Interval       uint64          `prop:"Interval"`
	OnChange       bool            `prop:"OnChange"`
	QuietPeriod    uint64          `prop:"QuietPeriod"`
	OnPlug         bool            `prop:"OnPlug"`
	SkipOnBattery  bool            `prop:"SkipOnBattery"`
	Flatpak        bool            `prop:"Flatpak"`
	FlatpakOffline bool            `prop:"FlatpakOffline"`
	Retention      string          `prop:"Retention"`
	State          uint32          `prop:"State"`
	WatchProblem   string          `prop:"WatchProblem"`
	LastSuccess    int64           `prop:"LastSuccess"`
	LastAttempt    int64           `prop:"LastAttempt"`
	NextRun        int64           `prop:"NextRun"`
	LastResult     string          `prop:"LastResult"`
	LastMessage    string          `prop:"LastMessage"`
	LastSnapshot   string          `prop:"LastSnapshot"`
	TargetFree     int64           `prop:"TargetFree"`
	Job            dbus.ObjectPath `prop:"Job"`
}

// StateName is the profile's State in words.
func (p Profile) StateName() string { return dbusapi.ProfileState(p.State).String() }

// Drive is a Drive object's properties.
type Drive struct {
	Path       dbus.ObjectPath
	UUID       string `prop:"UUID"`
	Label      string `prop:"Label"`
	Filesystem string `prop:"Filesystem"`
	Device     string `prop:"Device"`
	Size       uint64 `prop:"Size"`
	Free       int64  `prop:"Free"`
	Present    bool   `prop:"Present"`
	MountPoint string `prop:"MountPoint"`
	Enrolled   bool   `prop:"Enrolled"`
	Unusable   string `prop:"Unusable"`
	LastSeen   int64  `prop:"LastSeen"`
	Warning    string `prop:"Warning"`
}

// Job is a Job object's properties.
type Job struct {
	Path        dbus.ObjectPath
	Operation   string                  `prop:"Operation"`
	Profile     dbus.ObjectPath         `prop:"Profile"`
	StartedBy   uint32                  `prop:"StartedBy"`
	Trigger     string                  `prop:"Trigger"`
	Started     int64                   `prop:"Started"`
	Progress    float64                 `prop:"Progress"`
	Phase       string                  `prop:"Phase"`
	FilesDone   uint64                  `prop:"FilesDone"`
	FilesTotal  uint64                  `prop:"FilesTotal"`
	BytesDone   uint64                  `prop:"BytesDone"`
	BytesTotal  uint64                  `prop:"BytesTotal"`
	Rate        uint64                  `prop:"Rate"`
	ExpectedEnd int64                   `prop:"ExpectedEnd"`
	Cancelable  bool                    `prop:"Cancelable"`
	Finished    bool                    `prop:"Finished"`
	ErrorName   string                  `prop:"ErrorName"`
	Message     string                  `prop:"Message"`
	Result      map[string]dbus.Variant `prop:"Result"`
}

// Time turns the interface's µs-since-epoch into a time (zero for 0).
func Time(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us)
}

// decode fills the prop-tagged fields of the struct dst points to.
func decode(props map[string]dbus.Variant, dst any) error {
	rv := reflect.ValueOf(dst).Elem()
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		name := rt.Field(i).Tag.Get("prop")
		if name == "" {
			continue
		}
		v, ok := props[name]
		if !ok {
			continue
		}
		val := reflect.ValueOf(v.Value())
		f := rv.Field(i)
		if !val.Type().AssignableTo(f.Type()) {
			return fmt.Errorf("property %s is %s, expected %s", name, val.Type(), f.Type())
		}
		f.Set(val)
	}
	return nil
}

// Dict is one entry of a query result (aa{sv}), with typed getters.
type Dict map[string]dbus.Variant

func (d Dict) String(k string) string {
	s, _ := d[k].Value().(string)
	return s
}

func (d Dict) Int(k string) int64 {
	switch x := d[k].Value().(type) {
	case int64:
		return x
	case uint64:
		return int64(x)
	case uint32:
		return int64(x)
	case int32:
		return int64(x)
	}
	return 0
}

func (d Dict) Bool(k string) bool {
	b, _ := d[k].Value().(bool)
	return b
}

func (d Dict) Strings(k string) []string {
	s, _ := d[k].Value().([]string)
	return s
}

// Plain turns a Dict into plain Go values (for JSON output).
func (d Dict) Plain() map[string]any {
	m := map[string]any{}
	for k, v := range d {
		m[k] = v.Value()
	}
	return m
}

func dicts(in []map[string]dbus.Variant) []Dict {
	out := make([]Dict, len(in))
	for i, m := range in {
		out[i] = Dict(m)
	}
	return out
}
