package client

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/api"
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
	Sources        []string        `prop:"Sources,path"` // raw bytes (decoded)
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
	Host           string          `prop:"Host"`
	Remote         bool            `prop:"Remote"`
	OverdueDays    uint32          `prop:"OverdueDays"`
	Overdue        bool            `prop:"Overdue"`
	Viewers        []uint32        `prop:"Viewers"`
	HostKey        string          `prop:"HostKey"`
	LastReceived   uint64          `prop:"LastReceived"`
	RestoreTo      string          `prop:"RestoreTo"`
	// IncludeMounts, SkippedMounts: see Settings.IncludeMounts.
	IncludeMounts    []string `prop:"IncludeMounts"`
	SkippedMounts    []string `prop:"SkippedMounts"`
	LastProblems     []string `prop:"LastProblems"`
	LastProblemCount uint32   `prop:"LastProblemCount"`
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
	MountPoint string `prop:"MountPoint,path"`
	Enrolled   bool   `prop:"Enrolled"`
	Unusable   string `prop:"Unusable"`
	LastSeen   int64  `prop:"LastSeen"`
	Warning    string `prop:"Warning"`
	// Encrypted, Locked, KeyRemembered, Encryptable: see the interface
	// XML (api.EncryptableFeatureOff, api.EncryptableFilesystem).
	Encrypted     bool   `prop:"Encrypted"`
	Locked        bool   `prop:"Locked"`
	KeyRemembered bool   `prop:"KeyRemembered"`
	Encryptable   string `prop:"Encryptable"`
}

// Job is a Job object's properties.
type Job struct {
	Path        dbus.ObjectPath
	Operation   string          `prop:"Operation"`
	Profile     dbus.ObjectPath `prop:"Profile"`
	StartedBy   uint32          `prop:"StartedBy"`
	Trigger     string          `prop:"Trigger"`
	Started     int64           `prop:"Started"`
	Progress    float64         `prop:"Progress"`
	Phase       string          `prop:"Phase"`
	FilesDone   uint64          `prop:"FilesDone"`
	FilesTotal  uint64          `prop:"FilesTotal"`
	BytesDone   uint64          `prop:"BytesDone"`
	BytesTotal  uint64          `prop:"BytesTotal"`
	Rate        uint64          `prop:"Rate"`
	ExpectedEnd int64           `prop:"ExpectedEnd"`
	Cancelable  bool            `prop:"Cancelable"`
	Finished    bool            `prop:"Finished"`
	ErrorName   string          `prop:"ErrorName"`
	Message     string          `prop:"Message"`
	// Result is the outcome of a finished job: read it with BackupResult,
	// RestoreResult, PruneResult or VerifyResult.
	Result map[string]dbus.Variant `prop:"Result"`
}

// Time turns the interface's µs-since-epoch into a time (zero for 0).
func Time(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us)
}

// decode fills the prop-tagged fields of the struct dst points to; a
// field tagged ",path" holds paths, which cross the bus encoded (see
// api.EncodePath) and are decoded back to their bytes here.
func decode(props map[string]dbus.Variant, dst any) error {
	rv := reflect.ValueOf(dst).Elem()
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		name, opt, _ := strings.Cut(rt.Field(i).Tag.Get("prop"), ",")
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
		if opt == "path" {
			switch x := f.Interface().(type) {
			case string:
				f.SetString(api.DecodePath(x))
			case []string:
				f.Set(reflect.ValueOf(api.DecodePaths(x)))
			}
		}
	}
	return nil
}

// The typed readers of a finished job's Result. Each checks that the job
// did that operation (when the job says) and fills the struct from the
// Result; keys the struct does not know are ignored, missing ones stay at
// their zero value. A job still running has an empty Result.

// BackupResult is a backup job's Result.
func (j Job) BackupResult() (api.BackupResult, error) {
	var r api.BackupResult
	return r, j.result("backup", &r)
}

// RestoreResult is the Result of a restore job, or of an
// app-data-restore (one app's data, restored the same way).
func (j Job) RestoreResult() (api.RestoreResult, error) {
	var r api.RestoreResult
	if j.Operation == "app-data-restore" {
		return r, j.result("app-data-restore", &r)
	}
	return r, j.result("restore", &r)
}

// PruneResult is a prune job's Result.
func (j Job) PruneResult() (api.PruneResult, error) {
	var r api.PruneResult
	return r, j.result("prune", &r)
}

// VerifyResult is a verify job's Result.
func (j Job) VerifyResult() (api.VerifyResult, error) {
	var r api.VerifyResult
	return r, j.result("verify", &r)
}

func (j Job) result(op string, dst any) error {
	if j.Operation != "" && j.Operation != op {
		return fmt.Errorf("job %s is a %s, not a %s: its result is not a %s result", j.Path, j.Operation, op, op)
	}
	if err := api.FromDict(j.Result, dst); err != nil {
		return fmt.Errorf("the result of job %s: %w", j.Path, err)
	}
	return nil
}

// PrepareResult is a prepare-drive job's Result.
func (j Job) PrepareResult() (api.PrepareResult, error) {
	var r api.PrepareResult
	return r, j.result("prepare-drive", &r)
}
