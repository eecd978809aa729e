package client

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
)

// fillOptions sets every field of an option or settings struct to a value
// that is not its zero value, so ToOptions sends every key. Paths get
// bytes that are not UTF-8: they must cross all the same.
func fillOptions(v reflect.Value) {
	if v.Type() == reflect.TypeOf(api.Path("")) {
		v.SetString("/x/caf\xe9")
		return
	}
	if v.Type() == reflect.TypeOf(dbus.ObjectPath("")) {
		v.SetString(string(dbusapi.ProfilePath("home")))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fillOptions(v.Field(i))
			}
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillOptions(v.Elem())
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Uint64, reflect.Uint32:
		v.SetUint(7)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fillOptions(s.Index(0))
		v.Set(s)
	}
}

func full[T any]() T {
	var v T
	fillOptions(reflect.ValueOf(&v).Elem())
	return v
}

const jobPath = dbus.ObjectPath("/io/github/keepsake/Keepsake1/jobs/1")

// replyFor answers each method with an empty result of its type.
func replyFor(c call) []any {
	switch {
	case strings.HasSuffix(c.Member, ".CreateProfile"):
		return []any{dbusapi.ProfilePath("home")}
	case strings.HasSuffix(c.Member, ".FlatpakOfflineSize"):
		return []any{uint64(42)}
	case strings.HasSuffix(c.Member, ".GetRemoteKey"):
		return []any{"restrict ssh-ed25519 AAAA"}
	case strings.HasSuffix(c.Member, ".EnrollEncrypted"):
		return []any{"ABCD2345-..."}
	case strings.HasSuffix(c.Member, ".DescribeDevice"):
		return []any{map[string]dbus.Variant{"device": dbus.MakeVariant("/dev/sdz"), "token": dbus.MakeVariant("t0k")}}
	case strings.HasSuffix(c.Member, ".ScanHostKeys"):
		return []any{[]map[string]dbus.Variant{{"type": dbus.MakeVariant("ssh-ed25519"), "fingerprint": dbus.MakeVariant("SHA256:x")}}, "new"}
	}
	for _, m := range []string{"BackupNow", "Restore", "Prune", "Verify", "RestoreFlatpaks", "RestoreAppData", "PrepareDrive"} {
		if strings.HasSuffix(c.Member, "."+m) {
			return []any{jobPath}
		}
	}
	for _, m := range []string{"GetStatus", "ListSnapshots", "ListDirectory", "Search", "Versions", "Deleted", "ListFlatpaks"} {
		if strings.HasSuffix(c.Member, "."+m) {
			return []any{[]map[string]dbus.Variant{}}
		}
	}
	return nil
}

