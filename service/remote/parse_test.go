package remote

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/keepsake/keepsake/shared/kerr"
)

// rsyncSplit splits an -e command as rsync does (main.c do_cmd): words
// at spaces, single or double quotes group, a doubled quote inside is
// one quote.
func rsyncSplit(cmd string) []string {
	var words []string
	var w []byte
	in, inWord := byte(0), false
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		switch {
		case in == 0 && c == ' ':
			if inWord {
				words, w, inWord = append(words, string(w)), nil, false
			}
			continue
		case c == '\'' || c == '"':
			inWord = true
			if in == 0 {
				in = c
				continue
			}
			if c == in {
				if i+1 < len(cmd) && cmd[i+1] == in {
					w = append(w, c)
					i++
					continue
				}
				in = 0
				continue
			}
		}
		inWord = true
		w = append(w, c)
	}
	if inWord {
		words = append(words, string(w))
	}
	return words
}

func TestSSHCommand(t *testing.T) {
	t.Parallel()
	r := grammarRemote("ssh://u@[::1]:2222/x")
	cases := map[string]struct {
		key, kh string
		has     []string
		hasNot  []string
	}{
		"the service's own key and known_hosts": {key: "/var/lib/keepsake/ssh/id_ed25519", kh: "/var/lib/keepsake/known_hosts",
			has: []string{"-p 2222", "BatchMode=yes", "StrictHostKeyChecking=yes", "IdentitiesOnly=yes", "IdentityFile=\"/var/lib/keepsake/ssh/id_ed25519\"",
				"UserKnownHostsFile=\"/var/lib/keepsake/known_hosts\"", "GlobalKnownHostsFile=/dev/null", "UpdateHostKeys=no", "ConnectTimeout=30"}},
		"the user's own": {has: []string{"BatchMode=yes", "StrictHostKeyChecking=yes"},
			hasNot: []string{"IdentitiesOnly", "IdentityFile", "UserKnownHostsFile", "GlobalKnownHostsFile"}},
		"odd paths": {key: `/it's "odd" %d\x`, kh: "/a b/50%",
			has: []string{`IdentityFile="/it's \"odd\" %%d\\x"`, `UserKnownHostsFile="/a b/50%%"`}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cmd, err := sshCommand(r, c.key, c.kh, 0)
			if err != nil {
				t.Fatal(err)
			}
			words := rsyncSplit(cmd)
			if words[0] != "ssh" {
				t.Fatalf("%q", words)
			}
			joined := strings.Join(words, " ")
			for _, h := range c.has {
				if !strings.Contains(joined, h) {
					t.Errorf("%q lacks %q", words, h)
				}
			}
			for _, h := range c.hasNot {
				if strings.Contains(joined, h) {
					t.Errorf("%q has %q", words, h)
				}
			}
		})
	}
}

