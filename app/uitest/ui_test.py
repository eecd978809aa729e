"""Keepsake's UI test: a person's first hour with the app, through AT-SPI.

Run by build-aux/ui-test.sh as an ordinary user inside Xvfb and a private
session bus, against a real keepsaked on a private system bus with a
loop-device drive. It completes the first-run setup (the drive encrypted,
its recovery key shown once), watches the first
backup finish, changes a file and backs up again, searches for the file,
opens its history, restores the old version and checks the bytes and the
owner on disk, browses the oldest and the newest snapshot (a file deleted
between them is only in the oldest), lists deleted files, reinstalls a
Flatpak app removed since the backups (flatpak lists it again, its data is
back), checks every preferences page's settings, opens the steps that add
another computer as far as Keepsake's key line, locks the encrypted drive
(a notification while the window is hidden, the Unlock Backup Drive
dialog from it and from the overview, a wrong passphrase said in it, the
right one unlocking it and the backup running), pulls the drive while idle
and then during a backup (the failure is shown and notified, the app keeps
answering, the drive shows as connected again after the plug and the next
backup succeeds), and measures the window started at 360 px with the dark
style. Screenshots of every page go to $KEEPSAKE_UI_ARTIFACTS.
"""
import gettext
import os
import pwd
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import atspi  # noqa: E402
import flows  # noqa: E402
import gnome  # noqa: E402
from atspi import UIError, click, find, find_all, gone, type_text, wait_text  # noqa: E402

HOME = os.environ["HOME"]
SHOTS = os.environ["KEEPSAKE_UI_ARTIFACTS"]
CTL = os.environ["KEEPSAKE_UI_CTL"]
APP = os.environ["KEEPSAKE_APP"]
REPORT = os.path.join(HOME, "Documents", "report.txt")
TODO = os.path.join(HOME, "Documents", "todo.txt")
FIRST = b"Quarterly report, first draft.\n"
PASSPHRASE = "correct horse battery"
DRIVE_UUID = os.environ["KEEPSAKE_DRIVE_UUID"]
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
    deadline = time.time() + 120  # a lock waits for a running backup
    while not os.path.exists(answer):
        if time.time() > deadline:
            raise UIError(f"root did not answer {request!r}")
        time.sleep(0.1)
    time.sleep(0.1)
    with open(answer) as f:
        if f.read().strip() != "ok":
            raise UIError(f"root could not {request}")


T0 = time.time()


def step(msg):
    print(f"== [{time.time() - T0:.0f} s] {msg}", flush=True)


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


def first_backups(s, **setup):
    """Starts the app, completes the setup (flows.setup's setup
    arguments), waits for the first backup, then does a day's work and
    backs it up with Back Up Now. Returns the app's process, the app, its
    window and the bytes of the file the day deleted."""
    app_proc = s.start_app()
    app = atspi.app_named("keepsake")
    win = main_window(app)

    flows.setup(win, shot, **setup)

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
    return app_proc, app, win, todo