// Every method sends the arguments the interface XML declares, and its
// options and settings carry exactly the keys (and types) of the XML's
// DictKeys annotation (api.Dicts is checked against it in shared/api).
func TestCallsMatchXML(t *testing.T) {
	addr := startBus(t)
	fake := startFake(t, addr, replyFor)
	c := New(dial(t, addr))
	ctx := testContext(t)
	ifaces, err := dbusapi.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"Manager.CreateProfile": func() error {
			_, err := c.CreateProfile(ctx, "home", full[api.Settings](), full[api.Auth]())
			return err
		},
		"Manager.Reload": func() error { return c.Reload(ctx, full[api.Auth]()) },
		"Manager.GetStatus": func() error {
			_, err := c.Status(ctx, full[api.Auth]())
			return err
		},
		"Profile.BackupNow": func() error {
			_, err := c.BackupNow(ctx, "home", full[api.BackupOptions]())
			return err
		},
		"Profile.Configure":    func() error { return c.Configure(ctx, "home", full[api.Settings](), full[api.Auth]()) },
		"Profile.AddSource":    func() error { return c.AddSource(ctx, "home", "/a", full[api.Auth]()) },
		"Profile.RemoveSource": func() error { return c.RemoveSource(ctx, "home", "/a", full[api.Auth]()) },
		"Profile.Delete":       func() error { return c.DeleteProfile(ctx, "home", full[api.Auth]()) },
		"Profile.ListSnapshots": func() error {
			_, err := c.Snapshots(ctx, "home", full[api.ListOptions]())
			return err
		},
		"Profile.ListDirectory": func() error {
			_, err := c.List(ctx, "home", "latest", "/a", full[api.ListOptions]())
			return err
		},
		"Profile.Search": func() error {
			_, err := c.Search(ctx, "home", "*.odt", full[api.SearchOptions]())
			return err
		},
		"Profile.Versions": func() error {
			_, err := c.Versions(ctx, "home", "/a/b", full[api.ListOptions]())
			return err
		},
		"Profile.Deleted": func() error {
			_, err := c.Deleted(ctx, "home", "/a", full[api.DeletedOptions]())
			return err
		},
		"Profile.Restore": func() error {
			_, err := c.Restore(ctx, "home", "latest", []string{"/a/b"}, full[api.RestoreOptions]())
			return err
		},
		"Profile.Prune": func() error {
			_, err := c.Prune(ctx, "home", full[api.PruneOptions]())
			return err
		},
		"Profile.Verify": func() error {
			_, err := c.Verify(ctx, "home", full[api.VerifyOptions]())
			return err
		},
		"Profile.ListFlatpaks": func() error {
			_, err := c.Flatpaks(ctx, "home", "latest", full[api.ListOptions]())
			return err
		},
		"Profile.RestoreFlatpaks": func() error {
			_, err := c.RestoreFlatpaks(ctx, "home", "latest", nil, full[api.FlatpakRestoreOptions]())
			return err
		},
		"Profile.RestoreAppData": func() error {
			_, err := c.RestoreAppData(ctx, "home", "latest", "org.gnome.Maps", full[api.AppDataOptions]())
			return err
		},
		"Profile.FlatpakOfflineSize": func() error {
			n, err := c.FlatpakOfflineSize(ctx, "home", full[api.Auth]())
			if err == nil && n != 42 {
				t.Errorf("FlatpakOfflineSize = %d, want 42", n)
			}
			return err
		},
		"Manager.GetRemoteKey": func() error {
			line, err := c.RemoteKey(ctx, full[api.RemoteKeyOptions]())
			if err == nil && line != "restrict ssh-ed25519 AAAA" {
				t.Errorf("RemoteKey = %q", line)
			}
			return err
		},
		"Profile.ScanHostKeys": func() error {
			keys, state, err := c.ScanHostKeys(ctx, "home", full[api.Auth]())
			if err == nil && (len(keys) != 1 || keys[0].Fingerprint != "SHA256:x" || state != "new") {
				t.Errorf("ScanHostKeys = %+v, %q", keys, state)
			}
			return err
		},
		"Manager.DescribeDevice": func() error {
			d, err := c.DescribeDevice(ctx, "/dev/sdz", full[api.Auth]())
			if err == nil && (d.Device != "/dev/sdz" || d.Token != "t0k") {
				t.Errorf("DescribeDevice = %+v", d)
			}
			return err
		},
		"Manager.PrepareDrive": func() error {
			_, err := c.PrepareDrive(ctx, "/dev/sdz", full[api.PrepareOptions]())
			return err
		},
		"Profile.AcceptHostKey": func() error { return c.AcceptHostKey(ctx, "home", "SHA256:x", full[api.Auth]()) },
		"Drive.Enroll": func() error {
			return c.Enroll(ctx, "d", EnrollOptions{Auth: api.Auth{NoUserInteraction: true}, Profile: "home"})
		},
		"Drive.Unmount": func() error { return c.Unmount(ctx, "d", full[api.Auth]()) },
		"Drive.Unlock":  func() error { return c.Unlock(ctx, "d", full[api.UnlockOptions]()) },
		"Drive.Lock":    func() error { return c.Lock(ctx, "d", full[api.Auth]()) },
		"Drive.ChangePassphrase": func() error {
			return c.ChangePassphrase(ctx, "d", full[api.ChangePassphraseOptions]())
		},
		"Drive.ForgetKey": func() error { return c.ForgetKey(ctx, "d", full[api.Auth]()) },
		"Drive.EnrollEncrypted": func() error {
			rk, err := c.EnrollEncrypted(ctx, "d", full[api.EnrollEncryptedOptions]())
			if err == nil && rk != "ABCD2345-..." {
				t.Errorf("EnrollEncrypted = %q", rk)
			}
			return err
		},
		"Job.Cancel": func() error { return c.Cancel(ctx, jobPath, full[api.Auth]()) },
	}
	// Every method of the XML has a client call.
	for name, iface := range ifaces {
		short := strings.TrimPrefix(name, dbusapi.BusName+".")
		for _, m := range iface.Methods {
			if _, ok := calls[short+"."+m.Name]; !ok {
				t.Errorf("the client has no call for %s.%s", short, m.Name)
			}
		}
	}
	for where, do := range calls {
		t.Run(where, func(t *testing.T) {
			if err := do(); err != nil {
				t.Fatal(err)
			}
			got := fake.last(t)
			short, method, _ := strings.Cut(where, ".")
			if want := dbusapi.BusName + "." + where; got.Member != want {
				t.Fatalf("called %s, want %s", got.Member, want)
			}
			var in []string
			var names []string
			for _, m := range ifaces[dbusapi.BusName+"."+short].Methods {
				if m.Name != method {
					continue
				}
				for _, a := range m.Args {
					if a.Direction != "out" {
						in = append(in, a.Type)
						names = append(names, a.Name)
					}
				}
			}
			if got.Sig != strings.Join(in, "") {
				t.Fatalf("sent (%s), the XML says (%s)", got.Sig, strings.Join(in, ""))
			}
			for i, name := range names {
				if in[i] != "a{sv}" {
					continue
				}
				sent := keysOf(got.Body[i].(map[string]dbus.Variant))
				if where == "Drive.Enroll" { // not annotated: profile is an object path
					if want := []string{"auth.no_user_interaction:b", "profile:o"}; !reflect.DeepEqual(sent, want) {
						t.Errorf("options %v, want %v", sent, want)
					}
					continue
				}
				decl, ok := api.Dicts[where+"."+name]
				if !ok {
					t.Fatalf("api.Dicts has no %s.%s", where, name)
				}
				want := api.Keys(decl)
				sort.Strings(want)
				if !reflect.DeepEqual(sent, want) {
					t.Errorf("%s sent %v, the XML declares %v", name, sent, want)
				}
			}
		})
	}
}