func TestRsyncArgs(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		remote   string
		operands []string // before the destination
		list     string   // stdin, "" for none
		linkDest string
		acls     bool
		update   bool
	}{
		"user and ipv6":  {remote: "ssh://u@[::1]:2222/x", operands: []string{"u@[::1]:/x"}},
		"host only":      {remote: "ssh://nas/x", operands: []string{"nas:/x"}, linkDest: "/drive/nas/prev", acls: true},
		"several paths":  {remote: "ssh://nas/home/u,/etc,/srv/a_b-c.d+e@f=g", operands: []string{"nas:/home/u", "nas:/etc", "nas:/srv/a_b-c.d+e@f=g"}},
		"an update":      {remote: "ssh://nas/home/u", operands: []string{"nas:/home/u"}, update: true},
		"the root":       {remote: "ssh://nas/", operands: []string{"nas:/"}},
		"a space":        {remote: "ssh://nas/home/u/My%20Files,/etc", operands: []string{"nas:/"}, list: "home/u/My Files\x00etc\x00"},
		"a tilde":        {remote: "ssh://nas/~u", operands: []string{"nas:/"}, list: "~u\x00"},
		"a newline":      {remote: "ssh://nas/a%0Ab", operands: []string{"nas:/"}, list: "a\nb\x00"},
		"a dollar":       {remote: "ssh://nas/$HOME", operands: []string{"nas:/"}, list: "$HOME\x00"},
		"quotes":         {remote: "ssh://nas/it's", operands: []string{"nas:/"}, list: "it's\x00"},
		"non-ASCII name": {remote: "ssh://nas/home/j%C3%B6rg", operands: []string{"nas:/"}, list: "home/j\xc3\xb6rg\x00"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			args, list := rsyncArgs(grammarRemote(c.remote), "/drive/nas/new", c.linkDest, "ssh", 0, c.acls, true, c.update)
			n := len(args)
			want := append(append([]string{"--"}, c.operands...), "/drive/nas/new/")
			if got := args[n-len(want):]; !slices.Equal(got, want) {
				t.Fatalf("operands %q, want %q", got, want)
			}
			if string(list) != c.list {
				t.Errorf("stdin %q, want %q", list, c.list)
			}
			fromList := slices.Contains(args, "--files-from=-") && slices.Contains(args, "--from0")
			if fromList != (c.list != "") {
				t.Errorf("%q: paths from stdin %v, want %v", args, fromList, c.list != "")
			}
			for _, want := range []string{"-a", "-r", "-H", "-X", "--sparse", "--numeric-ids", "--relative", "--no-D", "--modify-window=-1"} {
				if !slices.Contains(args, want) {
					t.Errorf("%q lacks %s", args, want)
				}
			}
			if slices.Contains(args, "-A") != c.acls {
				t.Errorf("-A in %q, want %v", args, c.acls)
			}
			if slices.Contains(args, "--link-dest="+c.linkDest) != (c.linkDest != "") {
				t.Errorf("link-dest in %q", args)
			}
			if slices.Contains(args, "--delete") != c.update || slices.Contains(args, "--ignore-errors") != c.update {
				t.Errorf("%q: --delete and --ignore-errors %v, want %v", args, !c.update, c.update)
			}
			if slices.Contains(args, "--protect-args") || slices.Contains(args, "-s") {
				t.Errorf("%q: rrsync refuses --protect-args", args)
			}
		})
	}
	if got := fileList([]string{"/", "/home/u", "/a\nb"}); string(got) != ".\x00home/u\x00a\nb\x00" {
		t.Errorf("fileList = %q", got)
	}
}

func TestOutputParser(t *testing.T) {
	t.Parallel()
	out := "\r              3   0%    0.00kB/s    0:00:00  \r              3   0%    0.00kB/s    0:00:00 (xfr#1, to-chk=5/10)" +
		"\r        1500000  50%  200.00MB/s    0:00:00 (xfr#2, to-chk=3/10)\r        3000003 100%  238.42MB/s    0:00:00 (xfr#2, to-chk=0/10)\n\n" +
		"Number of files: 10 (reg: 2, dir: 4, link: 4)\nNumber of created files: 10 (reg: 2, dir: 4)\nNumber of deleted files: 0\n" +
		"Number of regular files transferred: 2\nTotal file size: 3,000,003 bytes\nTotal transferred file size: 3000003 bytes\n" +
		"Literal data: 3000003 bytes\nMatched data: 0 bytes\nFile list size: 0\nTotal bytes sent: 67\nTotal bytes received: 3000993\n\n" +
		"sent 67 bytes  received 3000993 bytes  6002120.00 bytes/sec\ntotal size is 3000003  speedup is 1.00\n"
	for _, chunk := range []int{1, 7, len(out)} {
		t.Run(fmt.Sprintf("chunks of %d", chunk), func(t *testing.T) {
			var got []PullProgress
			o := &outputParser{progress: func(p PullProgress) { got = append(got, p) }}
			for i := 0; i < len(out); i += chunk {
				o.Write([]byte(out[i:min(i+chunk, len(out))]))
			}
			st := o.finish()
			want := PullStats{Files: 10, RegularFiles: 2, FilesTransferred: 2, TotalSize: 3000003, TransferredSize: 3000003, BytesSent: 3000993, BytesRequested: 67}
			if fmt.Sprint(st) != fmt.Sprint(want) {
				t.Errorf("stats %+v\nwant  %+v", st, want)
			}
			wantP := []PullProgress{{3, 0, 0, 0, false}, {3, 0, 5, 10, true}, {1500000, 50, 7, 10, true}, {3000003, 100, 10, 10, true}}
			if !slices.Equal(got, wantP) {
				t.Errorf("progress %+v\nwant     %+v", got, wantP)
			}
		})
	}
	// With LinkDest the share of entries checked counts.
	var got []PullProgress
	o := &outputParser{linked: true, progress: func(p PullProgress) { got = append(got, p) }}
	o.Write([]byte("\r     14   0%    0.00kB/s    0:00:00 (xfr#1, to-chk=5/10)\r     14   0%    0.00kB/s    0:00:00 (xfr#1, to-chk=0/10)\n"))
	if !slices.Equal(got, []PullProgress{{14, 50, 5, 10, true}, {14, 100, 10, 10, true}}) {
		t.Errorf("linked progress %+v", got)
	}
	// While rsync still lists folders (ir-chk) the total grows: entries
	// checked of it say nothing of the whole, and all of it checked is
	// not the end.
	got = nil
	o = &outputParser{linked: true, progress: func(p PullProgress) { got = append(got, p) }}
	o.Write([]byte("\r     14   0%    0.00kB/s    0:00:00 (xfr#1, ir-chk=0/10)\r     14   0%    0.00kB/s    0:00:00 (xfr#1, ir-chk=20/40)" +
		"\r     14   0%    0.00kB/s    0:00:00 (xfr#1, to-chk=30/60)\r     20   0%    0.00kB/s    0:00:00 (xfr#2, to-chk=0/60)\n"))
	want := []PullProgress{{14, 0, 10, 10, false}, {14, 0, 20, 40, false}, {14, 50, 30, 60, true}, {20, 100, 60, 60, true}}
	if !slices.Equal(got, want) {
		t.Errorf("growing list's progress %+v\nwant %+v", got, want)
	}
}