def run(s):
    step("start the app: the first-run setup appears")
    app_proc, app, win, todo = first_backups(s, passphrase=PASSPHRASE)

    flows.search_history_restore(win, app, shot, REPORT, FIRST, SECOND)
    flows.browse(win, app, shot)
    gnome.search_provider(win, app, shot, REPORT)
    gnome.files_extension(win, app, shot, REPORT)
    flows.deleted(win, app, shot, TODO, todo)
    flows.apps(win, app, shot)
    flows.preferences(win, app, shot)
    win = flows.encrypted_drive(win, app, shot, root, s.wait_notification, PASSPHRASE, DRIVE_UUID, wait_idle)
    flows.another_computer(win, shot)

    step("pull the drive, then Back Up Now: the error is shown and notified")
    root("pull")
    flows.show_page(win, "Overview")
    find(win, name="Not connected", role="label", timeout=60)
    click(find(win, name="Back Up Now", role="push button"))
    find(win, contains="The backup drive is not connected", timeout=60)
    s.wait_notification("Backup failed")
    shot("overview-failed")
    step("plug it in again: the overview shows it connected")
    root("plug")
    find(win, name="Connected", role="label", timeout=60)
    shot("overview-replugged")

    pull_during_backup(s, win)

    step("quit, and start again at 360 px wide with the dark style")
    wide, light = window_looks("overview-wide-light")
    # The same measures on the first window, so they are known to tell
    # a wide light window from a narrow dark one.
    if wide < 600 or light < 0.6:
        raise UIError(f"the first window is {wide} px wide with a brightness of {light:.2f}: not wide and light")
    quit_app(app_proc)
    s.start_app(env={"KEEPSAKE_WINDOW_SIZE": "360x720", "ADW_DEBUG_COLOR_SCHEME": "prefer-dark"}, log="app-narrow.log")
    app = atspi.app_named("keepsake")
    win = main_window(app)
    wait_idle(win)
    width, dark = window_looks("overview-narrow-dark")
    print(f"   the window: {wide} px wide, brightness {light:.2f} at first; now {width} px, brightness {dark:.2f}", flush=True)
    if dark > 0.3:
        raise UIError(f"the window's mean brightness is {dark:.2f}: the dark style is not in effect")
    if not 350 <= width <= 380:
        # The header's window buttons and the view switcher at the bottom
        # are what made it wider before (GTK's default three buttons).
        raise UIError(f"the window is {width} px wide, not about 360")
    flows.show_page(win, "Search")
    shot("search-narrow-dark")
    quit_app(s.procs[-1])

    german(s)

    step("the service stops: the app says so and how to fix it")
    root("stop-service")
    proc = s.start_app(log="app-missing.log")
    app = atspi.app_named("keepsake")
    win = main_window(app)
    find(win, name="The Backup Service Is Not Running", timeout=60)
    shot("service-missing")
    quit_app(proc)


def run_btrfs(s):
    """The first hour on a btrfs drive, where each snapshot is a
    subvolume: the setup without encryption (btrfs cannot be encrypted
    here, and the setup says so), two backups, search, history and
    restore, browsing, deleted files, a Flatpak app reinstalled, the
    drive pulled while idle and during a backup. Then root counts the
    drive's subvolumes: every backup one, read-only, and none left over
    from the interrupted one."""
    step("start the app: the first-run setup appears, for a btrfs drive")
    _, app, win, todo = first_backups(s, cannot_encrypt=True)

    flows.search_history_restore(win, app, shot, REPORT, FIRST, SECOND)
    flows.browse(win, app, shot)
    flows.deleted(win, app, shot, TODO, todo)
    flows.apps(win, app, shot)

    step("pull the drive, then plug it in again")
    root("pull")
    flows.show_page(win, "Overview")
    find(win, name="Not connected", role="label", timeout=60)
    root("plug")
    find(win, name="Connected", role="label", timeout=60)
    pull_during_backup(s, win)

    step("the drive holds a read-only subvolume per backup, and no interrupted one")
    root("subvolumes 3")
    quit_app(s.procs[-1])


def german(s):
    """The app in German (LANGUAGE=de, a de_DE.UTF-8 locale): labels from
    the .ui files, from Go, a plural count with German digit grouping and a
    date, each read on screen as the catalog translates it, and each
    different from the English."""
    step("in German: the overview, the view switcher, the preferences")
    de = gettext.translation("keepsake", localedir=os.environ["KEEPSAKE_LOCALEDIR"], languages=["de"])

    def t(english, mnemonic=False, context=None):
        """The German of an English label; a mnemonic's underscore is in
        the catalog but not in the accessible name."""
        msgid = "_" + english if mnemonic else english
        text = de.pgettext(context, msgid) if context else de.gettext(msgid)
        if text == msgid:
            raise UIError(f"the German catalog does not translate {msgid!r}")
        return text.replace("_", "")

    proc = s.start_app(env={"LANGUAGE": "de", "LANG": "de_DE.UTF-8", "LC_ALL": "de_DE.UTF-8"}, log="app-german.log")
    app = atspi.app_named("keepsake")
    win = main_window(app)
    find(win, name=t("Backups are up to date"), role="label", timeout=60)
    find(win, name=t("Back Up Now", mnemonic=True), role="push button")
    # A sentence from Go with a date in it, and GTK's own catalog.
    find(win, contains="Letzte Sicherung", role="label")
    find(win, name=t("Overview"))
    for page in ("Browse", "Search"):
        find(win, name=t(page, context="page"))
    shot("overview-german")
    flows.show_page(win, t("Browse", context="page"))
    shot("browse-german")
    flows.activate_action("preferences")
    prefs = flows.window_named(app, t("Preferences"))
    shot("preferences-german", title=t("Preferences"))
    # The close button is GTK's own, translated by GTK's catalog.
    click(find(prefs, name="Schließen", role="push button"))
    quit_app(proc)


