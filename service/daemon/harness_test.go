package daemon_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/internal/bustest"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
)

// bg is the context of the tests' calls: each test's own timeouts end
// them, not the context.
var bg = context.Background()

// ptr is a setting's value.
func ptr[T any](v T) *T { return &v }

// paths is a setting's list of folders.
func paths(ps ...string) *[]api.Path {
	l := make([]api.Path, len(ps))
	for i, p := range ps {
		l[i] = api.Path(p)
	}
	return &l
}

// service is a real keepsaked process on a private system bus with real
// polkitd, with its configuration, state and runtime folders in a temp dir.
type service struct {
	t      *testing.T
	bus    *bustest.Bus
	dir    string
	cmd    *exec.Cmd
	log    *lockedBuffer
	client *client.Client
	bin    string
	args   []string // extra keepsaked flags
	env    []string // extra environment of keepsaked (KEY=VALUE)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startService starts polkitd (with rules, "" for none) and keepsaked.
func startService(t *testing.T, rules string, args ...string) *service {
	t.Helper()
	return startServiceEnv(t, rules, nil, args...)
}

// startServiceEnv is startService with env (KEY=VALUE) added to
// keepsaked's environment.
func startServiceEnv(t *testing.T, rules string, env []string, args ...string) *service {
	t.Helper()
	realfs.RequireRoot(t, "keepsaked runs as root on a private system bus")
	realfs.RequireCommands(t, "dbus-daemon", "losetup", "mkfs.ext4", "udevadm")
	realfs.StartUdevd(t)
	bus := bustest.StartSystemBus(t)
	bus.StartPolkit(t, rules)
	s := &service{t: t, bus: bus, dir: t.TempDir(), bin: realfs.Build(t, "service/cmd/keepsaked"), args: args, env: env}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *service) start() {
	t := s.t
	t.Helper()
	s.log = &lockedBuffer{}
	s.cmd = exec.Command(s.bin, "--config", filepath.Join(s.dir, "etc", "keepsake.conf"),
		"--state-dir", filepath.Join(s.dir, "state"), "--run-dir", filepath.Join(s.dir, "run"), "--host", "testhost", "--browse-linger", "500ms")
	s.cmd.Args = append(s.cmd.Args, s.args...)
	s.cmd.Env = append(append(os.Environ(), s.env...), "DBUS_SYSTEM_BUS_ADDRESS="+s.bus.Address)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	conn := s.bus.Conn(t)
	s.client = client.New(conn)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := s.client.Manager(bg); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("keepsaked did not come up:\n%s", s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *service) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
	// Built with -race under go test -race: a race it found fails the test.
	if strings.Contains(s.log.String(), "WARNING: DATA RACE") {
		s.t.Errorf("keepsaked reported a data race")
	}
	if s.t.Failed() {
		s.t.Logf("keepsaked log:\n%s", s.log.String())
	}
}

func (s *service) restart() {
	s.stop()
	s.start()
}

func (s *service) runDir() string { return filepath.Join(s.dir, "run") }

// waitFor polls cond until it holds or fails the test after timeout.
func (s *service) waitFor(what string, timeout time.Duration, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s\nkeepsaked log:\n%s", what, s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// profile reads a profile or fails.
func (s *service) profile(name string) client.Profile {
	s.t.Helper()
	p, err := s.client.Profile(bg, name)
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

// nextJob waits for a backup job of the profile started after the job
// after (any, if after is "") and returns its path. Finished jobs stay
// listed for a while, so a quick job is not missed.
func (s *service) nextJob(name string, after dbus.ObjectPath, timeout time.Duration) dbus.ObjectPath {
	s.t.Helper()
	var job dbus.ObjectPath
	s.waitFor("a job of profile "+name, timeout, func() bool {
		js, err := s.client.Jobs(bg)
		if err != nil {
			return false
		}
		for _, j := range js {
			if j.Profile == dbusapi.ProfilePath(name) && j.Operation == "backup" && jobNumber(j.Path) > jobNumber(after) {
				job = j.Path
				return true
			}
		}
		return false
	})
	return job
}

func jobNumber(p dbus.ObjectPath) uint64 {
	n, _ := strconv.ParseUint(path.Base(string(p)), 10, 64)
	return n
}

// wait follows a job to its end.
func (s *service) wait(job dbus.ObjectPath) (client.Job, error) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return s.client.Wait(ctx, job, nil)
}

// drive is a "USB drive" on a loop device seen by udev: ext4 unless
// made with newDriveOf.
type drive struct {
	dev, uuid, img, fstype string
}

func newDrive(t *testing.T, label string, sizeMB int) drive {
	t.Helper()
	return newDriveOf(t, "ext4", label, sizeMB)
}

func newDriveOf(t *testing.T, fstype, label string, sizeMB int) drive {
	t.Helper()
	dev, uuid := realfs.UdevLoop(t, fstype, label, sizeMB)
	out, err := exec.Command("losetup", "-n", "-O", "BACK-FILE", dev).Output()
	if err != nil {
		t.Fatal(err)
	}
	return drive{dev: dev, uuid: uuid, img: strings.TrimSpace(string(out)), fstype: fstype}
}

// unmountTest unmounts what a test mounted. The service looks at a drive
// mounted anywhere (its marker, its free space): a moment's look makes
// umount fail busy, so it is tried again for a few seconds.
func unmountTest(t *testing.T, mnt string) {
	t.Helper()
	for i := 0; realfs.Mounted(mnt); i++ {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil && i == 50 {
			t.Fatalf("umount %s: %v %s", mnt, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mountedUnder lists mount points below dir.
func mountedUnder(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			out = append(out, f[4])
		}
	}
	return out
}
