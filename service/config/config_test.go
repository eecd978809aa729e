package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/retention"
	"github.com/keepsake/keepsake/shared/kerr"
)

const example = `# Keepsake configuration. Edit it, then reload: systemctl reload keepsake (SIGHUP).
[keepsake]
missing-drive-days = 21          # warn when an enrolled drive has not been seen for this long
on-failure = /usr/local/bin/mail-me --to "me@example.org"   # optional

[profile "home"]
owner = 1000                    # uid that created the profile (0 = administrator)
source = /home/alice            # repeatable
source = /home/alice/Music
exclude = ~/.cache              # repeatable, gitignore-style
exclude = *.tmp#not-a-comment
include-mount = /home/alice/Photos drive   # repeatable
include-mount = /home/alice/nas
drive = 2f7c1b3e-9a4d-4f0e-8c1a-0123456789ab
interval = 1d                   # "off" or a Go-style duration
on-change = on
quiet = 90s
on-plug = false
skip-on-battery = YES
retention = daily=30, keep-last=10   # any subset
min-free = 20GiB

[profile "work_2"]
source = "/srv/with # hash"

[profile "laptop"]
source = ssh://alice@laptop.lan:2222/home/alice
source = ssh://alice@laptop.lan:2222/etc,/srv/www
host = alices-laptop
interval = 1d
overdue-days = 3
viewer = 1000
viewer = 0
restore-to = ssh://alice@laptop.lan:2222/home/alice/Restored
`

func TestParseExample(t *testing.T) {
	c, err := Parse(strings.NewReader(example), "keepsake.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		MissingDriveDays: 21,
		OnFailure:        `/usr/local/bin/mail-me --to "me@example.org"`,
		Profiles: []Profile{{
			Name:          "home",
			Owner:         1000,
			Sources:       []string{"/home/alice", "/home/alice/Music"},
			Excludes:      []string{"~/.cache", "*.tmp#not-a-comment"},
			IncludeMounts: []string{"/home/alice/Photos drive", "/home/alice/nas"},
			Drive:         "2f7c1b3e-9a4d-4f0e-8c1a-0123456789ab",
			Interval:      24 * time.Hour,
			OnChange:      true,
			Quiet:         90 * time.Second,
			OnPlug:        false,
			SkipOnBattery: true,
			Flatpak:       true,
			Retention:     "keep-last=10 daily=30", // canonical order
			MinFree:       "20GiB",
			OverdueDays:   7,
		}, {
			// Keys left out keep DefaultProfile's values.
			Name:        "work_2",
			Sources:     []string{"/srv/with # hash"},
			Interval:    time.Hour,
			OnChange:    true,
			Quiet:       5 * time.Minute,
			OnPlug:      true,
			Flatpak:     true,
			Retention:   "time-machine",
			MinFree:     "2%",
			OverdueDays: 7,
		}, {
			Name:        "laptop",
			Sources:     []string{"ssh://alice@laptop.lan:2222/home/alice", "ssh://alice@laptop.lan:2222/etc,/srv/www"},
			Interval:    24 * time.Hour,
			OnChange:    true,
			Quiet:       5 * time.Minute,
			OnPlug:      true,
			Flatpak:     true,
			Retention:   "time-machine",
			MinFree:     "2%",
			Host:        "alices-laptop",
			OverdueDays: 3,
			Viewers:     []uint32{1000, 0},
			RestoreTo:   "ssh://alice@laptop.lan:2222/home/alice/Restored",
		}},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Parse =\n%#v\nwant\n%#v", c, want)
	}
	if p, ok := c.Profile("work_2"); !ok || p.Name != "work_2" {
		t.Fatalf("Profile(work_2) = %v, %v", p, ok)
	}
	laptop, _ := c.Profile("laptop")
	r, remote, err := laptop.Remote()
	if err != nil || !remote || r.User != "alice" || r.Host != "laptop.lan" || r.Port != 2222 ||
		!reflect.DeepEqual(r.Paths, []string{"/home/alice", "/etc", "/srv/www"}) {
		t.Errorf("Remote() = %+v, %v, %v", r, remote, err)
	}
	if h := laptop.HostName(); h != "alices-laptop" {
		t.Errorf("HostName() = %q", h)
	}
	if _, remote, _ := c.Profiles[0].Remote(); remote {
		t.Error("a profile of local folders is remote")
	}
	if _, ok := c.Profile("nope"); ok {
		t.Fatal("Profile(nope) found a profile")
	}
}

