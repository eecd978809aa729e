package flatpak

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/shared/kerr"
)

// Deploy files written by flatpak 1.14.10 for an app with AppStream data
// and for a runtime (see flatpak_test.go for how they were made).
const (
	appDeployHex     = "6c6f63616c003733376238386465623862643563346336656538323661336132353831306430373730653034323135353063316338316266336535313736353461386630646200000000000000000600617070646174612d6e616d650000000048656c6c6f0000730d00000000000000617070646174612d76657273696f6e00312e322e3300007310000000000000006465706c6f792d76657273696f6e00000400000000690f0072756e74696d65006f72672e746573742e506c6174666f726d2f7838365f36342f31000073080000617070646174612d73756d6d61727900686900007310000074696d657374616d70000000000000007d28046b0000000000740a1939577e96b3470047000600"
	runtimeDeployHex = "6c6f63616c0037663166303437663035643661316131653130326136356436333537633065313465353865626632623337356362623737663563346639343533333937666464000000000000001e42006465706c6f792d76657273696f6e00000400000000690f0074696d657374616d70000000000000008128046b0000000000740a1733474706"
)

func TestParseDeploy(t *testing.T) {
	for _, tc := range []struct {
		name string
		hex  string
		want deployData
	}{
		{"app", appDeployHex, deployData{Origin: "local", Commit: "737b88deb8bd5c4c6ee826a3a25810d0770e0421550c1c81bf3e517654a8f0db", InstalledSize: 1536, Timestamp: 1795434621}},
		{"runtime", runtimeDeployHex, deployData{Origin: "local", Commit: "7f1f047f05d6a1a1e102a65d6357c0e14e58ebf2b375cbb77f5c4f9453397fdd", InstalledSize: 1982976, Timestamp: 1795434625}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tc.hex)
			got, err := parseDeploy(b)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	// Damaged files fail or give what they can, never panic.
	b, _ := hex.DecodeString(appDeployHex)
	for i := 0; i < len(b); i++ {
		parseDeploy(b[:i])
		c := bytes.Clone(b)
		c[i] ^= 0xff
		parseDeploy(c)
	}
	if _, err := parseDeploy(nil); err == nil {
		t.Error("empty deploy data parsed")
	}
}

func TestParseKeyFile(t *testing.T) {
	k := parseKeyFile([]byte(`# comment
[core]
repo_version=1
xa.pinned=runtime/a/x86_64/1;runtime/b\;c/x86_64/2;
xa.masked = org.test.Bad*

[remote "flathub"]
url=https://dl.flathub.org/repo/
xa.title=Flat\shub\\x
gpg-verify=false
xa.disable=true
broken line
`))
	for _, tc := range []struct {
		name string
		got  any
		want any
	}{
		{"pinned list", k.list("core", "xa.pinned"), []string{"runtime/a/x86_64/1", "runtime/b;c/x86_64/2"}},
		{"blanks around =", k.list("core", "xa.masked"), []string{"org.test.Bad*"}},
		{"escapes", k.get(`remote "flathub"`, "xa.title"), `Flat hub\x`},
		{"false", k.boolean(`remote "flathub"`, "gpg-verify", true), false},
		{"true", k.boolean(`remote "flathub"`, "xa.disable", false), true},
		{"default", k.boolean(`remote "flathub"`, "xa.nodeps", true), true},
		{"missing", k.get("nothing", "here"), ""},
		{"missing list", k.list("core", "nothing"), []string(nil)},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
}

func TestParseList(t *testing.T) {
	refs, err := parseList(KindRuntime, []byte("org.test.Platform\tx86_64\t1\t\tlocal\norg.test.Hello\tx86_64\tstable\t1.2.3\tlocal\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Ref{
		{Ref: "runtime/org.test.Platform/x86_64/1", Kind: KindRuntime, ID: "org.test.Platform", Arch: "x86_64", Branch: "1", Origin: "local"},
		{Ref: "runtime/org.test.Hello/x86_64/stable", Kind: KindRuntime, ID: "org.test.Hello", Arch: "x86_64", Branch: "stable", Version: "1.2.3", Origin: "local"},
	}
	if !reflect.DeepEqual(refs, want) {
		t.Errorf("got %+v\nwant %+v", refs, want)
	}
	if _, err := parseList(KindApp, []byte("Hello world, this is prose\n")); err == nil {
		t.Error("prose parsed as a ref")
	}
}

// sample is an inventory with every field set, and values that need
// quoting.
func sample() []Inventory {
	return []Inventory{
		{
			Installation: Installation{Scope: ScopeSystem, User: "root", Home: "/root", Dir: "/var/lib/flatpak"},
			Refs: []Ref{
				{Ref: "app/org.test.Hello/x86_64/stable", Kind: KindApp, ID: "org.test.Hello", Arch: "x86_64", Branch: "stable", Origin: "local", Commit: strings.Repeat("ab", 32), Version: "1.2.3", Timestamp: 1795434621, InstalledSize: 1536},
				{Ref: "runtime/org.test.Platform/x86_64/1", Kind: KindRuntime, ID: "org.test.Platform", Arch: "x86_64", Branch: "1", Origin: "local", InstalledSize: 2 << 20},
			},
			Remotes: []Remote{
				{Name: "local", URL: "file:///srv/repo", CollectionID: "org.test.Repo", Title: ` "Quoted" title `, GPGKey: []byte{0x98, 0x33, 0, 1, 2, 3, 0xff}, GPGVerify: true},
				{Name: "extra", URL: "https://example.org/repo?x=1#y", Filter: "/etc/flatpak/x.filter", FilterText: "deny *\n\nallow org.test.*\n", Disabled: true, NoEnumerate: true, NoDeps: true, Priority: 5, DefaultBranch: "beta",
					Subset: "verified", Comment: "Some apps", Description: "Line one\nline two", Homepage: "https://example.org", Icon: "https://example.org/i.png"},
			},
			Overrides: map[string]string{
				GlobalOverride:   "[Context]\nfilesystems=!host-os;\n",
				"org.test.Hello": "[Context]\nfilesystems=home;\n\n[Environment]\nA=  spaced  \n# not a comment of ours\n",
			},
			Pinned: []string{"runtime/org.test.Platform/x86_64/1"},
			Masked: []string{"org.test.Bad*"},
		},
		{
			Installation: Installation{Scope: ScopeUser, User: "alice", UID: 1000, GID: 1000, Home: "/home/alice", Dir: "/home/alice/.local/share/flatpak"},
			Overrides:    map[string]string{"org.test.Empty": ""},
		},
	}
}

func TestTextRoundTrip(t *testing.T) {
	invs := sample()
	text := Text(invs)
	got, err := ParseText(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if !reflect.DeepEqual(got, invs) {
		t.Errorf("round trip differs:\ngot  %+v\nwant %+v\ntext:\n%s", got, invs, text)
	}
	// What a person restoring by hand reads.
	for _, want := range []string{
		"#   flatpak --system remote-add --gpg-import=local.gpg --collection-id=org.test.Repo '--title= \"Quoted\" title ' local file:///srv/repo",
		"#   flatpak --system remote-add --no-gpg-verify --filter=/etc/flatpak/x.filter --disable --no-enumerate --no-use-for-deps --prio=5 --default-branch=beta --subset=verified '--comment=Some apps' '--description=Line one\nline two' --homepage=https://example.org --icon=https://example.org/i.png extra 'https://example.org/repo?x=1#y'",
		"#   flatpak --system install local app/org.test.Hello/x86_64/stable",
		"#   flatpak --system pin runtime/org.test.Platform/x86_64/1",
		"#   flatpak --system mask 'org.test.Bad*'",
		"# /var/lib/flatpak/overrides/org.test.Hello\nkeyfile =\n  [Context]\n  filesystems=home;\n\n  [Environment]\n",
		"-----BEGIN PGP PUBLIC KEY BLOCK-----",
		"# The installation of user alice. Run the commands below as alice.",
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	// Editors strip trailing blanks and may add a final newline or CRs.
	edited := strings.ReplaceAll(string(text), "\n", "\r\n") + "\n\n"
	if got, err := ParseText([]byte(edited)); err != nil || !reflect.DeepEqual(got, invs) {
		t.Errorf("edited text: %v", err)
	}
}

func TestParseTextRefuses(t *testing.T) {
	good := string(Text(sample()))
	for _, tc := range []struct{ name, text string }{
		{"no format", "[installation]\nscope = system\n"},
		{"newer format", "format = 2\n"},
		{"not key value", "format = 1\nhello\n"},
		{"ref outside installation", "format = 1\n[ref app/a.b/x86_64/s]\n"},
		{"bad ref", strings.Replace(good, "[ref app/org.test.Hello/x86_64/stable]", "[ref app/../../etc/x86_64/stable]", 1)},
		{"option as origin", strings.Replace(good, "origin = local", "origin = --user", 1)},
		{"path as override", strings.Replace(good, "[override org.test.Hello]", "[override ../../etc/passwd]", 1)},
		{"bad scope", strings.Replace(good, "scope = system", "scope = everyone", 1)},
		{"bad uid", strings.Replace(good, "uid = 1000", "uid = -1", 1)},
		{"bad key checksum", strings.Replace(good, "\n  =", "\n  =AAAA", 1)},
		{"bad quoting", strings.Replace(good, "title = ", "title = \"unterminated", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.text == good {
				t.Fatal("the case changes nothing")
			}
			_, err := ParseText([]byte(tc.text))
			if !kerr.Is(err, kerr.Damaged) {
				t.Errorf("got %v, want a Damaged error", err)
			}
		})
	}
	// A later format's unknown sections and keys are skipped.
	later := strings.Replace(good, "[remote extra]", "[wallpaper x]\ncolour = blue\n\n[remote extra]\nshiny = yes", 1)
	if got, err := ParseText([]byte(later)); err != nil || !reflect.DeepEqual(got, sample()) {
		t.Errorf("unknown keys: %v", err)
	}
}

// gpg reads the armor of the text form, as a person restoring by hand
// would use it.
func TestArmorReadByGPG(t *testing.T) {
	realfs.RequireCommands(t, "gpg")
	data := make([]byte, 1000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	cmd := exec.Command("gpg", "--dearmor")
	cmd.Env = append(os.Environ(), "GNUPGHOME="+t.TempDir())
	cmd.Stdin = strings.NewReader(armor(data))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpg --dearmor: %v", err)
	}
	if !bytes.Equal(out, data) {
		t.Error("gpg read other bytes than were armored")
	}
	back, err := dearmor(armor(data))
	if err != nil || !bytes.Equal(back, data) {
		t.Errorf("dearmor: %v", err)
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.2.3", "1.2.3", 0},
		{"1.2", "1.2.1", -1},
		{"1.10", "1.9", 1},
		{"2.0", "10.0", -1},
		{"1.0a", "1.0b", -1},
		{"1.0-rc1", "1.0-rc2", -1},
		{"0010", "10", 0},
		{"45.1", "45.0.1", 1},
	} {
		if got := compareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := compareVersions(tc.b, tc.a); got != -tc.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tc.b, tc.a, got, -tc.want)
		}
	}
}

func TestCompare(t *testing.T) {
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	ref := func(id, commit, version string, ts int64) Ref {
		return Ref{Ref: "app/" + id + "/x86_64/stable", Kind: KindApp, ID: id, Commit: commit, Version: version, Timestamp: ts}
	}
	saved := Inventory{Refs: []Ref{
		ref("org.t.Same", "c1", "1.0", day),
		ref("org.t.Gone", "c1", "1.0", day),
		ref("org.t.Upgraded", "c1", "1.0", day),
		ref("org.t.Downgraded", "c1", "2.0", day),
		ref("org.t.Rebuilt", "c1", "", day),
		ref("org.t.Reverted", "c1", "", day),
		ref("org.t.VersionWins", "c1", "2.0", day),
		ref("org.t.Unknown", "c1", "", 0),
	}}
	now := Inventory{Refs: []Ref{
		ref("org.t.Same", "c1", "1.0", day),
		ref("org.t.Upgraded", "c2", "1.1", day+60),
		ref("org.t.Downgraded", "c2", "1.9", day+60),
		ref("org.t.Rebuilt", "c2", "", day+60),
		ref("org.t.Reverted", "c2", "", day-60),
		// A version says more than a date: a rebuild of an old release.
		ref("org.t.VersionWins", "c2", "1.0", day+60),
		ref("org.t.Unknown", "c2", "", 0),
		ref("org.t.NotSaved", "c1", "", 0),
	}}
	want := map[string]string{
		"org.t.Same": StateSame, "org.t.Gone": StateMissing, "org.t.Upgraded": StateNewer,
		"org.t.Downgraded": StateOlder, "org.t.Rebuilt": StateNewer, "org.t.Reverted": StateOlder,
		"org.t.VersionWins": StateOlder, "org.t.Unknown": StateDifferent,
	}
	got := Compare(saved, now)
	if len(got) != len(saved.Refs) {
		t.Fatalf("%d statuses for %d saved refs", len(got), len(saved.Refs))
	}
	for _, st := range got {
		if st.State != want[st.Ref.ID] {
			t.Errorf("%s: %s, want %s", st.Ref.ID, st.State, want[st.Ref.ID])
		}
		if (st.Installed == nil) != (st.State == StateMissing) {
			t.Errorf("%s: Installed %v with state %s", st.Ref.ID, st.Installed, st.State)
		}
	}
}

func TestSelectRefs(t *testing.T) {
	inv := sample()[0]
	inv.Refs = append(inv.Refs, Ref{Ref: "runtime/org.test.Other/x86_64/1", Kind: KindRuntime, ID: "org.test.Other"})
	for _, tc := range []struct {
		name string
		want []string
		refs []string
		all  bool
	}{
		{"everything: apps and pinned runtimes, runtimes first", nil, []string{"runtime/org.test.Platform/x86_64/1", "app/org.test.Hello/x86_64/stable"}, true},
		{"by app id", []string{"org.test.Hello"}, []string{"app/org.test.Hello/x86_64/stable"}, false},
		{"by ref, twice", []string{"runtime/org.test.Other/x86_64/1", "runtime/org.test.Other/x86_64/1"}, []string{"runtime/org.test.Other/x86_64/1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refs, all, err := selectRefs(inv, tc.want)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range refs {
				got = append(got, r.Ref)
			}
			if !reflect.DeepEqual(got, tc.refs) || all != tc.all {
				t.Errorf("got %v all=%v, want %v all=%v", got, all, tc.refs, tc.all)
			}
		})
	}
	if _, _, err := selectRefs(inv, []string{"org.test.Nope"}); !kerr.Is(err, kerr.NotFound) {
		t.Errorf("unknown app: %v", err)
	}
}

func TestDataDir(t *testing.T) {
	for _, tc := range []struct{ home, id, want string }{
		{"/home/alice", "org.test.Hello", "/home/alice/.var/app/org.test.Hello"},
		{"/home/alice", "../../etc", ""},
		{"/home/alice", "org.test/../x", ""},
		{"/home/alice", "-rf.x", ""},
		{"", "org.test.Hello", ""},
	} {
		if got := DataDir(tc.home, tc.id); got != tc.want {
			t.Errorf("DataDir(%q, %q) = %q, want %q", tc.home, tc.id, got, tc.want)
		}
	}
}

func TestPasswdInstallations(t *testing.T) {
	dir := t.TempDir()
	mine := dir + "/me"
	if err := os.MkdirAll(mine+"/.local/share/flatpak", 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(dir+"/nobody-here", 0o755)
	// Someone else's home holding a flatpak directory they do not own.
	os.MkdirAll(dir+"/other/.local/share/flatpak", 0o755)
	uid, gid := os.Getuid(), os.Getgid()
	itoa := strconv.Itoa
	passwd := dir + "/passwd"
	os.WriteFile(passwd, []byte(
		"me:x:"+itoa(uid)+":"+itoa(gid)+":Me:"+mine+":/bin/sh\n"+
			"twin:x:"+itoa(uid)+":"+itoa(gid)+":Same home:"+mine+":/bin/sh\n"+
			"other:x:"+itoa(uid+1)+":"+itoa(gid)+":Not the owner:"+dir+"/other:/bin/sh\n"+
			"empty:x:4242:4242::"+dir+"/nobody-here:/bin/sh\n"+
			"garbage line\n"), 0o644)
	got, err := passwdInstallations(passwd)
	if err != nil {
		t.Fatal(err)
	}
	want := []Installation{{Scope: ScopeUser, User: "me", UID: uint32(uid), GID: uint32(gid), Home: mine, Dir: mine + "/.local/share/flatpak"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
