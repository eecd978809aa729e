package status

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func profiles() []Profile {
	return []Profile{{
		Name: "home", State: "idle", Result: "ok",
		LastSuccess: now.Add(-time.Hour), LastAttempt: now.Add(-time.Hour),
		NextDue: now.In(time.FixedZone("CET", 3600)), // written in UTC
		Drive:   "2f7c1b3e-9a4d-4f0e-8c1a-0123456789ab", DrivePresent: true, TargetFree: 123456789,
		Host: "desk", AgeHours: 1, Received: -1,
	}, {
		Name: "work", State: "failed", Result: "NoSpace",
		Message:     "the drive \"Backup\" is full:\n12 GiB needed",
		LastAttempt: now.Add(-30 * time.Minute), NextDue: now.Add(5 * time.Minute),
		Drive: "1234-ABCD", TargetFree: -1, Host: "desk", AgeHours: -1, Received: -1,
	}, {
		Name: "new", State: "waiting-for-drive", TargetFree: -1, AgeHours: -1, Received: -1,
	}, {
		Name: "laptop", State: "idle", Result: "HostUnreachable", Message: "nothing answers at laptop.lan:22 (Jürgen's laptop)",
		LastSuccess: now.Add(-74 * time.Hour), LastAttempt: now.Add(-5 * time.Minute),
		Drive: "1234-ABCD", TargetFree: -1, Host: "laptöp", Remote: true, AgeHours: 74, Overdue: true, Received: 52428800,
	}, {
		Name: "photos", State: "idle", Result: "partial", LastSuccess: now, LastAttempt: now,
		Drive: "1234-ABCD", TargetFree: -1, Host: "desk", AgeHours: 0, Received: -1,
		Problems: 12, ProblemList: []string{"/home/a/bad\nname.jpg: cannot read: input/output error", "/home/a/gone.txt: vanished"},
		SkippedMounts: []string{"/home/a/nas", "/home/a/My Stick"},
	}}
}