// TestReceivedNames: the received-file lines of rsync's output, among its
// progress, become paths with rsync's escapes undone; folders, links,
// hardlinks made at the end and what was not transferred do not count.
func TestReceivedNames(t *testing.T) {
	t.Parallel()
	out := receivedMark + "cd+++++++++ 0 home/\r     10   1%    0.00kB/s    0:00:00 (xfr#1, to-chk=5/10)\n" +
		receivedMark + ">f+++++++++ 10 home/a b\n" +
		receivedMark + ">f+++++++++ 3 home/new\\#012line\n" +
		receivedMark + ">f..t...... 3 home/bad\\#377\n" +
		receivedMark + ">f+++++++++ 3 home/back\\#134#012x\n" +
		receivedMark + "cL+++++++++ 0 home/link\n" +
		receivedMark + "hf+++++++++ 0 home/hard\n" +
		receivedMark + ">f+++++++++ 1 home/\\#01\n" + // not an escape: too short
		"Number of files: 10 (reg: 2, dir: 4, link: 4)\n"
	var got []string
	o := &outputParser{received: func(p string) { got = append(got, p) }}
	for i := 0; i < len(out); i += 5 {
		o.Write([]byte(out[i:min(i+5, len(out))]))
	}
	st := o.finish()
	want := []string{"/home/a b", "/home/new\nline", "/home/bad\xff", "/home/back\\#012x", "/home/\\#01"}
	if !slices.Equal(got, want) {
		t.Errorf("received %q\nwant     %q", got, want)
	}
	if st.Files != 10 {
		t.Errorf("stats lost among the names: %+v", st)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	r := grammarRemote("ssh://u@nas:2222/x")
	closed := "\nrsync: connection unexpectedly closed (0 bytes received so far) [Receiver]\nrsync error: unexplained error (code 255) at io.c(232) [Receiver=3.5.0]\n"
	cases := map[string]struct {
		code   int
		stderr string
		want   kerr.Name
		says   string
	}{
		"unknown host key": {255, "No ED25519 host key is known for [nas]:2222 and you have requested strict checking.\nHost key verification failed.\n" + closed, kerr.HostKeyUnknown, "nas:2222"},
		"changed host key": {255, "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n" +
			"The fingerprint for the ED25519 key sent by the remote host is\nSHA256:uxYQXANq9EQJbi4v+mJLeIpqr0dizF631pj+JVAU7Uk.\nHost key verification failed.\n" + closed,
			kerr.HostKeyChanged, "SHA256:uxYQXANq9EQJbi4v+mJLeIpqr0dizF631pj+JVAU7Uk"},
		"login refused":                     {255, "u@nas: Permission denied (publickey,password).\n" + closed, kerr.RemoteRefused, "publickey"},
		"rrsync refused":                    {12, "/usr/bin/rrsync error: reading from write-only server is not allowed\n" + closed, kerr.RemoteRefused, "write-only"},
		"rrsync busy":                       {12, "/usr/bin/rrsync error: Another instance of rrsync is already accessing this directory.\n" + closed, kerr.Busy, "busy"},
		"connection refused":                {255, "ssh: connect to host nas port 2222: Connection refused\n" + closed, kerr.HostUnreachable, "nas:2222"},
		"no such host":                      {255, "ssh: Could not resolve hostname nas: Name or service not known\n" + closed, kerr.HostUnreachable, "resolve"},
		"timeout":                           {255, "ssh: connect to host nas port 2222: Connection timed out\n" + closed, kerr.HostUnreachable, "timed out"},
		"disk full":                         {11, "rsync: [receiver] write failed on \"/d/x\": No space left on device (28)\nrsync error: error in file IO (code 11) at receiver.c(380) [receiver=3.5.0]\n", kerr.NoSpace, "No space left"},
		"drive gone":                        {11, "rsync: [receiver] write failed on \"/d/x\": Input/output error (5)\nrsync error: error in file IO (code 11) at receiver.c(380) [receiver=3.5.0]\n", kerr.DeviceGone, "unplugged"},
		"unreadable there is not the drive": {23, "rsync: [sender] read errors mapping \"/x\": Input/output error (5)\n", kerr.TransferFailed, "code 23"},
		"file denied is not a login":        {12, "rsync: [sender] send_files failed to open \"/x\": Permission denied (13)\n" + closed, kerr.TransferFailed, "code 12"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var col stderrCollector
			col.Write([]byte(c.stderr))
			err := classify(r, "", result{code: c.code, stderr: col.text(), tail: col.tail()})
			if !kerr.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("classify = %v (%s), want %s saying %q", err, kerr.NameOf(err), c.want, c.says)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	var c stderrCollector
	c.Write([]byte("file has vanished: \"/home/u/x\"\nrsync: [sender] send_files failed to open \"/home/u/y\": Permission denied (13)\n" +
		"rsync warning: some files vanished before they could be transferred (code 24) at main.c(1880) [generator=3.5.0]\n" +
		"rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1338) [generator=3.5.0]\n"))
	want := []string{`file has vanished: "/home/u/x"`, `rsync: [sender] send_files failed to open "/home/u/y": Permission denied (13)`,
		"rsync warning: some files vanished before they could be transferred (code 24) at main.c(1880) [generator=3.5.0]"}
	if got := c.warnings(); !slices.Equal(got, want) {
		t.Fatalf("warnings %q\nwant %q", got, want)
	}
	var many stderrCollector
	for i := 0; i < maxWarnings+5; i++ {
		fmt.Fprintf(&many, "file has vanished: \"/x/%d\"\n", i)
	}
	if got := many.warnings(); len(got) != maxWarnings+1 || got[maxWarnings] != "... and 5 more messages" {
		t.Fatalf("%d warnings, last %q", len(got), got[len(got)-1])
	}
}

func TestLocalFailure(t *testing.T) {
	r := grammarRemote("ssh://nas/x")
	cases := map[string]struct {
		warning string
		want    kerr.Name // "" for none
	}{
		"remote file unreadable":  {`rsync: [sender] send_files failed to open "/x/y": Permission denied (13)`, ""},
		"remote disk error":       {`rsync: [sender] read errors mapping "/x/y": Input/output error (5)`, ""},
		"vanished":                {`file has vanished: "/x/y"`, ""},
		"attribute not supported": {`rsync: [receiver] set_acl: sys_acl_set_file(x/y, ACL_TYPE_ACCESS): Operation not supported (95)`, ""},
		"no room for a folder":    {`rsync: [generator] recv_generator: mkdir "/d/x/y" failed: No space left on device (28)`, kerr.NoSpace},
		"quota":                   {`rsync: [receiver] mkstemp "/d/x/.y.AbCd" failed: Disk quota exceeded (122)`, kerr.NoSpace},
		"drive went read-only":    {`rsync: [generator] recv_generator: mkdir "/d/x/y" failed: Read-only file system (30)`, kerr.TransferFailed},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := localFailure(r, []string{c.warning})
			if kerr.NameOf(err) != c.want {
				t.Fatalf("localFailure = %v (%q), want %q", err, kerr.NameOf(err), c.want)
			}
		})
	}
}

// TestMissingPaths: the paths of a pull that rsync says the other side
// does not have, and nothing else it warns about.
func TestMissingPaths(t *testing.T) {
	t.Parallel()
	r := grammarRemote("ssh://nas/home/u,/srv/My%20Files,/etc,/a%0Ab")
	warns := []string{
		`rsync: [sender] link_stat "/srv/My Files" failed: No such file or directory (2)`,
		`rsync: [sender] link_stat "/a\#012b" failed: No such file or directory (2)`,
		`rsync: [sender] link_stat "/etc/passwd" failed: No such file or directory (2)`,
		`rsync: [sender] link_stat "/home/u" failed: Permission denied (13)`,
		`file has vanished: "/home/u/a"`,
	}
	if got, want := missingPaths(r, warns), []string{"/srv/My Files", "/a\nb"}; !slices.Equal(got, want) {
		t.Errorf("missing %q, want %q", got, want)
	}
}