func keysOf(m map[string]dbus.Variant) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+":"+v.Signature().String())
	}
	sort.Strings(out)
	return out
}

// Paths go out encoded and come back as the bytes they are, in arguments,
// options, results and properties.
func TestPathsCrossExactly(t *testing.T) {
	const dir = "/home/me/caf\xe9"
	const file = dir + "/r\xe9sum\xe9 \uf780.txt"
	entry := api.Entry{Path: file, Name: "r\xe9sum\xe9 \uf780.txt", Type: api.TypeFile, Size: 3, Mtime: time.Unix(1_700_000_000, 0).UTC()}
	addr := startBus(t)
	fake := startFake(t, addr, func(c call) []any {
		switch {
		case strings.HasSuffix(c.Member, ".ListDirectory"):
			return []any{api.ToDicts([]api.Entry{entry})}
		case strings.HasSuffix(c.Member, ".Versions"):
			return []any{api.ToDicts([]api.Version{{SHA256: "ab", Paths: []api.Path{file, dir + "/old"}}})}
		case strings.HasSuffix(c.Member, ".Deleted"):
			return []any{api.ToDicts([]api.DeletedFile{{Entry: entry, LastSnapshot: "s1"}})}
		case strings.HasSuffix(c.Member, ".Search"):
			return []any{api.ToDicts([]api.SearchHit{{Entry: entry, Snapshots: []string{"s1"}}})}
		case c.Member == dbusapi.PropertiesInterface+".GetAll":
			return []any{map[string]dbus.Variant{"Name": dbus.MakeVariant("home"), "Sources": dbus.MakeVariant(api.EncodePaths([]string{dir, "/srv"}))}}
		}
		return replyFor(c)
	})
	c := New(dial(t, addr))
	ctx := testContext(t)

	es, err := c.List(ctx, "home", "latest", dir, api.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fake.last(t).Body[1]; got != api.EncodePath(dir) {
		t.Errorf("ListDirectory sent %q, want the encoded %q", got, api.EncodePath(dir))
	}
	if len(es) != 1 || !reflect.DeepEqual(es[0], entry) {
		t.Errorf("List = %+v, want %+v", es, entry)
	}

	vs, err := c.Versions(ctx, "home", file, api.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fake.last(t).Body[0]; got != api.EncodePath(file) {
		t.Errorf("Versions sent %q", got)
	}
	if len(vs) != 1 || !reflect.DeepEqual(vs[0].Paths, []api.Path{file, dir + "/old"}) {
		t.Errorf("Versions = %+v", vs)
	}

	ds, err := c.Deleted(ctx, "home", dir, api.DeletedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fake.last(t).Body[0]; got != api.EncodePath(dir) {
		t.Errorf("Deleted sent %q", got)
	}
	if len(ds) != 1 || ds[0].Path != file || ds[0].LastSnapshot != "s1" {
		t.Errorf("Deleted = %+v", ds)
	}

	hs, err := c.Search(ctx, "home", "r*", api.SearchOptions{In: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got := fake.last(t).Body[1].(map[string]dbus.Variant)["in"].Value(); got != api.EncodePath(dir) {
		t.Errorf("Search sent in=%q", got)
	}
	if len(hs) != 1 || hs[0].Path != file || hs[0].Name != entry.Name {
		t.Errorf("Search = %+v", hs)
	}

	if _, err := c.Restore(ctx, "home", "latest", []string{file}, api.RestoreOptions{To: dir}); err != nil {
		t.Fatal(err)
	}
	r := fake.last(t)
	if got := r.Body[1].([]string); len(got) != 1 || got[0] != api.EncodePath(file) {
		t.Errorf("Restore sent paths %q", got)
	}
	if got := r.Body[2].(map[string]dbus.Variant)["to"].Value(); got != api.EncodePath(dir) {
		t.Errorf("Restore sent to=%q", got)
	}

	for _, add := range []bool{true, false} {
		f := c.RemoveSource
		if add {
			f = c.AddSource
		}
		if err := f(ctx, "home", dir, api.Auth{}); err != nil {
			t.Fatal(err)
		}
		if got := fake.last(t).Body[0]; got != api.EncodePath(dir) {
			t.Errorf("add %v sent %q", add, got)
		}
	}

	set := api.Settings{Sources: &[]api.Path{dir}}
	if err := c.Configure(ctx, "home", set, api.Auth{}); err != nil {
		t.Fatal(err)
	}
	if got := fake.last(t).Body[0].(map[string]dbus.Variant)["sources"].Value(); !reflect.DeepEqual(got, []string{api.EncodePath(dir)}) {
		t.Errorf("Configure sent sources %q", got)
	}

	p, err := c.Profile(ctx, "home")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Sources, []string{dir, "/srv"}) {
		t.Errorf("Profile.Sources = %q", p.Sources)
	}
}

// Nothing answering for the service is one named error, however it shows.
func TestServiceNotRunning(t *testing.T) {
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+t.TempDir()+"/none")
	if _, err := Connect(); !kerr.Is(err, kerr.ServiceNotRunning) {
		t.Errorf("Connect without a bus: %v (%s)", err, kerr.NameOf(err))
	}

	addr := startBus(t)
	ctx := testContext(t)
	c := New(dial(t, addr))
	_, err := c.Snapshots(ctx, "home", api.ListOptions{})
	if !kerr.Is(err, kerr.ServiceNotRunning) || !strings.Contains(err.Error(), "systemctl start keepsake") {
		t.Errorf("a call nobody answers: %v (%s)", err, kerr.NameOf(err))
	}
	if _, err := c.Objects(ctx); !kerr.Is(err, kerr.ServiceNotRunning) {
		t.Errorf("Objects nobody answers: %v (%s)", err, kerr.NameOf(err))
	}

	// The service leaves the bus while a job is followed.
	fake := startFake(t, addr, func(c call) []any {
		if c.Member == dbusapi.PropertiesInterface+".GetAll" {
			return []any{map[string]dbus.Variant{"Operation": dbus.MakeVariant("backup"), "Finished": dbus.MakeVariant(false)}}
		}
		return nil
	})
	done := make(chan error, 1)
	go func() {
		_, err := c.Wait(ctx, jobPath, nil)
		done <- err
	}()
	waitForCall(t, fake, dbusapi.PropertiesInterface+".GetAll")
	fake.conn.Close()
	select {
	case err := <-done:
		if !kerr.Is(err, kerr.ServiceNotRunning) {
			t.Errorf("Wait when the service left: %v (%s)", err, kerr.NameOf(err))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not notice the service leaving")
	}

	// The client's own connection closes while a job is followed, and
	// calls after that.
	fake = startFake(t, addr, func(c call) []any {
		if c.Member == dbusapi.PropertiesInterface+".GetAll" {
			return []any{map[string]dbus.Variant{"Finished": dbus.MakeVariant(false)}}
		}
		return nil
	})
	conn := dial(t, addr)
	c = New(conn)
	go func() {
		_, err := c.Wait(ctx, jobPath, nil)
		done <- err
	}()
	waitForCall(t, fake, dbusapi.PropertiesInterface+".GetAll")
	conn.Close()
	select {
	case err := <-done:
		if !kerr.Is(err, kerr.ServiceNotRunning) {
			t.Errorf("Wait when the connection closed: %v (%s)", err, kerr.NameOf(err))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not notice the connection closing")
	}
	if _, err := c.Profiles(ctx); !kerr.Is(err, kerr.ServiceNotRunning) {
		t.Errorf("a call on a closed connection: %v (%s)", err, kerr.NameOf(err))
	}

	// The end of the caller's context is not the service's absence.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	c = New(dial(t, addr))
	if _, err := c.Profiles(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled call: %v", err)
	}
}

func waitForCall(t *testing.T, f *fakeService, member string) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		f.mu.Lock()
		for _, c := range f.calls {
			if c.Member == member {
				f.mu.Unlock()
				return
			}
		}
		f.mu.Unlock()
	}
	t.Fatalf("no %s call", member)
}

// Wait follows a job's signals to its end, and its Result reads typed.
func TestWaitAndResult(t *testing.T) {
	addr := startBus(t)
	want := api.BackupResult{Snapshot: "2026-12-01T100000Z", Files: 10, Bytes: 2048, New: 3, FullScan: true, Warnings: 2,
		Problems: []string{"/home/a/bad.txt: cannot read: input/output error"}, ProblemCount: 1, SkippedMounts: []api.Path{"/home/a/nas\xff"}}
	startFake(t, addr, func(c call) []any {
		if c.Member != dbusapi.PropertiesInterface+".GetAll" {
			return nil
		}
		go func() {
			time.Sleep(50 * time.Millisecond)
			c.conn.Emit(jobPath, dbusapi.PropertiesInterface+".PropertiesChanged", dbusapi.JobInterface,
				map[string]dbus.Variant{"Progress": dbus.MakeVariant(0.5), "Result": dbus.MakeVariant(api.ToDict(want))}, []string{})
			c.conn.Emit(jobPath, dbusapi.JobInterface+".Completed", true, "", want.Snapshot)
		}()
		return []any{map[string]dbus.Variant{"Operation": dbus.MakeVariant("backup"), "Finished": dbus.MakeVariant(false),
			"Progress": dbus.MakeVariant(0.0)}}
	})
	c := New(dial(t, addr))
	var seen []float64
	j, err := c.Wait(testContext(t), jobPath, func(j Job) { seen = append(seen, j.Progress) })
	if err != nil {
		t.Fatal(err)
	}
	if !j.Finished || j.Message != want.Snapshot || len(seen) < 2 {
		t.Fatalf("Wait = %+v (progress seen %v)", j, seen)
	}
	got, err := j.BackupResult()
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("BackupResult = %+v, %v; want %+v", got, err, want)
	}
}

func TestJobResults(t *testing.T) {
	restore := api.RestoreResult{Snapshot: "s", Files: 2, Paths: []api.Path{"/a/caf\xe9"}, Restored: []api.Path{"/a/caf\xe9 (restored)"}}
	j := Job{Path: jobPath, Operation: "restore", Finished: true, Result: api.ToDict(restore)}
	if got, err := j.RestoreResult(); err != nil || !reflect.DeepEqual(got, restore) {
		t.Errorf("RestoreResult = %+v, %v", got, err)
	}
	if _, err := j.BackupResult(); err == nil {
		t.Error("a restore job's result read as a backup's")
	}

	// Today's service sends fewer keys: the rest stay zero.
	j = Job{Operation: "prune", Result: map[string]dbus.Variant{"removed": dbus.MakeVariant([]string{"s1"}), "extra": dbus.MakeVariant("x")}}
	if got, err := j.PruneResult(); err != nil || !reflect.DeepEqual(got, api.PruneResult{Removed: []string{"s1"}}) {
		t.Errorf("PruneResult = %+v, %v", got, err)
	}

	// A key of the wrong type says which.
	j = Job{Operation: "verify", Result: map[string]dbus.Variant{"files": dbus.MakeVariant("many")}}
	if _, err := j.VerifyResult(); err == nil || !strings.Contains(err.Error(), "files") {
		t.Errorf("VerifyResult of a bad result: %v", err)
	}

	// A job that does not say what it did is read as asked.
	j = Job{Result: api.ToDict(api.VerifyResult{Files: 4, Damaged: []string{"x"}})}
	if got, err := j.VerifyResult(); err != nil || got.Files != 4 || len(got.Damaged) != 1 {
		t.Errorf("VerifyResult = %+v, %v", got, err)
	}
}