def window_looks(name, title="Keepsake"):
    """The main window's width as the X server has it, and its mean
    brightness (0 black to 1 white) in a screenshot saved as name."""
    geo = atspi.x_window(title)
    if geo is None:
        raise UIError(f"no X window {title!r}")
    shot(name, title)
    path = os.path.join(SHOTS, name + ".png")
    mean = subprocess.run(["convert", path, "-colorspace", "Gray", "-format", "%[fx:mean]", "info:"],
                          capture_output=True, text=True, check=True).stdout
    return geo["WIDTH"], float(mean)


def headline(win):
    """The overview's headline label, whatever it says."""
    texts = ("Backups are up to date", "Backing up…", "The last backup failed", "Waiting for the backup drive",
             "Not backed up yet")
    deadline = time.time() + 30
    while True:
        for text in texts:
            found = find_all(win, name=text, role="label")
            if found:
                return found[0]
        if time.time() > deadline:
            raise UIError("the overview has no headline:\n" + atspi.dump(win))
        time.sleep(0.3)


def wait_name(node, want, timeout, what):
    deadline = time.time() + timeout
    while node.name not in want:
        if time.time() > deadline:
            raise UIError(f"{what}: it says {node.name!r}")
        time.sleep(0.05)
    return node.name


def explain_search(win, pattern):
    """What the service says, beside what the app shows, when a search
    shows no hit: the search page's words, then the same search, the
    snapshots and the profile's state through keepsakectl, into the
    test's output."""
    words = [t for t in atspi.text_of(win).splitlines() if any(w in t.lower() for w in ("search", "result", pattern, "error", "fail", "drive", "service", "lock", "busy"))]
    print("   the app shows: " + " | ".join(words), flush=True)
    # Where the keyboard goes: the X window with the input focus, the
    # pointer, and the windows on screen with their names and places.
    for cmd in (["xdotool", "getwindowfocus", "getwindowname"], ["xdotool", "getmouselocation"]):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        print(f"   {' '.join(cmd[1:])}: {(r.stdout + r.stderr).strip()}", flush=True)
    ids = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "."], capture_output=True, text=True, timeout=10).stdout.split()
    for i in ids:
        r = subprocess.run(["xdotool", "getwindowname", i, "getwindowgeometry", i], capture_output=True, text=True, timeout=10)
        print(f"   window {i}: " + " ".join(r.stdout.split()), flush=True)
    for n in atspi.find_all(win, role="entry", hidden=True):
        try:
            ew = n.queryComponent().getExtents(atspi.pyatspi.WINDOW_COORDS)
            es = n.queryComponent().getExtents(atspi.pyatspi.DESKTOP_COORDS)
            st = [atspi.pyatspi.stateToString(x) for x in n.getState().getStates()]
            print(f"   entry {atspi.clean_name(n)!r}: window {ew.x},{ew.y} {ew.width}x{ew.height}; screen {es.x},{es.y}; "
                  f"origin {atspi.window_origin(n)}; states {st}", flush=True)
        except Exception as e:
            print(f"   entry {atspi.clean_name(n)!r}: {e}", flush=True)
    shot("search-not-found")
    ctl = os.path.join(os.path.dirname(APP), "keepsakectl")
    for args in (["search", pattern], ["snapshots"], ["status"], ["ls", "latest", HOME]):
        r = subprocess.run([ctl, *args], capture_output=True, text=True, timeout=60)
        print(f"   keepsakectl {' '.join(args)} (exit {r.returncode}):\n" + (r.stdout + r.stderr).rstrip(), flush=True)
    root(f"search-as-root {pattern}")