func TestParseEmpty(t *testing.T) {
	for _, in := range []string{"", "# only a comment\n\n", "\uFEFF[keepsake]\r\n"} {
		c, err := Parse(strings.NewReader(in), "keepsake.conf")
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if !reflect.DeepEqual(c, Default()) {
			t.Fatalf("Parse(%q) = %#v, want Default()", in, c)
		}
	}
}

func TestParseErrors(t *testing.T) {
	const prof = "[profile \"home\"]\n"
	tests := []struct {
		name, in, want string
	}{
		{"unknown profile key", prof + "source = /a\n\ninterval = 1h\nintreval = 2h\n",
			`keepsake.conf:5: unknown key "intreval" in [profile "home"]`},
		{"unknown global key", "[keepsake]\nmissing-days = 3\n",
			`keepsake.conf:2: unknown key "missing-days" in [keepsake]`},
		{"key outside a section", "# hello\ninterval = 1h\n[keepsake]\n",
			`keepsake.conf:2: key "interval" is outside a section (start with [keepsake] or [profile "name"])`},
		{"not key = value", prof + "source /a\n",
			`keepsake.conf:2: expected key = value, [keepsake] or [profile "name"], got "source /a"`},
		{"empty key", prof + "= 3\n",
			`keepsake.conf:2: expected key = value, [keepsake] or [profile "name"], got "= 3"`},
		{"bad duration", prof + "interval = 1x\n",
			`keepsake.conf:2: interval in [profile "home"]: cannot read "1x" as an interval (use off, 30m, 1h, 1d)`},
		{"negative interval", prof + "interval = -1h\n",
			`keepsake.conf:2: interval in [profile "home"]: cannot read "-1h" as an interval (use off, 30m, 1h, 1d)`},
		{"interval too short", prof + "interval = 10s\n",
			`keepsake.conf:2: interval in [profile "home"]: 10s is shorter than 1m (use off to disable timed backups)`},
		{"bad quiet", prof + "quiet = soon\n",
			`keepsake.conf:2: quiet in [profile "home"]: cannot read "soon" as a duration (use 30m, 1h, 1d)`},
		{"fractional days", prof + "quiet = 1.5d\n",
			`keepsake.conf:2: quiet in [profile "home"]: cannot read "1.5d" as a duration (use 30m, 1h, 1d)`},
		{"bad boolean", prof + "on-change = maybe\n",
			`keepsake.conf:2: on-change in [profile "home"]: "maybe" is not yes or no`},
		{"bad boolean on-plug", prof + "on-plug = 1\n",
			`keepsake.conf:2: on-plug in [profile "home"]: "1" is not yes or no`},
		{"bad boolean skip-on-battery", prof + "skip-on-battery =\n",
			`keepsake.conf:2: skip-on-battery in [profile "home"]: "" is not yes or no`},
		{"duplicate profile", prof + "source = /a\n\n" + prof,
			`keepsake.conf:4: duplicate profile "home" (first on line 1)`},
		{"duplicate keepsake section", "[keepsake]\n[keepsake]\n",
			`keepsake.conf:2: duplicate section [keepsake] (first on line 1)`},
		{"key set twice", prof + "interval = 1h\non-plug = yes\ninterval = 2h\n",
			`keepsake.conf:4: "interval" is set twice in [profile "home"] (first on line 2)`},
		{"global key set twice", "[keepsake]\non-failure = a\non-failure = b\n",
			`keepsake.conf:3: "on-failure" is set twice in [keepsake] (first on line 2)`},
		{"header without quotes", "[profile home]\n",
			`keepsake.conf:1: bad section header "[profile home]" (want [keepsake] or [profile "name"])`},
		{"unknown section", "[general]\n",
			`keepsake.conf:1: bad section header "[general]" (want [keepsake] or [profile "name"])`},
		{"unclosed header", "[keepsake\n",
			`keepsake.conf:1: bad section header "[keepsake" (want [keepsake] or [profile "name"])`},
		{"text after header", "[keepsake] x\n",
			`keepsake.conf:1: bad section header "[keepsake] x" (want [keepsake] or [profile "name"])`},
		{"bad profile name", "[profile \"my home\"]\n",
			`keepsake.conf:1: profile name "my home": may only hold letters, digits, '-' and '_'`},
		{"empty profile name", "[profile \"\"]\n",
			`keepsake.conf:1: profile name "": must be 1 to 64 characters long`},
		{"relative source", prof + "source = home/alice\n",
			`keepsake.conf:2: source in [profile "home"]: "home/alice" is not an absolute path`},
		{"source with ..", prof + "source = /home/../etc\n",
			`keepsake.conf:2: source in [profile "home"]: "/home/../etc" contains ".."`},
		{"unclean source", prof + "source = /home/alice/\n",
			`keepsake.conf:2: source in [profile "home"]: "/home/alice/" is not a clean path (write "/home/alice")`},
		{"empty source", prof + "source =   # none\n",
			`keepsake.conf:2: source in [profile "home"]: is empty`},
		{"NUL in source", prof + "source = \"/a\\x00b\"\n",
			`keepsake.conf:2: source in [profile "home"]: "/a\x00b" contains a NUL byte`},
		{"source twice", prof + "source = /a\nsource = /a\n",
			`keepsake.conf:3: source in [profile "home"]: "/a" is listed twice`},
		{"relative include-mount", prof + "include-mount = nas\n",
			`keepsake.conf:2: include-mount in [profile "home"]: "nas" is not an absolute path`},
		{"include-mount twice", prof + "include-mount = /n\ninclude-mount = /n\n",
			`keepsake.conf:3: include-mount in [profile "home"]: "/n" is listed twice`},
		{"include-mount of an address", prof + "include-mount = ssh://h/x\n",
			`keepsake.conf:2: include-mount in [profile "home"]: "ssh://h/x" is an address: a mount point to include is a folder on this computer`},
		{"empty exclude", prof + "exclude =\n",
			`keepsake.conf:2: exclude in [profile "home"]: is empty`},
		{"bad exclude", prof + "exclude = a/../b\n",
			`keepsake.conf:2: exclude in [profile "home"]: exclude pattern "a/../b": "." and ".." are not allowed`},
		{"exclude starting with #", prof + "exclude = \"#x\"\n",
			`keepsake.conf:2: exclude in [profile "home"]: "#x" starts with # (write \# for a name that starts with #)`},
		{"bad drive", prof + "drive = /dev/sdb1\n",
			`keepsake.conf:2: drive in [profile "home"]: "/dev/sdb1" is not a filesystem UUID (lsblk -f shows them)`},
		{"bad owner", prof + "owner = alice\n",
			`keepsake.conf:2: owner in [profile "home"]: "alice" is not a numeric uid`},
		{"unknown retention tier", prof + "retention = hourly=24 fortnightly=2\n",
			`keepsake.conf:2: retention in [profile "home"]: unknown tier "fortnightly" (use time-machine, or keep-last, hourly, daily, weekly, monthly, yearly)`},
		{"retention without count", prof + "retention = daily\n",
			`keepsake.conf:2: retention in [profile "home"]: "daily" is not tier=count (e.g. daily=30)`},
		{"retention zero", prof + "retention = daily=0\n",
			`keepsake.conf:2: retention in [profile "home"]: daily=0: the count must be a whole number of at least 1`},
		{"retention tier twice", prof + "retention = daily=3 daily=4\n",
			`keepsake.conf:2: retention in [profile "home"]: daily is given twice`},
		{"retention mixed", prof + "retention = time-machine daily=4\n",
			`keepsake.conf:2: retention in [profile "home"]: time-machine cannot be combined with other tiers`},
		{"bad min-free", prof + "min-free = lots\n",
			`keepsake.conf:2: min-free in [profile "home"]: cannot read "lots" as a size (use 2%, 500M, 20GiB or 20 GB)`},
		{"min-free percent too big", prof + "min-free = 150%\n",
			`keepsake.conf:2: min-free in [profile "home"]: "150%" is not a percentage from 0% to 100%`},
		{"bad missing-drive-days", "[keepsake]\nmissing-drive-days = two weeks\n",
			`keepsake.conf:2: missing-drive-days in [keepsake]: "two weeks" is not a whole number of days`},
		{"negative missing-drive-days", "[keepsake]\nmissing-drive-days = -1\n",
			`keepsake.conf:2: missing-drive-days in [keepsake]: -1 is negative (0 never warns)`},
		{"unclosed quote", "[keepsake]\non-failure = \"mail me\n",
			`keepsake.conf:2: on-failure in [keepsake]: the closing quote is missing`},
		{"text after quote", "[keepsake]\non-failure = \"mail\" me\n",
			`keepsake.conf:2: on-failure in [keepsake]: unexpected text "me" after the closing quote`},
		{"bad escape", "[keepsake]\non-failure = \"a\\qb\"\n",
			`keepsake.conf:2: on-failure in [keepsake]: bad escape in "a\qb"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tt.in), "keepsake.conf")
			if err == nil {
				t.Fatalf("Parse accepted it: %#v", c)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error\n got %s\nwant %s", got, tt.want)
			}
			if !kerr.Is(err, kerr.InvalidConfig) {
				t.Errorf("error name %q, want InvalidConfig", kerr.NameOf(err))
			}
		})
	}
}

func sample() *Config {
	home := DefaultProfile("home")
	home.Owner = 1000
	home.Sources = []string{"/home/alice", "/home/alice/My Music", "/srv/odd # name", "/home/alice/\"quoted\" \u00e9", "/srv/latin1-\xe9t\xe9", "/srv/nbsp\u00a0"}
	home.Excludes = []string{"~/.cache/", "*.tmp", "trailing\\ ", "\\#literal", "!keep.tmp", "tab\there"}
	home.IncludeMounts = []string{"/home/alice/nas", "/home/alice/odd # mount"}
	home.Drive = "2f7c1b3e-9a4d-4f0e-8c1a-0123456789ab"
	home.Interval = 36 * time.Hour
	home.Quiet = 90 * time.Second
	home.SkipOnBattery = true
	home.OnPlug = false
	home.Retention = "keep-last=10 hourly=24 daily=30 weekly=8 monthly=12 yearly=3"
	home.MinFree = "500M"

	off := DefaultProfile("off-line_2")
	off.Interval = 0
	off.OnChange = false
	off.Quiet = 0
	off.MinFree = ""
	off.Sources = []string{"/"}

	return &Config{
		MissingDriveDays: 0,
		OnFailure:        `printf '%s\n' "$KEEPSAKE_ERROR" | mail -s "backup #1 failed" root  `,
		Profiles:         []Profile{home, DefaultProfile("fresh"), off},
	}
}

func TestRoundTrip(t *testing.T) {
	for name, c := range map[string]*Config{
		"default": Default(),
		"sample":  sample(),
	} {
		t.Run(name, func(t *testing.T) {
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			out := c.Marshal()
			back, err := Parse(strings.NewReader(string(out)), "keepsake.conf")
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !reflect.DeepEqual(back, c) {
				t.Fatalf("round trip changed the config:\n got %#v\nwant %#v\nfile:\n%s", back, c, out)
			}
			if again := back.Marshal(); string(again) != string(out) {
				t.Fatalf("Marshal is not stable:\n%s\n---\n%s", out, again)
			}
		})
	}
}

func TestMarshalReadable(t *testing.T) {
	out := string(sample().Marshal())
	// What a person editing the file sees: plain values stay plain, odd ones
	// are quoted, durations are short.
	for _, want := range []string{
		"\n[profile \"home\"]\nowner = 1000\nsource = /home/alice\nsource = /home/alice/My Music\nsource = \"/srv/odd # name\"\n",
		"exclude = ~/.cache/\n",
		"include-mount = /home/alice/nas\ninclude-mount = \"/home/alice/odd # mount\"\n",
		"exclude = \"trailing\\\\ \"\n",
		"exclude = \"tab\\there\"\n",
		"interval = 1d12h\n",
		"quiet = 1m30s\n",
		"on-plug = no\n",
		"skip-on-battery = yes\n",
		"[profile \"off-line_2\"]\nowner = 0\nsource = /\ndrive =\ninterval = off\non-change = no\nquiet = 0s\n",
		"min-free =\n",
		"\n[keepsake]\nmissing-drive-days = 0\non-failure = \"printf",
		"\n[profile \"fresh\"]\nowner = 0\ndrive =\ninterval = 1h\non-change = yes\nquiet = 5m\non-plug = yes\nskip-on-battery = no\nflatpak = yes\nflatpak-offline = no\nretention = time-machine\nmin-free = 2%\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Marshal output lacks %q:\n%s", want, out)
		}
	}
}

func TestSaveLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etc", "keepsake")
	path := filepath.Join(dir, "keepsake.conf")

	c, err := Load(path)
	if err != nil || !reflect.DeepEqual(c, Default()) {
		t.Fatalf("Load of a missing file = %#v, %v; want Default()", c, err)
	}
	if err := Save(path, sample()); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sample()) {
		t.Fatalf("Load after Save = %#v", got)
	}
	for p, want := range map[string]os.FileMode{dir: 0o755 | os.ModeDir, path: 0o644} {
		if fi, err := os.Stat(p); err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v (%v), want %v", p, fi.Mode(), err, want)
		}
	}
	// Saving again replaces the file and leaves no temporary files.
	c2 := Default()
	if err := Save(path, c2); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only keepsake.conf", len(ents))
	}
	if got, _ := Load(path); !reflect.DeepEqual(got, c2) {
		t.Errorf("second Save not read back: %#v", got)
	}

	// An invalid config is refused and the file is left alone.
	bad := Default()
	bad.Profiles = []Profile{DefaultProfile("a"), DefaultProfile("a")}
	if err := Save(path, bad); !kerr.Is(err, kerr.InvalidArgs) {
		t.Fatalf("Save of duplicate profiles: %v, want InvalidArgs", err)
	}
	if got, _ := Load(path); !reflect.DeepEqual(got, c2) {
		t.Errorf("refused Save changed the file: %#v", got)
	}

	// A broken file names the path and line.
	if err := os.WriteFile(path, []byte("[keepsake]\nbogus = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if want := path + `:2: unknown key "bogus" in [keepsake]`; err == nil || err.Error() != want {
		t.Fatalf("Load of a bad file: %v, want %s", err, want)
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"simple", "home", ""},
		{"all kinds", "Work_2-b", ""},
		{"64 chars", strings.Repeat("a", 64), ""},
		{"empty", "", `profile name "": must be 1 to 64 characters long`},
		{"65 chars", strings.Repeat("a", 65), `profile name "` + strings.Repeat("a", 65) + `": must be 1 to 64 characters long`},
		{"space", "my home", `profile name "my home": may only hold letters, digits, '-' and '_'`},
		{"slash", "a/b", `profile name "a/b": may only hold letters, digits, '-' and '_'`},
		{"dot", "a.b", `profile name "a.b": may only hold letters, digits, '-' and '_'`},
		{"non-ASCII", "héllo", `profile name "héllo": may only hold letters, digits, '-' and '_'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidName(tt.in)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want || !kerr.Is(err, kerr.InvalidArgs) {
				t.Fatalf("ValidName = %v (%s), want InvalidArgs %s", err, kerr.NameOf(err), tt.want)
			}
		})
	}
}

func TestProfileValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Profile)
		want   string
	}{
		{"default", func(p *Profile) {}, ""},
		{"empty retention is time machine", func(p *Profile) { p.Retention = "" }, ""},
		{"bad name", func(p *Profile) { p.Name = "a b" }, `profile name "a b": may only hold letters, digits, '-' and '_'`},
		{"relative source", func(p *Profile) { p.Sources = []string{"/ok", "rel"} }, `profile "home": source: "rel" is not an absolute path`},
		{"dotdot source", func(p *Profile) { p.Sources = []string{"/a/.."} }, `profile "home": source: "/a/.." contains ".."`},
		{"unclean source", func(p *Profile) { p.Sources = []string{"/a//b"} }, `profile "home": source: "/a//b" is not a clean path (write "/a/b")`},
		{"NUL source", func(p *Profile) { p.Sources = []string{"/a\x00"} }, `profile "home": source: "/a\x00" contains a NUL byte`},
		{"duplicate source", func(p *Profile) { p.Sources = []string{"/a", "/b", "/a"} }, `profile "home": source: "/a" is listed twice`},
		{"empty exclude", func(p *Profile) { p.Excludes = []string{" "} }, `profile "home": exclude: is empty`},
		{"unclean include-mount", func(p *Profile) { p.IncludeMounts = []string{"/a/../b"} }, `profile "home": include-mount: "/a/../b" contains ".."`},
		{"bad exclude", func(p *Profile) { p.Excludes = []string{"[z-a"} }, `profile "home": exclude: exclude pattern "[z-a": syntax error in pattern`},
		{"bad drive", func(p *Profile) { p.Drive = "a b" }, `profile "home": drive: "a b" is not a filesystem UUID (lsblk -f shows them)`},
		{"negative interval", func(p *Profile) { p.Interval = -time.Hour }, `profile "home": interval: is negative`},
		{"short interval", func(p *Profile) { p.Interval = time.Second }, `profile "home": interval: 1s is shorter than 1m (use off to disable timed backups)`},
		{"negative quiet", func(p *Profile) { p.Quiet = -1 }, `profile "home": quiet: is negative`},
		{"bad retention", func(p *Profile) { p.Retention = "weekly=x" }, `profile "home": retention: weekly=x: the count must be a whole number of at least 1`},
		{"bad min-free", func(p *Profile) { p.MinFree = "2 GiBs" }, `profile "home": min-free: cannot read "2 GiBs" as a size (use 2%, 500M, 20GiB or 20 GB)`},
		{"another computer", func(p *Profile) { p.Sources = []string{"ssh://u@pc/home/u", "ssh://u@pc/etc"}; p.Host = "pc2" }, ""},
		{"local and remote mixed", func(p *Profile) { p.Sources = []string{"/home", "ssh://u@pc/home/u"} },
			`profile "home": source: "ssh://u@pc/home/u" is another computer, but "/home" is a folder here: back up this computer or one other computer`},
		{"two computers", func(p *Profile) { p.Sources = []string{"ssh://u@pc/home/u", "ssh://u@other/home/u"} },
			`profile "home": source: "ssh://u@other/home/u" is not the same computer as "ssh://u@pc/home/u": one computer at a time`},
		{"remote with dotdot", func(p *Profile) { p.Sources = []string{"ssh://pc/home/../etc"} }, "InvalidArgs"},
		{"host for local folders", func(p *Profile) { p.Host = "pc" }, `profile "home": host: names another computer on the drive; this profile backs up folders here`},
		{"host with a slash", func(p *Profile) { p.Sources = []string{"ssh://pc/x"}; p.Host = "a/b" }, `profile "home": host: "a/b" cannot name a folder on the drive`},
		{"host dotdot", func(p *Profile) { p.Sources = []string{"ssh://pc/x"}; p.Host = ".." }, `profile "home": host: ".." cannot name a folder on the drive`},
		{"negative overdue", func(p *Profile) { p.OverdueDays = -1 }, `profile "home": overdue-days: -1 is negative (0 never warns)`},
		{"restore-to", func(p *Profile) { p.Sources = []string{"ssh://pc/x"}; p.RestoreTo = "ssh://me@pc/home/me/Restored" }, ""},
		{"restore-to two folders", func(p *Profile) { p.Sources = []string{"ssh://pc/x"}; p.RestoreTo = "ssh://me@pc/a,/b" },
			`profile "home": restore-to: "ssh://me@pc/a,/b" must name one folder there, not 2`},
		{"restore-to the root", func(p *Profile) { p.Sources = []string{"ssh://pc/x"}; p.RestoreTo = "ssh://me@pc/" },
			`profile "home": restore-to: "ssh://me@pc/" must name one folder there, not 1`},
		{"restore-to not an address", func(p *Profile) { p.Sources = []string{"ssh://pc/x"}; p.RestoreTo = "/home/me" }, "InvalidArgs"},
		{"restore-to for local folders", func(p *Profile) { p.RestoreTo = "ssh://me@pc/home/me/Restored" },
			`profile "home": restore-to: is for another computer's profile; this profile backs up folders here`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultProfile("home")
			tt.change(&p)
			err := p.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if tt.want == "InvalidArgs" && kerr.Is(err, kerr.InvalidArgs) {
				return // the message is the address parser's, tested in shared/grammar
			}
			if err == nil || err.Error() != tt.want || !kerr.Is(err, kerr.InvalidArgs) {
				t.Fatalf("Validate = %v (%s)\nwant InvalidArgs %s", err, kerr.NameOf(err), tt.want)
			}
		})
	}
}

