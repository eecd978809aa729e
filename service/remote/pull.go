package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/keepsake/keepsake/service/internal/proc"
	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// PullOptions says what to pull from where.
type PullOptions struct {
	// Remote is the computer and its paths, as grammar.ParseRemote made
	// it.
	Remote grammar.Remote
	// KeyFile is the private key to log in with (an Identity's KeyFile);
	// "" uses the invoking user's own ssh keys and agent.
	KeyFile string
	// KnownHostsFile holds the accepted host keys (a KnownHosts's Path);
	// "" uses the invoking user's own known_hosts files. Either way an
	// unknown or changed host key is refused.
	KnownHostsFile string
	// Dest is an existing, empty folder (not a symlink). The remote's
	// absolute paths land below it: /home/u/x arrives as Dest/home/u/x.
	Dest string
	// LinkDest is the previous snapshot folder of this computer, or "".
	// A file there with the same content and metadata at the same path is
	// hardlinked instead of copied.
	LinkDest string
	// Update: Dest holds the previous snapshot already (a btrfs snapshot
	// of it), and is brought up to date: what changed is sent, what the
	// other computer no longer has below the paths is deleted, the rest
	// is left as it is. LinkDest is not used with it.
	Update bool
	// Timeout bounds connecting (0: 30 seconds). A connection that stops
	// answering during the transfer is given up after about a minute.
	Timeout time.Duration
	// BandwidthLimit caps the transfer in bytes per second (0: none), to
	// spare a slow link. rsync rounds it to KiB/s.
	BandwidthLimit int64
	// Progress, when set, is called from another goroutine as data
	// arrives, one call at a time.
	Progress func(PullProgress)
	// Excludes are rsync --exclude patterns (exclude.RsyncPatterns): what
	// rsync leaves on the other side. They travel over rsync's protocol,
	// not through a shell.
	Excludes []string
	// Received, when set, is called from another goroutine, one call at a
	// time, with the path below Dest ("/home/u/x") of each regular file
	// rsync received data for, as soon as it has: so that it can be read
	// while it is still in the page cache. rsync renames the file from
	// its temporary name a moment after, and the path comes from the
	// other side's names, so it is a hint only: open it beneath Dest,
	// without following symlinks, and expect it to be missing or to be
	// something else.
	Received func(path string)
}

// PullProgress is how far a pull has come. rsync lists the other side's
// folders as it goes, so Total grows until the list is complete.
type PullProgress struct {
	// Bytes of file content transferred so far (files new or changed
	// since LinkDest; unchanged files are linked, not counted).
	Bytes int64
	// Percent done, 0 to 100, never going back: the share of all file
	// data transferred; with LinkDest, where most files are usually
	// linked rather than sent, the share of entries checked if that is
	// larger, once the list is complete (before, the share of a list
	// still growing would run ahead). It is 100 once every entry is
	// checked.
	Percent int
	// Checked entries of Total (files, folders and links in the pull,
	// as far as rsync has listed them).
	Checked, Total int64
	// Listed: the list is complete and Total final.
	Listed bool
}

// PullStats are rsync's figures for a finished pull.
type PullStats struct {
	// Files is the number of entries pulled: files, folders, links.
	Files int64
	// RegularFiles of those.
	RegularFiles int64
	// FilesTransferred is the number of regular files whose content was
	// sent (new or changed; others were linked from LinkDest).
	FilesTransferred int64
	// TotalSize is the size of all regular files.
	TotalSize int64
	// TransferredSize is the size of the files transferred.
	TransferredSize int64
	// BytesSent is what the other computer sent over the wire, after
	// rsync's delta encoding: what the pull cost the network (rsync's
	// "Total bytes received" on this side).
	BytesSent int64
	// BytesRequested is what this side sent (file requests, checksums).
	BytesRequested int64
	// Warnings are rsync's messages about entries it could not pull
	// (vanished meanwhile, unreadable, attributes it could not copy) and
	// about features the other computer lacks. A pull with warnings still
	// makes a usable snapshot of everything else.
	Warnings []string
	// Missing are the paths of the pull the other computer does not have
	// (a folder deleted there, a disk not mounted there): rsync sent
	// nothing of them, and deletes nothing below them in an Update.
	Missing []string
}