def pull_during_backup(s, win):
    step("pull the drive during a backup: the failure is shown and notified, the app stays responsive")
    # New files, enough for the backup to take seconds (30 to 100 MB/s
    # and a few thousand files a second here): 150 MB, and many small ones.
    clips = os.path.join(HOME, "Videos")
    os.makedirs(clips, exist_ok=True)
    for i in range(10):
        with open(os.path.join(clips, f"clip{i:02d}.bin"), "wb") as f:
            f.write(os.urandom(15 << 20))
    letters = os.path.join(HOME, "Letters")
    for i in range(15000):
        d = os.path.join(letters, f"year{i // 1000:02d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"letter{i:05d}.txt"), "w") as f:
            f.write(f"letter {i}\n")
    flows.show_page(win, "Overview")
    line = headline(win)
    # A backup the plug started by itself finishes first.
    wait_name(line, ("Backups are up to date", "The last backup failed"), 300, "the backup after the plug did not end")
    failed = s.notifications().count("Backup failed")
    click(find(win, name="Back Up Now", role="push button"))
    wait_name(line, ("Backing up…",), 30, "Back Up Now did not start a backup")
    started = time.time()
    root("pull")
    pulled = time.time() - started
    # The job was still running when the drive went: the service says the
    # drive went away *during* the backup (not that it was missing, or
    # that the backup was done).
    find(win, contains="The backup drive was disconnected during the backup", role="label", timeout=60)
    wait_name(line, ("The last backup failed", "Waiting for the backup drive"), 60,
              "after the pull the overview does not say the backup failed or waits for the drive")
    find(win, name="Not connected", role="label", timeout=30)
    deadline = time.time() + 30
    while s.notifications().count("Backup failed") <= failed:
        if time.time() > deadline:
            raise UIError("the backup stopped by the pull was not notified")
        time.sleep(0.2)
    shot("overview-pulled-mid-backup")
    print(f"   pulled {pulled:.1f} s into the backup: the overview says it failed, the drive disconnected", flush=True)
    # Responsive: its main loop answers a call on the session bus at once,
    # and another page opens and the overview comes back.
    t = time.time()
    subprocess.run(["gdbus", "call", "--session", "--timeout", "5", "--dest", "io.github.keepsake.Keepsake",
                    "--object-path", "/io/github/keepsake/Keepsake", "--method", "org.gtk.Actions.List"],
                   check=True, capture_output=True)
    answered = time.time() - t
    if answered > 2:
        raise UIError(f"the app took {answered:.1f} s to answer on the session bus after the pull")
    flows.show_page(win, "Search")
    find(win, name="Search backups", role="entry", timeout=10)
    flows.show_page(win, "Overview")
    find(win, name="Back Up Now", role="push button", timeout=10)
    print(f"   the app answered on the bus in {answered:.2f} s, and switched pages there and back", flush=True)

    step("plug it in again: a backup then succeeds, with the files the pulled one did not save")
    root("plug")
    find(win, name="Connected", role="label", timeout=60)
    time.sleep(1)  # a backup on plug, if the schedule says so, starts now
    if line.name != "Backing up…":
        click(find(win, name="Back Up Now", role="push button"))
    wait_idle(win, timeout=300)
    find(win, contains="Last backup: just now")
    if find_all(win, contains="disconnected during the backup"):
        raise UIError("the overview still shows the failure after a good backup")
    flows.show_page(win, "Search")
    type_text(find(win, name="Search backups", role="entry"), "clip09")
    try:
        find(win, name="clip09.bin", role="list item", timeout=30)
    except UIError:
        explain_search(win, "clip09")
        raise
    shot("search-after-replug")
    flows.show_page(win, "Overview")


def quit_app(proc):
    """Quits through the app's own quit action, as Ctrl+Q would."""
    subprocess.run(["gdbus", "call", "--session", "--dest", "io.github.keepsake.Keepsake",
                    "--object-path", "/io/github/keepsake/Keepsake", "--method", "org.gtk.Actions.Activate",
                    "quit", "[]", "{}"], check=True, capture_output=True)
    proc.wait(15)


def main():
    s = Session()
    try:
        if os.environ.get("KEEPSAKE_DRIVE_FS", "ext4") == "btrfs":
            run_btrfs(s)
        else:
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
