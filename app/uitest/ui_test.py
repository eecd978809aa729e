"""Keepsake's UI test: a person's first hour with the app, through AT-SPI.

Run by build-aux/ui-test.sh as an ordinary user inside Xvfb and a private
session bus, against a real keepsaked on a private system bus with a
loop-device drive. It completes the first-run setup, watches the first
backup finish, changes a file and backs up again, searches for the file,
opens its history, restores the old version and checks the bytes and the
owner on disk, browses a snapshot, lists deleted files, opens the steps
that add another computer as far as Keepsake's key line, then pulls the
drive and checks that a failed backup is shown and notified. Screenshots
of every page go to $KEEPSAKE_UI_ARTIFACTS.
"""
import os
import pwd
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import atspi  # noqa: E402
from atspi import UIError, click, find, find_all, gone, type_text, wait_text  # noqa: E402

HOME = os.environ["HOME"]
SHOTS = os.environ["KEEPSAKE_UI_ARTIFACTS"]
CTL = os.environ["KEEPSAKE_UI_CTL"]
APP = os.environ["KEEPSAKE_APP"]
REPORT = os.path.join(HOME, "Documents", "report.txt")
TODO = os.path.join(HOME, "Documents", "todo.txt")
FIRST = b"Quarterly report, first draft.\n"
SECOND = b"Quarterly report, final.\n"

os.makedirs(SHOTS, exist_ok=True)
_requests = 0


def root(request):
    """Asks build-aux/ui-test.sh (root) to do something and waits for it."""
    global _requests
    _requests += 1
    with open(os.path.join(CTL, "requests"), "w") as f:
        f.write(request + "\n")
    answer = os.path.join(CTL, f"answer.{_requests}")
    deadline = time.time() + 60
    while not os.path.exists(answer):
        if time.time() > deadline:
            raise UIError(f"root did not answer {request!r}")
        time.sleep(0.1)
    time.sleep(0.1)
    with open(answer) as f:
        if f.read().strip() != "ok":
            raise UIError(f"root could not {request}")


def step(msg):
    print(f"== {msg}", flush=True)


def shot(name, title="Keepsake", settle=0.6):
    path = os.path.join(SHOTS, name + ".png")
    atspi.screenshot(title, path, settle)
    print(f"   screenshot {path}", flush=True)


class Session:
    """The notification server and the app, with their logs."""

    def __init__(self):
        self.procs = []
        self.notify_log = os.path.join(SHOTS, "notifications.log")
        # dbus-monitor records every Notify call: the app's GNotifications
        # reach org.freedesktop.Notifications, which dunst serves.
        self.procs.append(subprocess.Popen(
            ["dbus-monitor", "--session", "interface='org.freedesktop.Notifications',member='Notify'"],
            stdout=open(self.notify_log, "w"), stderr=subprocess.DEVNULL))
        self.procs.append(subprocess.Popen(["dunst"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(0.5)

    def start_app(self, *args, env=None, log="app.log"):
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.Popen([APP, *args], env=e, stdout=open(os.path.join(SHOTS, log), "a"), stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def notifications(self):
        with open(self.notify_log, errors="replace") as f:
            return f.read()

    def wait_notification(self, text, timeout=30):
        deadline = time.time() + timeout
        while text not in self.notifications():
            if time.time() > deadline:
                raise UIError(f"no notification with {text!r}; seen:\n{self.notifications()[-2000:]}")
            time.sleep(0.2)

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()


def main_window(app):
    return find(app, name="Keepsake", role="frame")


def wait_idle(win, timeout=120):
    """Until the overview says the backups are up to date. The headline is
    found once and then read: walking the whole window is slow."""
    deadline = time.time() + timeout
    headline = None
    while headline is None:
        for text in ("Backups are up to date", "Backing up…", "Not backed up yet"):
            found = find_all(win, name=text, role="label")
            if found:
                headline = found[0]
                break
        if headline is None:
            if time.time() > deadline:
                raise UIError("the overview has no headline:\n" + atspi.dump(win))
            time.sleep(0.5)
    while headline.name != "Backups are up to date":
        if time.time() > deadline:
            raise UIError(f"the overview still says {headline.name!r}")
        time.sleep(0.2)


def make_work(n_small=20000, big_mb=200):
    """A day's work: many small files and some big ones, so the next backup
    runs long enough to watch its progress."""
    root = os.path.join(HOME, "Work")
    os.makedirs(root, exist_ok=True)
    for i in range(n_small):
        d = os.path.join(root, f"batch{i // 500:03d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"note{i:05d}.txt"), "w") as f:
            f.write(f"note {i}\n")
    for i in range(big_mb // 20):
        with open(os.path.join(root, f"video{i:02d}.bin"), "wb") as f:
            f.write(os.urandom(20 << 20))


def run(s):
    step("start the app: the first-run setup appears")
    app_proc = s.start_app()
    app = atspi.app_named("keepsake")
    win = main_window(app)

    import flows
    flows.setup(win, shot)

    step("the first backup runs and finishes")
    wait_idle(win, timeout=180)
    find(win, contains="Last backup: just now")
    shot("overview")

    step("a day's work: the report changes, a file is deleted, new files")
    with open(REPORT, "wb") as f:
        f.write(SECOND)
    with open(TODO, "rb") as f:
        todo = f.read()
    os.remove(TODO)
    make_work()
    flows.back_up_now(win, shot)
    wait_idle(win, timeout=300)

    flows.search_history_restore(win, app, shot, REPORT, FIRST, SECOND)
    flows.browse(win, app, shot)
    flows.deleted(win, app, shot, TODO, todo)
    flows.apps(win, app, shot)
    flows.preferences(win, app, shot)
    flows.another_computer(win, shot)

    step("pull the drive, then Back Up Now: the error is shown and notified")
    root("pull")
    flows.show_page(win, "Overview")
    click(find(win, name="Back Up Now", role="push button"))
    find(win, contains="The backup drive is not connected", timeout=60)
    s.wait_notification("Backup failed")
    shot("overview-failed")
    root("plug")

    step("quit, and start again at 360 px wide with the dark style")
    quit_app(app_proc)
    s.start_app(env={"KEEPSAKE_WINDOW_SIZE": "360x720", "ADW_DEBUG_COLOR_SCHEME": "prefer-dark"}, log="app-narrow.log")
    app = atspi.app_named("keepsake")
    win = main_window(app)
    wait_idle(win)
    shot("overview-narrow-dark")
    flows.show_page(win, "Search")
    shot("search-narrow-dark")
    quit_app(s.procs[-1])

    step("the service stops: the app says so and how to fix it")
    root("stop-service")
    proc = s.start_app(log="app-missing.log")
    app = atspi.app_named("keepsake")
    win = main_window(app)
    find(win, name="The Backup Service Is Not Running", timeout=60)
    shot("service-missing")
    quit_app(proc)


def quit_app(proc):
    """Quits through the app's own quit action, as Ctrl+Q would."""
    subprocess.run(["gdbus", "call", "--session", "--dest", "io.github.keepsake.Keepsake",
                    "--object-path", "/io/github/keepsake/Keepsake", "--method", "org.gtk.Actions.Activate",
                    "quit", "[]", "{}"], check=True, capture_output=True)
    proc.wait(15)


def main():
    s = Session()
    try:
        run(s)
    except Exception:
        traceback.print_exc()
        try:
            subprocess.run(["import", "-window", "root", os.path.join(SHOTS, "failure.png")])
        except Exception:
            pass
        return 1
    finally:
        s.stop()
    print("ui test passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