// parseText reads the text file the way a shell script would: profile
// lines split on blanks into key=value, message lines on the first "=".
func parseText(t *testing.T, data []byte) (header string, rows []map[string]string, msgs map[string]string) {
	t.Helper()
	msgs = map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "#"):
			header = l
		case strings.HasPrefix(l, "profile="):
			row := map[string]string{}
			for _, f := range strings.Fields(l) {
				k, v, ok := strings.Cut(f, "=")
				if !ok {
					t.Fatalf("field %q in %q is not key=value", f, l)
				}
				row[k] = v
			}
			rows = append(rows, row)
		case strings.HasPrefix(l, "message."), strings.HasPrefix(l, "problem."), strings.HasPrefix(l, "skipped-mount."):
			k, v, _ := strings.Cut(l, "=")
			if msgs[k] != "" {
				v = msgs[k] + "|" + v
			}
			msgs[k] = v
		default:
			t.Fatalf("unexpected line %q", l)
		}
	}
	return header, rows, msgs
}

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run", "keepsake")
	if err := Write(dir, profiles(), now); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(dir, TextFile))
	if err != nil {
		t.Fatal(err)
	}
	header, rows, msgs := parseText(t, text)
	if header != "# keepsake status 2026-11-23T10:00:00Z" {
		t.Errorf("header %q", header)
	}
	want := []map[string]string{{
		"profile": "home", "state": "idle", "result": "ok",
		"last-success": "2026-11-23T09:00:00Z", "last-attempt": "2026-11-23T09:00:00Z", "next-due": "2026-11-23T10:00:00Z",
		"drive": "2f7c1b3e-9a4d-4f0e-8c1a-0123456789ab", "drive-present": "yes", "target-free": "123456789",
		"host": "desk", "remote": "no", "age-hours": "1", "overdue": "no", "received": "-", "problems": "0", "skipped-mounts": "0",
	}, {
		"profile": "work", "state": "failed", "result": "NoSpace",
		"last-success": "-", "last-attempt": "2026-11-23T09:30:00Z", "next-due": "2026-11-23T10:05:00Z",
		"drive": "1234-ABCD", "drive-present": "no", "target-free": "-",
		"host": "desk", "remote": "no", "age-hours": "-", "overdue": "no", "received": "-", "problems": "0", "skipped-mounts": "0",
	}, {
		"profile": "new", "state": "waiting-for-drive", "result": "-",
		"last-success": "-", "last-attempt": "-", "next-due": "-",
		"drive": "-", "drive-present": "no", "target-free": "-",
		"host": "-", "remote": "no", "age-hours": "-", "overdue": "no", "received": "-", "problems": "0", "skipped-mounts": "0",
	}, {
		"profile": "laptop", "state": "idle", "result": "HostUnreachable",
		"last-success": "2026-11-20T08:00:00Z", "last-attempt": "2026-11-23T09:55:00Z", "next-due": "-",
		"drive": "1234-ABCD", "drive-present": "no", "target-free": "-",
		"host": "lapt?p", "remote": "yes", "age-hours": "74", "overdue": "yes", "received": "52428800", "problems": "0", "skipped-mounts": "0",
	}, {
		"profile": "photos", "state": "idle", "result": "partial",
		"last-success": "2026-11-23T10:00:00Z", "last-attempt": "2026-11-23T10:00:00Z", "next-due": "-",
		"drive": "1234-ABCD", "drive-present": "no", "target-free": "-",
		"host": "desk", "remote": "no", "age-hours": "0", "overdue": "no", "received": "-", "problems": "12", "skipped-mounts": "2",
	}}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("profile lines:\n got %v\nwant %v\nfile:\n%s", rows, want, text)
	}
	for i, c := range text {
		if c > 127 {
			t.Fatalf("byte %d of the text file is not ASCII: %q", i, text)
		}
	}
	if want := map[string]string{"message.work": `the drive "Backup" is full: 12 GiB needed`, "message.laptop": "nothing answers at laptop.lan:22 (J?rgen's laptop)",
		"problem.photos":       "/home/a/bad name.jpg: cannot read: input/output error|/home/a/gone.txt: vanished",
		"skipped-mount.photos": "/home/a/nas|/home/a/My Stick"}; !reflect.DeepEqual(msgs, want) {
		t.Errorf("messages = %q, want %q", msgs, want)
	}

	var js struct {
		Updated  *string `json:"updated"`
		Profiles []struct {
			Name          string   `json:"name"`
			State         string   `json:"state"`
			Result        *string  `json:"result"`
			Message       string   `json:"message"`
			LastSuccess   *string  `json:"last_success"`
			LastAttempt   *string  `json:"last_attempt"`
			NextDue       *string  `json:"next_due"`
			Drive         string   `json:"drive"`
			DrivePresent  bool     `json:"drive_present"`
			TargetFree    *int64   `json:"target_free"`
			Host          string   `json:"host"`
			Remote        bool     `json:"remote"`
			AgeHours      *int64   `json:"age_hours"`
			Overdue       bool     `json:"overdue"`
			Received      *int64   `json:"received"`
			Problems      int      `json:"problems"`
			ProblemList   []string `json:"problem_list"`
			SkippedMounts []string `json:"skipped_mounts"`
		} `json:"profiles"`
	}
	data, err := os.ReadFile(filepath.Join(dir, JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &js); err != nil {
		t.Fatal(err)
	}
	if js.Updated == nil || *js.Updated != "2026-11-23T10:00:00Z" || len(js.Profiles) != 5 {
		t.Fatalf("status.json: %s", data)
	}
	h, w, n := js.Profiles[0], js.Profiles[1], js.Profiles[2]
	if ph := js.Profiles[4]; *ph.Result != "partial" || ph.Problems != 12 || len(ph.ProblemList) != 2 || ph.ProblemList[0] != "/home/a/bad\nname.jpg: cannot read: input/output error" ||
		!reflect.DeepEqual(ph.SkippedMounts, []string{"/home/a/nas", "/home/a/My Stick"}) {
		t.Errorf("partial profile in status.json: %+v", ph)
	}
	if h.ProblemList == nil || h.SkippedMounts == nil {
		t.Errorf("no problems should be empty lists, not null: %s", data)
	}
	if h.Name != "home" || *h.Result != "ok" || *h.LastSuccess != "2026-11-23T09:00:00Z" || *h.NextDue != "2026-11-23T10:00:00Z" ||
		!h.DrivePresent || *h.TargetFree != 123456789 || h.Drive != "2f7c1b3e-9a4d-4f0e-8c1a-0123456789ab" {
		t.Errorf("home in JSON: %+v\n%s", h, data)
	}
	if w.Result == nil || *w.Result != "NoSpace" || w.LastSuccess != nil || w.TargetFree != nil || w.Message != "the drive \"Backup\" is full:\n12 GiB needed" {
		t.Errorf("work in JSON: %+v\n%s", w, data)
	}
	if n.Result != nil || n.LastAttempt != nil || n.NextDue != nil || n.State != "waiting-for-drive" || n.AgeHours != nil || n.Received != nil {
		t.Errorf("new in JSON: %+v\n%s", n, data)
	}
	if l := js.Profiles[3]; l.Host != "laptöp" || !l.Remote || l.AgeHours == nil || *l.AgeHours != 74 || !l.Overdue || l.Received == nil || *l.Received != 52428800 {
		t.Errorf("laptop in JSON: %+v\n%s", l, data)
	}
	// Unknown values are null, not zero dates a script might trust.
	if bytes.Contains(data, []byte("0001-01-01")) || !bytes.Contains(data, []byte(`"last_success": null`)) {
		t.Errorf("zero times not null:\n%s", data)
	}

	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("status dir holds %d entries, want status and status.json only", len(ents))
	}
	for _, name := range []string{TextFile, JSONFile} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v %v, want 0644", name, fi.Mode(), err)
		}
	}

	// Rewriting replaces the contents.
	if err := Write(dir, nil, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	text, _ = os.ReadFile(filepath.Join(dir, TextFile))
	if string(text) != "# keepsake status 2026-11-23T10:01:00Z\n" {
		t.Errorf("empty status = %q", text)
	}
	data, _ = os.ReadFile(filepath.Join(dir, JSONFile))
	if !bytes.Contains(data, []byte(`"profiles": []`)) {
		t.Errorf("no profiles should be an empty list:\n%s", data)
	}
}

func TestFieldsStayOneWord(t *testing.T) {
	// Whatever the service passes, a profile line splits into the same
	// fields: nothing can inject blanks or new lines.
	p := Profile{Name: "odd name", State: "a\nb", Result: "x y", Drive: "d\te", TargetFree: -1, Message: "line1\r\nline2"}
	text := textStatus([]Profile{p}, now)
	lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want header, profile and message lines, got:\n%s", text)
	}
	if got := len(strings.Fields(lines[1])); got != 16 {
		t.Errorf("profile line has %d fields, want 16: %q", got, lines[1])
	}
	if lines[2] != "message.odd_name=line1  line2" {
		t.Errorf("message line %q", lines[2])
	}
}