func TestRetention(t *testing.T) {
	tests := []struct {
		name, in string
		want     retention.Policy
		text     string
		err      string
	}{
		{"default", "time-machine", retention.Policy{}, "time-machine", ""},
		{"empty", "", retention.Policy{}, "time-machine", ""},
		{"all tiers", "yearly=3 monthly=12 weekly=8 daily=30 hourly=24 keep-last=10",
			retention.Policy{KeepLast: 10, Hourly: 24, Daily: 30, Weekly: 8, Monthly: 12, Yearly: 3},
			"keep-last=10 hourly=24 daily=30 weekly=8 monthly=12 yearly=3", ""},
		{"commas", "daily=7,weekly=4", retention.Policy{Daily: 7, Weekly: 4}, "daily=7 weekly=4", ""},
		{"negative", "daily=-1", retention.Policy{}, "", `retention "daily=-1": daily=-1: the count must be a whole number of at least 1`},
		{"unknown", "forever", retention.Policy{}, "", `retention "forever": "forever" is not tier=count (e.g. daily=30)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := RetentionPolicy(tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err || !kerr.Is(err, kerr.InvalidArgs) {
					t.Fatalf("RetentionPolicy = %v, want InvalidArgs %s", err, tt.err)
				}
				return
			}
			if err != nil || p != tt.want {
				t.Fatalf("RetentionPolicy = %+v, %v; want %+v", p, err, tt.want)
			}
			if got := RetentionText(p); got != tt.text {
				t.Fatalf("RetentionText = %q, want %q", got, tt.text)
			}
			if back, err := RetentionPolicy(RetentionText(p)); err != nil || back != p {
				t.Fatalf("text does not read back: %+v, %v", back, err)
			}
		})
	}
}

func TestDurations(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		out  string
	}{
		{"30m", 30 * time.Minute, "30m"},
		{"1h", time.Hour, "1h"},
		{"24h", 24 * time.Hour, "1d"},
		{"1d", 24 * time.Hour, "1d"},
		{"7d", 7 * 24 * time.Hour, "7d"},
		{"1d12h", 36 * time.Hour, "1d12h"},
		{"90m", 90 * time.Minute, "1h30m"},
		{"1h0m5s", time.Hour + 5*time.Second, "1h5s"},
		{"0", 0, "0s"},
		{"1500ms", 1500 * time.Millisecond, "1.5s"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := parseDuration(tt.in)
			if err != nil || d != tt.want {
				t.Fatalf("parseDuration = %v, %v; want %v", d, err, tt.want)
			}
			if got := formatDuration(d); got != tt.out {
				t.Fatalf("formatDuration = %q, want %q", got, tt.out)
			}
			if back, err := parseDuration(tt.out); err != nil || back != d {
				t.Fatalf("%q does not read back: %v, %v", tt.out, back, err)
			}
		})
	}
	if _, err := parseDuration("99999999d"); err == nil {
		t.Error("absurd day count accepted")
	}
}

func TestMinFreeBytes(t *testing.T) {
	const capacity = 1000 << 30
	tests := []struct {
		in   string
		want int64
	}{
		{"", 0},
		{"2%", 20 << 30},
		{"0.5%", 5 << 30},
		{"20GiB", 20 << 30},
		{"20G", 20 << 30},
		{"20GB", 20e9},
		{"20 GB", 20e9},
		{"500M", 500 << 20},
		{"500m", 500 << 20},
		{"1.5T", 1536 << 30},
		{"4096", 4096},
		{"0", 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := MinFreeBytes(tt.in, capacity)
			if err != nil || got != tt.want {
				t.Fatalf("MinFreeBytes = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
	for _, in := range []string{"x", "-1G", "2 Gs", "%", "101%", "NaN", "1e30"} {
		if _, err := MinFreeBytes(in, capacity); !kerr.Is(err, kerr.InvalidArgs) {
			t.Errorf("MinFreeBytes(%q) = %v, want InvalidArgs", in, err)
		}
	}
}

func TestLoadUnreadable(t *testing.T) {
	// A path that exists but is a directory is an error, not Default():
	// silently running without the profiles would be worse.
	_, err := Load(t.TempDir())
	if err == nil {
		t.Fatal("Load of a directory succeeded")
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		t.Fatalf("read failure reported as config problem %q: %v", ke.Name, err)
	}
}

func TestTwoProfilesOneComputerFolder(t *testing.T) {
	a, b := DefaultProfile("a"), DefaultProfile("b")
	a.Sources, b.Sources = []string{"ssh://u@pc/home"}, []string{"ssh://v@pc:2222/srv"}
	a.Drive, b.Drive = "2f7c1b3e-9a4d-4f0e-8c1a-0123456789ab", "2f7c1b3e-9a4d-4f0e-8c1a-0123456789ab"
	c := &Config{Profiles: []Profile{a, b}}
	want := `profile "b": host "pc": profile "a" already backs up a computer by that name to this drive (set host = another name)`
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Fatalf("Validate = %v, want %s", err, want)
	}
	c.Profiles[1].Host = "pc-www"
	if err := c.Validate(); err != nil {
		t.Fatalf("with its own host name: %v", err)
	}
	_, err := Parse(strings.NewReader("[profile \"a\"]\nviewer = no-such-user-here\n"), "k.conf")
	if want := `k.conf:2: viewer in [profile "a"]: "no-such-user-here" is neither a uid nor a user of this computer`; err == nil || err.Error() != want {
		t.Fatalf("unknown viewer: %v, want %s", err, want)
	}
}