const (
	// maxWarnings bounds the warnings kept; the rest are counted.
	maxWarnings = 200
	// tailLines of rsync's messages go into a TransferFailed error.
	tailLines = 8
	// termGrace is how long rsync gets to clean up after SIGTERM, and its
	// helpers to end after it.
	termGrace = 5 * time.Second
)

// Pull copies the remote's paths into opts.Dest with rsync over ssh,
// keeping hardlinks, ACLs, extended attributes, numeric owners, modes,
// times and symlinks (as symlinks); device files, fifos and sockets are
// left out. Nothing is written outside Dest.
//
// Plain paths (letters, digits, "/._+,@=-") are rsync operands; any
// other travels to the other side as a NUL-separated list over rsync's
// own protocol (--files-from), never through a shell, so any byte but NUL
// can be in them; both work when the key is restricted with rrsync, which
// refuses --protect-args.
//
// Errors: Cancelled when ctx ends (rsync and ssh are stopped, rsync
// removes its partial file); HostKeyUnknown, HostKeyChanged (nothing is
// written), RemoteRefused (login or rrsync refused), HostUnreachable,
// PathNotFound when none of the paths exists there, NoSpace when this
// side runs out of space, InvalidArgs for bad options, TransferFailed
// otherwise. Files that
// vanished or could not be read (rsync's codes 23 and 24) are not an
// error: the stats carry them as Warnings. A remote rsync without ACL or
// extended attribute support is asked again without them, with a
// warning.
func Pull(ctx context.Context, opts PullOptions) (PullStats, error) {
	r := opts.Remote
	if err := checkRemote(r); err != nil {
		return PullStats{}, err
	}
	if err := checkPaths(r); err != nil {
		return PullStats{}, err
	}
	if err := checkDest(opts.Dest, opts.Update); err != nil {
		return PullStats{}, err
	}
	// Absolute: rsync would take a relative "a:b" for a remote.
	dest, err := filepath.Abs(opts.Dest)
	if err != nil {
		return PullStats{}, kerr.Wrap(kerr.InvalidArgs, err, "folder to pull into")
	}
	ssh, err := sshCommand(r, opts.KeyFile, opts.KnownHostsFile, opts.Timeout)
	if err != nil {
		return PullStats{}, err
	}
	linkDest := ""
	if opts.LinkDest != "" {
		if linkDest, err = filepath.Abs(opts.LinkDest); err != nil {
			return PullStats{}, kerr.Wrap(kerr.InvalidArgs, err, "link-dest %q", opts.LinkDest)
		}
	}
	acls, xattrs := true, true
	var notes []string
	for {
		if ctx.Err() != nil {
			return PullStats{}, kerr.Wrap(kerr.Cancelled, ctx.Err(), "pull from %s cancelled", r.Address())
		}
		args, list := rsyncArgs(r, dest, linkDest, ssh, opts.BandwidthLimit, acls, xattrs, opts.Update)
		if opts.Received != nil {
			args = append([]string{receivedFormat}, args...)
		}
		for _, x := range opts.Excludes {
			args = append([]string{"--exclude=" + x}, args...)
		}
		res := runRsync(ctx, args, list, &outputParser{progress: opts.Progress, received: opts.Received, linked: linkDest != "" || opts.Update})
		if ctx.Err() != nil {
			return PullStats{}, kerr.Wrap(kerr.Cancelled, ctx.Err(), "pull from %s cancelled", r.Address())
		}
		if res.startErr != nil {
			return PullStats{}, kerr.Wrap(kerr.TransferFailed, res.startErr, "start rsync")
		}
		// A remote rsync built without ACL or xattr support refuses the
		// option before anything is written: ask again without it.
		// (An update starts with the previous snapshot's files: asking
		// again only updates them again.)
		if m := unsupportedRe.FindStringSubmatch(res.stderr); m != nil && res.code != 0 && (opts.Update || empty(dest)) {
			if m[1] == "ACLs" && acls {
				acls = false
				notes = append(notes, fmt.Sprintf("ACLs were not copied: rsync on the %s does not support them", m[2]))
				continue
			}
			if m[1] == "extended attributes" && xattrs {
				xattrs = false
				notes = append(notes, fmt.Sprintf("extended attributes were not copied: rsync on the %s does not support them", m[2]))
				continue
			}
		}
		st := res.stats
		st.Warnings = append(notes, st.Warnings...)
		switch res.code {
		case 0, 23, 24:
			// 23: some files or attributes were not transferred; 24: some
			// files vanished. The rest is a good copy, unless this side
			// failed to write it or there was nothing to copy.
			if err := localFailure(r, st.Warnings); err != nil {
				return PullStats{}, err
			}
			if res.code == 23 && st.Files == 0 {
				return PullStats{}, kerr.New(kerr.PathNotFound, "none of %q is on %s: %s", r.Paths, r.Address(), strings.Join(st.Warnings, "; "))
			}
			st.Missing = missingPaths(r, st.Warnings)
			return st, nil
		}
		return PullStats{}, classify(r, opts.KnownHostsFile, res)
	}
}

// missingRe is rsync's message for a path it was asked for and the
// sender does not have (the path absolute with --relative, escaped as
// names are).
var missingRe = regexp.MustCompile(`^rsync: (?:\[sender\] )?link_stat "(.*)" failed: No such file or directory \(2\)$`)

// missingPaths are the paths of r that rsync's warnings say the other
// computer does not have.
func missingPaths(r grammar.Remote, warnings []string) []string {
	var out []string
	for _, w := range warnings {
		m := missingRe.FindStringSubmatch(w)
		if m == nil {
			continue
		}
		p := "/" + strings.TrimPrefix(unescapeName(m[1]), "/")
		if slices.Contains(r.Paths, p) {
			out = append(out, p)
		}
	}
	return out
}

// checkDest wants an existing, empty real folder.
func checkDest(dest string, update bool) error {
	if dest == "" {
		return kerr.New(kerr.InvalidArgs, "no folder to pull into")
	}
	st, err := os.Lstat(dest)
	if err != nil {
		return kerr.Wrap(kerr.InvalidArgs, err, "folder to pull into")
	}
	if st.Mode()&os.ModeSymlink != 0 {
		return kerr.New(kerr.UnsafePath, "%s is a symlink, not a folder to pull into", dest)
	}
	if !st.IsDir() {
		return kerr.New(kerr.InvalidArgs, "%s is not a folder", dest)
	}
	if !update && !empty(dest) {
		return kerr.New(kerr.InvalidArgs, "%s is not empty: a pull starts in an empty folder", dest)
	}
	return nil
}

func empty(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	return errors.Is(err, io.EOF)
}

// sshCommand is rsync's -e: ssh with options that never ask anything
// and refuse unknown or changed host keys. Its words are quoted the way
// rsync splits -e (single quotes, a doubled quote inside).
func sshCommand(r grammar.Remote, keyFile, knownHosts string, timeout time.Duration) (string, error) {
	words := []string{"ssh", "-p", strconv.Itoa(r.SSHPort()),
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "ConnectTimeout=" + strconv.Itoa(seconds(timeout)),
		"-o", "ServerAliveInterval=15",
		"-o", "ServerAliveCountMax=4",
		"-o", "ControlMaster=no",
		"-o", "ControlPath=none",
		"-o", "ForwardAgent=no",
		"-o", "ForwardX11=no",
		"-o", "ClearAllForwardings=yes",
		"-o", "PermitLocalCommand=no",
		"-o", "RequestTTY=no",
	}
	if keyFile != "" {
		if err := sshPathOK("key file", keyFile); err != nil {
			return "", err
		}
		words = append(words, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "IdentityFile="+sshOptionPath(keyFile))
	}
	if knownHosts != "" {
		if err := sshPathOK("known_hosts file", knownHosts); err != nil {
			return "", err
		}
		words = append(words, "-o", "UserKnownHostsFile="+sshOptionPath(knownHosts), "-o", "GlobalKnownHostsFile=/dev/null",
			"-o", "UpdateHostKeys=no", "-o", "CheckHostIP=no")
	}
	for i, w := range words {
		words[i] = rsyncQuote(w)
	}
	return strings.Join(words, " "), nil
}

// sshOptionPath writes a path as the value of an ssh -o option, which
// ssh splits into words (quotes and backslashes count) and then expands
// ('%' tokens). ssh's -i would not do: it wants the path unexpanded to
// exist and then expands it.
func sshOptionPath(p string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%").Replace(p) + `"`
}

// sshPathOK refuses a file path ssh would misread: relative (ssh expands
// a leading '~'), with a control character, or with "${" (ssh expands
// environment variables and has no escape for them).
func sshPathOK(what, p string) error {
	if !filepath.IsAbs(p) || strings.Contains(p, "${") || strings.IndexFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
		return kerr.New(kerr.InvalidArgs, "%s %q must be an absolute path without control characters or \"${\"", what, p)
	}
	return nil
}

// rsyncQuote quotes a word of an -e command as rsync splits it.
func rsyncQuote(w string) string {
	if w != "" && !strings.ContainsAny(w, " \t'\"") {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", "''") + "'"
}

// rsyncArgs is rsync's command line and what it reads on stdin.
//
// Paths made only of letters, digits and "/._+,@=-" are operands
// (host:/path), which the other side's shell and rrsync take as they
// are. Any other path would be split or expanded there, and Debian's
// rrsync refuses --protect-args, so then every path goes on stdin as a
// NUL list (--files-from=- --from0) relative to the root operand
// (host:/). The list costs rsync about half a second more on 10 000
// files, which is why it is not always used.
func rsyncArgs(r grammar.Remote, dest, linkDest, ssh string, bwlimit int64, acls, xattrs, update bool) (args []string, stdin []byte) {
	// --modify-window=-1: times compared and kept to the nanosecond;
	// otherwise rsync leaves a folder made in the same second as its
	// source's time with the time it was made.
	// --sparse: runs of zeros (a disk image's holes) become holes on the
	// drive instead of filling it; rsync refuses it only with --inplace
	// before 3.1.3, which is not used here.
	// Incremental recursion (rsync's default) stays on: the two sides
	// list, compare and send at once instead of the receiver waiting for
	// the whole list (--no-inc-recursive made rsync itself ~1.25x slower
	// on 10 000 files). Its cost is a total that grows as the list does
	// (PullProgress). A file hardlinked in two folders is still linked
	// (-H); rsync may send its data before meeting the second name.
	args = []string{"-a", "-r", "-H", "--sparse", "--numeric-ids", "--relative", "--no-D", "--modify-window=-1",
		"--info=progress2,stats2", "--no-human-readable", "-e", ssh}
	if acls {
		args = append(args, "-A")
	}
	if xattrs {
		args = append(args, "-X")
	}
	if linkDest != "" {
		args = append(args, "--link-dest="+linkDest)
	}
	if update {
		// Deletions happen on this side only (the sender is not told, so
		// rrsync -ro lets it through). --ignore-errors: a folder the other
		// side could not read loses its entries here as a pull into an
		// empty folder would; without it, one unreadable file anywhere
		// would keep every deleted file in the snapshot.
		args = append(args, "--delete", "--ignore-errors")
	}
	if bwlimit > 0 {
		args = append(args, "--bwlimit="+strconv.FormatInt(max(1, bwlimit/1024), 10))
	}
	host := rsyncHost(r)
	dest = strings.TrimSuffix(dest, "/") + "/"
	if !slices.ContainsFunc(r.Paths, func(p string) bool { return !plainPath(p) }) {
		args = append(args, "--")
		for _, p := range r.Paths {
			args = append(args, host+":"+p)
		}
		return append(args, dest), nil
	}
	args = append(args, "--files-from=-", "--from0", "--", host+":/", dest)
	return args, fileList(r.Paths)
}

// rsyncHost is the account and host of an rsync operand ("u@[::1]").
func rsyncHost(r grammar.Remote) string {
	host := r.Host
	if strings.IndexByte(host, ':') >= 0 {
		host = "[" + host + "]"
	}
	if r.User != "" {
		host = r.User + "@" + host
	}
	return host
}

// plainPath says an absolute path means the same to every shell and to
// rsync as an operand: no spaces, quotes, globs, "~", "$" or control
// characters.
func plainPath(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false
	}
	for _, c := range []byte(p) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("/._+,@=-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// fileList is the NUL-separated list of paths, relative to the root.
func fileList(paths []string) []byte {
	var b bytes.Buffer
	for _, p := range paths {
		rel := strings.TrimLeft(p, "/")
		if rel == "" {
			rel = "."
		}
		b.WriteString(rel)
		b.WriteByte(0)
	}
	return b.Bytes()
}

// result is what one rsync run gave.
type result struct {
	code     int // exit code; -1 when killed by a signal
	startErr error
	stderr   string // all of it (bounded)
	tail     []string
	stats    PullStats
}

// runRsync runs rsync in its own process group (with the ssh it starts),
// which is stopped when ctx ends.
func runRsync(ctx context.Context, args []string, list []byte, out *outputParser) result {
	cmd := exec.Command("rsync", args...)
	cmd.Env = rsyncEnv()
	if list != nil {
		cmd.Stdin = bytes.NewReader(list)
	}
	errs := &stderrCollector{}
	// rsync writes a line or two per file: reading them as they come
	// would wake this process tens of thousands of times a run, a tenth
	// of a core on a small machine. They are read in batches instead,
	// from a pipe large enough that rsync never waits for the reader.
	outR, outW, err := os.Pipe()
	if err != nil {
		return result{startErr: err}
	}
	unix.FcntlInt(outW.Fd(), unix.F_SETPIPE_SZ, 1<<20) // best effort: 64 KiB is enough at 20 ms
	cmd.Stdout, cmd.Stderr = outW, errs
	// Pdeathsig: should the service die (kill -9, a crash), rsync dies
	// with it (and its ssh, whose pipe closes), instead of writing on into
	// a snapshot folder the next run is about to clean. The signal comes
	// when the thread that started rsync ends, not the process: the
	// thread is kept for the run, since Go retires threads that a locked
	// goroutine leaves behind (a restore's), which would kill rsync midway.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = termGrace + time.Second
	err = cmd.Start()
	outW.Close()
	if err != nil {
		outR.Close()
		return result{startErr: err}
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		readBatched(outR, out)
	}()
	pgid := cmd.Process.Pid
	exited := make(chan struct{})
	go func() {
		// Learn that rsync ended without reaping it: while it is a zombie
		// its pid, the group's id, cannot be reused, so signalling the
		// group reaches only what it started.
		var info unix.Siginfo
		for unix.Waitid(unix.P_PID, pgid, &info, unix.WEXITED|unix.WNOWAIT, nil) == unix.EINTR {
		}
		close(exited)
	}()
	select {
	case <-exited:
	case <-ctx.Done():
		// SIGTERM to rsync alone lets it shut down in order: it tells its
		// receiver, which removes the partial file, and closes ssh.
		syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(termGrace):
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-exited
		}
	}
	// Nothing of the group outlives the pull: what has not ended by
	// itself shortly after rsync (its receiver cleaning up, ssh) is
	// killed.
	for deadline := time.Now().Add(termGrace); proc.GroupAlive(pgid) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	err = cmd.Wait()
	// The group is gone, so the pipe's last writer is; anything that
	// escaped it does not hold the pull up.
	select {
	case <-read:
	case <-time.After(termGrace):
		outR.Close()
		<-read
	}
	outR.Close()
	res := result{code: 0, stats: out.finish(), stderr: errs.text(), tail: errs.tail()}
	res.stats.Warnings = errs.warnings()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		res.code = -1
		res.startErr = err
	}
	return res
}

// outputBatch is how long rsync's output gathers between reads.
const outputBatch = 20 * time.Millisecond

// readBatched copies r to w until r ends, pausing after a read that did
// not fill the buffer so that the next one finds more.
func readBatched(r io.Reader, w io.Writer) {
	buf := make([]byte, 256<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			w.Write(buf[:n])
		}
		if err != nil {
			return
		}
		if n < len(buf) {
			time.Sleep(outputBatch)
		}
	}
}

// rsyncEnv is the environment without RSYNC_* variables (which could
// switch on --protect-args or old-style args behind our back) and with
// the C locale, so that figures and messages read the same everywhere.
func rsyncEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "RSYNC_") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") || strings.HasPrefix(kv, "LANGUAGE=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

var (
	// unsupportedRe is a remote (or local) rsync built without ACLs or
	// xattrs refusing -A or -X.
	unsupportedRe = regexp.MustCompile(`(ACLs|extended attributes) are not supported on this (server|client)`)
	// sshDeniedRe is ssh's refused login: "Permission denied (publickey)."
	// (rsync's own "Permission denied (13)" is about a file).
	sshDeniedRe = regexp.MustCompile(`Permission denied \([a-z-]+(,[a-z-]+)*\)`)
	// rrsyncRe is rrsync's refusal ("/usr/bin/rrsync error: ...").
	rrsyncRe      = regexp.MustCompile(`rrsync error: .*`)
	changedRe     = regexp.MustCompile(`REMOTE HOST IDENTIFICATION HAS CHANGED|[Hh]ost key for .* has changed|keys of different type are already known`)
	fingerprintRe = regexp.MustCompile(`SHA256:[A-Za-z0-9+/]{43}`)
	// noSpaceRe and driveGoneRe are this side's (the receiver's) write
	// errors: the drive is full, or went away.
	noSpaceRe     = regexp.MustCompile(`No space left on device \(28\)|Disk quota exceeded \(122\)`)
	driveGoneRe   = regexp.MustCompile(`\[receiver\].*(Input/output error \(5\)|Read-only file system \(30\)|No such device \(19\))`)
	unreachableRe = regexp.MustCompile(`Connection refused|Connection timed out|[Nn]o route to host|Network is unreachable|Could not resolve hostname|Name or service not known|Temporary failure in name resolution|Operation timed out`)
)

// localErrnoRe is a message about this side's writes (rsync's receiver
// and generator run here) failing with ENOSPC (28), EDQUOT (122), EIO (5)
// or EROFS (30): the snapshot is not good then.
var localErrnoRe = regexp.MustCompile(`\[(receiver|generator)\].*\((28|122|5|30)\)$`)

// localFailure is the error for a failed write on this side, or nil.
func localFailure(r grammar.Remote, warnings []string) error {
	for _, w := range warnings {
		m := localErrnoRe.FindStringSubmatch(w)
		switch {
		case m == nil:
		case m[2] == "28" || m[2] == "122":
			return kerr.New(kerr.NoSpace, "pulling from %s: %s", r.Address(), w)
		default:
			return kerr.New(kerr.TransferFailed, "pulling from %s, writing here failed: %s", r.Address(), w)
		}
	}
	return nil
}

// classify names a failed run by ssh's and rsync's messages.
func classify(r grammar.Remote, knownHosts string, res result) error {
	msg := strings.Join(res.tail, "\n")
	addr := r.Address()
	switch {
	case changedRe.MatchString(res.stderr):
		now := "another key"
		if fp := fingerprintRe.FindString(res.stderr); fp != "" {
			now = fp
		}
		was := "the accepted key"
		if knownHosts != "" {
			if keys, err := (KnownHosts{Path: knownHosts}).Accepted(r); err == nil && len(keys) > 0 {
				was = describe(keys)
			}
		}
		return kerr.New(kerr.HostKeyChanged, "the host key of %s has changed: accepted %s; it now presents %s. Nothing was copied", addr, was, now)
	case strings.Contains(res.stderr, "Host key verification failed"):
		return kerr.New(kerr.HostKeyUnknown, "no host key is accepted for %s yet: nothing was copied", addr)
	case sshDeniedRe.MatchString(res.stderr):
		return kerr.New(kerr.RemoteRefused, "%s refused the login: %s", addr, sshDeniedRe.FindString(res.stderr))
	case strings.Contains(res.stderr, "Another instance of rrsync"):
		return kerr.New(kerr.Busy, "%s is busy with another transfer through the same key: %s", addr, rrsyncRe.FindString(res.stderr))
	case rrsyncRe.MatchString(res.stderr):
		return kerr.New(kerr.RemoteRefused, "%s refused the transfer: %s", addr, rrsyncRe.FindString(res.stderr))
	case unreachableRe.MatchString(res.stderr):
		return kerr.New(kerr.HostUnreachable, "nothing answers at %s: %s", addr, unreachableRe.FindString(res.stderr))
	case noSpaceRe.MatchString(res.stderr):
		return kerr.New(kerr.NoSpace, "the backup drive is full (pulling %s): %s", addr, noSpaceRe.FindString(res.stderr))
	case driveGoneRe.MatchString(res.stderr):
		return kerr.New(kerr.DeviceGone, "the backup drive stopped answering (pulling %s): was it unplugged? %s", addr, driveGoneRe.FindString(res.stderr))
	}
	if err := localFailure(r, res.tail); err != nil {
		return err
	}
	if res.code < 0 {
		return kerr.New(kerr.TransferFailed, "rsync from %s was killed: %s", addr, msg)
	}
	return kerr.New(kerr.TransferFailed, "rsync from %s failed (code %d): %s", addr, res.code, msg)
}

// lastLines is the last n non-empty lines of s, joined with "; ".
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}

// stderrCollector keeps rsync's and ssh's messages: the first 64 KiB in
// full, the warnings (bounded) and the last lines.
type stderrCollector struct {
	mu      sync.Mutex
	partial []byte
	all     bytes.Buffer
	warns   []string
	dropped int
	last    []string
}

func (c *stderrCollector) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := 64<<10 - c.all.Len(); room > 0 {
		c.all.Write(p[:min(room, len(p))])
	}
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		c.line(string(bytes.TrimRight(c.partial[:i], "\r")))
		c.partial = c.partial[i+1:]
	}
	if len(c.partial) > 64<<10 {
		c.line(string(c.partial))
		c.partial = nil
	}
	return len(p), nil
}

// line files one message.
func (c *stderrCollector) line(l string) {
	l = strings.TrimSpace(l)
	if l == "" {
		return
	}
	c.last = append(c.last, l)
	if len(c.last) > tailLines {
		c.last = c.last[1:]
	}
	// The closing "rsync error: some files/attrs were not transferred
	// (code 23)" only sums up the messages before it.
	if strings.HasPrefix(l, "rsync error:") {
		return
	}
	if strings.HasPrefix(l, "rsync:") || strings.HasPrefix(l, "file has vanished:") || strings.HasPrefix(l, "rsync warning:") || strings.HasPrefix(l, "IO error") {
		if len(c.warns) < maxWarnings {
			c.warns = append(c.warns, l)
		} else {
			c.dropped++
		}
	}
}

func (c *stderrCollector) flush() {
	if len(c.partial) > 0 {
		c.line(string(c.partial))
		c.partial = nil
	}
}

func (c *stderrCollector) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flush()
	return c.all.String()
}

func (c *stderrCollector) tail() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flush()
	return append([]string(nil), c.last...)
}

func (c *stderrCollector) warnings() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flush()
	w := append([]string(nil), c.warns...)
	if c.dropped > 0 {
		w = append(w, fmt.Sprintf("... and %d more messages", c.dropped))
	}
	return w
}

var (
	// progressRe is a --info=progress2 line:
	// "  3000003 100%  238.42MB/s    0:00:00 (xfr#2, to-chk=0/6)";
	// "ir-chk" while the list is still growing.
	progressRe = regexp.MustCompile(`^\s*([0-9,]+)\s+([0-9]+)%\s+\S+\s+\S+(?:\s+\(xfr#[0-9]+, (to|ir)-chk=([0-9]+)/([0-9]+)\))?`)
	// statRe is a --info=stats2 line: "Total file size: 3000003 bytes".
	statRe = regexp.MustCompile(`^([A-Za-z ]+): ([0-9,]+)(?: bytes)?(?: \(reg: ([0-9,]+))?`)
)

// outputParser reads rsync's standard output: progress lines (ended by
// '\r') and the closing figures.
// receivedFormat has rsync print a line for every item, "KSR:" then what
// it did (%i: ">f" for a file it received data for) and the name. %b, the
// bytes it sent, makes rsync print the line once the data is in, not
// before the transfer.
const (
	receivedFormat = "--out-format=" + receivedMark + "%i %b %n"
	receivedMark   = "KSR:"
)

type outputParser struct {
	progress func(PullProgress)
	received func(string)
	linked   bool // a LinkDest is set
	partial  []byte
	last     PullProgress
	stats    PullStats
}

func (o *outputParser) Write(p []byte) (int, error) {
	o.partial = append(o.partial, p...)
	for {
		i := bytes.IndexAny(o.partial, "\r\n")
		if i < 0 {
			break
		}
		o.line(string(o.partial[:i]))
		o.partial = o.partial[i+1:]
	}
	if len(o.partial) > 64<<10 {
		o.partial = nil
	}
	return len(p), nil
}

func (o *outputParser) finish() PullStats {
	if len(o.partial) > 0 {
		o.line(string(o.partial))
		o.partial = nil
	}
	return o.stats
}

func number(s string) int64 {
	n, _ := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
	return n
}

func (o *outputParser) line(l string) {
	if rest, ok := strings.CutPrefix(l, receivedMark); ok {
		item, rest, _ := strings.Cut(rest, " ")
		_, name, _ := strings.Cut(rest, " ")
		if o.received != nil && strings.HasPrefix(item, ">f") {
			o.received("/" + strings.TrimPrefix(unescapeName(name), "/"))
		}
		return
	}
	if m := progressRe.FindStringSubmatch(l); m != nil {
		p := PullProgress{Bytes: number(m[1]), Percent: int(number(m[2])), Checked: o.last.Checked, Total: o.last.Total, Listed: o.last.Listed}
		if m[5] != "" {
			p.Total = number(m[5])
			p.Checked = p.Total - number(m[4])
			p.Listed = m[3] == "to"
		}
		// rsync's percentage counts only the data it sends, so a pull
		// that links most files to LinkDest would stay near 0%: there the
		// share of entries checked counts too.
		if o.linked && p.Listed && p.Total > 0 {
			p.Percent = max(p.Percent, int(p.Checked*100/p.Total))
		}
		if p.Listed && p.Total > 0 && p.Checked == p.Total {
			p.Percent = 100
		}
		p.Percent = min(max(p.Percent, o.last.Percent), 100)
		if p != o.last {
			o.last = p
			if o.progress != nil {
				o.progress(p)
			}
		}
		return
	}
	m := statRe.FindStringSubmatch(l)
	if m == nil {
		return
	}
	n := number(m[2])
	switch m[1] {
	case "Number of files":
		o.stats.Files = n
		o.stats.RegularFiles = number(m[3])
	case "Number of regular files transferred":
		o.stats.FilesTransferred = n
	case "Total file size":
		o.stats.TotalSize = n
	case "Total transferred file size":
		o.stats.TransferredSize = n
	case "Total bytes received":
		o.stats.BytesSent = n
	case "Total bytes sent":
		o.stats.BytesRequested = n
	}
}

// unescapeName undoes rsync's escaping of a name in its output: a byte it
// would not print as it is (a newline, invalid UTF-8, or the backslash of
// a literal "\#") is "\#" and three octal digits.
func unescapeName(s string) string {
	if !strings.Contains(s, `\#`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 < len(s) && s[i+1] == '#' && isOctal(s[i+2]) && isOctal(s[i+3]) && isOctal(s[i+4]) {
			b.WriteByte((s[i+2]-'0')<<6 | (s[i+3]-'0')<<3 | (s[i+4] - '0'))
			i += 4
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return '0' <= c && c <= '7' }
