"""What a person does on each page, step by step, with screenshots."""
import os
import re
import shutil
import subprocess
import time

import atspi
from atspi import UIError, click, find, find_all, gone, type_text


def step(msg):
    print(f"== {msg}", flush=True)


def show_page(win, title):
    """Clicks the view switcher's button for a page (Overview, Browse…)."""
    for n in atspi.find_all(win, name=title):
        if atspi.role_name(n) in ("toggle button", "radio button", "push button", "page tab"):
            click(n)
            time.sleep(0.4)
            return
    raise UIError(f"no view switcher button {title!r}:\n" + atspi.dump(win))


def back_up_now(win, shot):
    step("Back Up Now, watching the progress to the end")
    show_page(win, "Overview")
    # Found once, then read directly: a walk over the whole window takes
    # longer than a small backup. GTK 4.8 reports text changes but not
    # reliably widgets hidden after they were shown, so the headline's
    # text says whether the backup runs.
    headline = find(win, name="Backups are up to date", role="label")
    # GTK leaves hidden widgets out of the tree: the progress bar is looked
    # for once it shows, in the overview's own column (a short walk).
    column = headline.parent.parent
    click(find(win, name="Back Up Now", role="push button"))
    deadline = time.time() + 30
    while headline.name != "Backing up…":
        if time.time() > deadline:
            raise UIError(f"the overview never said it was backing up (it says {headline.name!r})")
        time.sleep(0.02)
    started = time.time()
    shot("overview-busy", settle=0.05)
    bar = find(column, name="Backup progress", role="progress bar", timeout=10)
    # The line under the bar: files, bytes, rate, time left (or the phase
    # while the size of the work is not known yet, when the bar pulses).
    details = [n for n in find_all(column, role="label") if n.name and n.name not in ("Backing up", "Backing up…")]
    seen, texts = [], []
    while headline.name == "Backing up…" and time.time() < started + 600:
        try:
            seen.append(round(bar.queryValue().currentValue, 3))
            for d in details:
                t = d.name
                if t and (not texts or texts[-1] != t) and ("file" in t or "…" in t):
                    texts.append(t)
        except Exception:
            break
        time.sleep(0.05)
    print(f"   backing up for {time.time() - started:.1f} s; the bar at {seen[:2]} … {seen[-2:]} "
          f"({len(seen)} readings); the progress said {texts[:2]} … {texts[-2:]}; then: {headline.name!r}", flush=True)
    if not any("file" in t for t in texts):
        raise UIError(f"the progress never counted files: {texts}")
    # A day's work is more than the first backup held: the service counts
    # it, and the bar shows a fraction rather than pulsing to the end.
    if not seen or max(seen) < 0.5:
        raise UIError(f"the bar never showed how far the backup was: {seen}")
    if not any(" of " in t for t in texts):
        raise UIError(f"the progress never said how much there is in all: {texts}")
    if seen != sorted(seen):
        raise UIError(f"the progress went backwards: {seen}")
    if headline.name != "Backups are up to date":
        raise UIError(f"after the backup the overview says {headline.name!r}")


def choose_row(win, title):
    """Activates a list row (its radio button or switch) by its title. The
    list follows the service and is rebuilt when any drive comes or goes
    (other loop devices on the machine do): a row gone between finding and
    clicking it is found again, until its button says it is chosen."""
    deadline = time.time() + atspi.TIMEOUT
    while True:
        try:
            find(win, name=title, role="list item")
            # Other loop devices on the machine may carry the same label
            # (another test's drive, not connected here): the row that
            # can be chosen is the one with a button.
            row, inner = None, []
            for r in find_all(win, name=title, role="list item"):
                for role in ("radio button", "check box", "toggle button"):
                    inner = find_all(r, role=role)
                    if inner:
                        break
                if inner:
                    row = r
                    break
            if row is None:
                row = find(win, name=title, role="list item")
                click(row)
                return row
            # Already chosen (the only usable drive is chosen for you): a
            # click would undo it.
            if inner[0].getState().contains(atspi.pyatspi.STATE_CHECKED):
                return row
            click(inner[0])
            time.sleep(0.3)
        except (NotImplementedError, UIError) as e:
            if time.time() > deadline:
                raise UIError(f"could not choose the row {title!r}: {e!r}")
            time.sleep(0.3)


DRIVE = os.environ.get("KEEPSAKE_DRIVE_LABEL", "Backup Drive")


def reveal(win, node, tries=40, title="Keepsake"):
    """Scrolls the page with the mouse wheel until node is inside the
    window above its bottom bar (other tests' loop drives can make the
    drive list long), and returns it. A slow answer of the app (it
    rebuilds that list whenever a drive comes or goes) is tried again."""
    geo = atspi.x_window(title)
    if geo is None:
        raise UIError(f"no X window {title!r}")
    ox, oy, width, height = geo["X"], geo["Y"], geo["WIDTH"], geo["HEIGHT"]
    for _ in range(tries):
        try:
            e = node.queryComponent().getExtents(atspi.pyatspi.WINDOW_COORDS)
        except Exception:
            time.sleep(0.5)
            continue
        if e.height > 0 and 60 < e.y and e.y + e.height < height - 80:
            return node
        button = "5" if e.y + e.height >= height - 80 else "4"
        subprocess.run(["xdotool", "mousemove", "--sync", str(ox + width // 2), str(oy + height // 2),
                        "click", button], check=True)
        time.sleep(0.15)
    raise UIError(f"{atspi.clean_name(node)!r} could not be scrolled into view")


def setup(win, shot, drive_label=DRIVE, passphrase=None, cannot_encrypt=False):
    """The first-run setup; with a passphrase the drive is encrypted (the
    setup's default) and the recovery key it shows once is returned. On a
    drive that cannot be encrypted (btrfs) encryption starts off; turned
    on, the setup says why it cannot be, and the person turns it off
    again."""
    step("first-run setup: the drive, its passphrase, the folders, the schedule, then the first backup")
    find(win, name="Choose a Backup Drive", timeout=60)
    choose_row(win, drive_label)
    next_button = find(win, name="Next", role="push button")

    def wait_next(possible, why):
        deadline = time.time() + 10
        while next_button.getState().contains(atspi.pyatspi.STATE_SENSITIVE) != possible:
            if time.time() > deadline:
                raise UIError(why)
            time.sleep(0.2)

    if cannot_encrypt:
        switch = find(win, name="Encrypt Backups", role="check box")  # a GtkSwitch, to GTK 4.8
        if checked(switch):
            raise UIError("encryption is on by default for a drive that cannot be encrypted")
        wait_next(True, "Next is not possible on a btrfs drive with encryption off")
        click(reveal(win, switch))
        find(win, contains="filesystem cannot be encrypted", role="label", timeout=10)
        wait_next(False, "Next is possible with encryption on, on a drive that cannot be encrypted")
        click(reveal(win, switch))
        wait_next(True, "Next is still not possible with encryption turned off again")
        print("   the drive cannot be encrypted: off by default; turned on, said so and Next refused; off again, Next is possible", flush=True)
    if passphrase is not None:
        if next_button.getState().contains(atspi.pyatspi.STATE_SENSITIVE):
            raise UIError("Next is possible before a passphrase for the encrypted drive is typed")
        type_text(reveal(win, find(win, name="Passphrase")), passphrase)
        type_text(reveal(win, find(win, name="Confirm Passphrase")), passphrase)
        find(win, contains="Keepsake shows its recovery key", role="label", timeout=10)
    shot("setup")
    click(next_button)
    find(win, name="Choose What to Back Up")
    find(win, name="Home Folder", role="list item")
    shot("setup-folders")
    click(find(win, name="Next", role="push button"))
    find(win, name="Choose When to Back Up")
    choose_row(win, "Every Hour")
    click(find(win, name="Next", role="push button"))
    find(win, name="Ready to Back Up")
    click(find(win, name="Start First Backup", role="push button"))
    if passphrase is None:
        return None
    step("the recovery key is shown once; Continue once it is written down")
    find(win, name="Write Down the Recovery Key", timeout=120)
    keys = [atspi.clean_name(n) for n in find_all(win, role="label") if RECOVERY_KEY.match(atspi.clean_name(n))]
    if len(keys) != 1:
        raise UIError("no recovery key (7 groups of 8) on the page:\n" + atspi.dump(win))
    shot("setup-recovery-key")
    go_on = find(win, name="Continue", role="push button")
    if go_on.getState().contains(atspi.pyatspi.STATE_SENSITIVE):
        raise UIError("Continue is possible before the key is written down")
    click(find(win, name="I have written it down", role="check box"))
    time.sleep(0.3)
    click(go_on)
    # GTK 4.8 keeps a stack page shown before in the accessibility tree,
    # so the page's going is seen as the overview's coming (run's wait_idle).
    print(f"   recovery key shown once: {keys[0][:8]}-…", flush=True)
    return keys[0]


RECOVERY_KEY = re.compile(r"^[A-Z2-7]{8}(-[A-Z2-7]{8}){6}$")


def window_named(app, title, timeout=atspi.TIMEOUT):
    """A toplevel of the app (a dialog or the history window) by title."""
    deadline = time.time() + timeout
    while True:
        for i in range(app.childCount):
            w = app.getChildAtIndex(i)
            if w is not None and atspi.clean_name(w) == title:
                return w
        if time.time() > deadline:
            names = [atspi.clean_name(app.getChildAtIndex(i)) for i in range(app.childCount)]
            raise UIError(f"no window {title!r}; windows: {names}")
        time.sleep(0.2)


def search_history_restore(win, app, shot, path, old, new):
    name = os.path.basename(path)
    step(f"search for {name!r}, open its history, restore the old version")
    show_page(win, "Search")
    type_text(find(win, name="Search backups", role="entry"), name.split(".")[0])
    row = find(win, name=name, role="list item", timeout=30)
    shot("search")
    atspi.mouse_click(row)
    hist = window_named(app, name)
    versions = find(hist, name="Versions", role="list")
    deadline = time.time() + 30
    while len(find_all(versions, role="list item")) < 2:
        if time.time() > deadline:
            raise UIError("the history does not list two versions:\n" + atspi.dump(hist))
        time.sleep(0.2)
    shot("history", title=name)
    rows = find_all(versions, role="list item")
    before = set(os.listdir(os.path.dirname(path)))
    click(find(rows[1], name="Restore", role="push button"))
    deadline = time.time() + 60
    while True:
        added = sorted(set(os.listdir(os.path.dirname(path))) - before)
        if added or time.time() > deadline:
            break
        time.sleep(0.2)
    # The restore writes a temporary name, then renames it into place.
    time.sleep(0.5)
    added = sorted(set(os.listdir(os.path.dirname(path))) - before)
    if len(added) != 1 or "(restored" not in added[0]:
        raise UIError(f"restore added {added} beside {name}")
    restored = os.path.join(os.path.dirname(path), added[0])
    with open(restored, "rb") as f:
        got = f.read()
    if got != old:
        raise UIError(f"{restored} holds {got!r}, not the old version {old!r}")
    with open(path, "rb") as f:
        if f.read() != new:
            raise UIError(f"{path} was changed by a keep-both restore")
    st = os.stat(restored)
    if st.st_uid != os.getuid() or st.st_gid != os.getgid():
        raise UIError(f"{restored} is owned by {st.st_uid}:{st.st_gid}, not the user {os.getuid()}:{os.getgid()}")
    print(f"   restored {restored}: the old bytes, owned by the user", flush=True)
    click(find(hist, name="Close", role="push button"))


def browse(win, app, shot):
    step("browse the oldest backup: pick it on the timeline, walk into Documents")
    show_page(win, "Browse")
    backups = find(win, name="Backups", role="list")
    deadline = time.time() + 30
    while backups.childCount < 2:
        if time.time() > deadline:
            raise UIError("the timeline does not list the backups:\n" + atspi.dump(win))
        time.sleep(0.2)
    # The oldest backup: the list is newest first.
    backups.querySelection().selectChild(backups.childCount - 1)
    files = find(win, name="Files", role="list")
    docs = find(files, name="Documents", role="list item", timeout=30)
    click(find(docs, name="Open Folder", role="push button"))
    # todo.txt is only in the first backup: it was deleted before the second.
    find(win, name="todo.txt", role="list item", timeout=30)
    find(win, name="report.txt", role="list item")
    shot("browse")
    step("browse the newest backup: the same folder, without the file deleted since")
    backups.querySelection().selectChild(0)
    gone(win, name="todo.txt", role="list item", timeout=30)
    find(win, name="report.txt", role="list item", timeout=30)
    time.sleep(1)
    if find_all(win, name="todo.txt", role="list item"):
        raise UIError("the newest backup lists todo.txt, deleted before it was made")
    shot("browse-newest")


def deleted(win, app, shot, path, content):
    name = os.path.basename(path)
    step(f"deleted files: {name} is listed and comes back")
    show_page(win, "Deleted")
    row = find(win, name=name, role="list item", timeout=60)
    shot("deleted")
    # GTK 4.8 does not expose the check box of a row added to a list that
    # is already shown: the only deleted file is chosen with Select All.
    if len(find_all(find(win, name="Deleted files", role="list"), role="list item")) != 1:
        raise UIError("more than one deleted file listed:\n" + atspi.dump(win))
    click(find(win, name="Select All", role="push button"))
    click(find(win, name="Restore", role="push button"))
    deadline = time.time() + 60
    while not os.path.exists(path):
        if time.time() > deadline:
            raise UIError(f"{path} was not restored")
        time.sleep(0.2)
    time.sleep(0.3)
    with open(path, "rb") as f:
        if f.read() != content:
            raise UIError(f"{path} came back with other bytes")
    if os.stat(path).st_uid != os.getuid():
        raise UIError(f"{path} came back owned by uid {os.stat(path).st_uid}")
    print(f"   {path} is back, with its bytes and owner", flush=True)


HELLO = "org.test.Hello"  # build-aux/ui-test.sh installs it before the first backup


def flatpak_apps():
    """The user's installed Flatpak apps, as flatpak itself lists them."""
    out = subprocess.run(["flatpak", "--user", "list", "--app", "--columns=application,version"],
                         capture_output=True, text=True, check=True, env=dict(os.environ, LC_ALL="C")).stdout
    return {f[0]: (f[1] if len(f) > 1 else "") for f in (line.split() for line in out.splitlines()) if f}


def row_saying(win, title, start, timeout=60):
    """The list row titled title once one of its labels starts with start
    (rows are rebuilt when the page reads the list again)."""
    deadline = time.time() + timeout
    while True:
        for row in find_all(win, name=title, role="list item"):
            for n in find_all(row, role="label"):
                if atspi.clean_name(n).startswith(start):
                    return row, atspi.clean_name(n)
        if time.time() > deadline:
            raise UIError(f"no row {title!r} saying {start!r}:\n" + atspi.dump(win))
        time.sleep(0.3)


def apps(win, app, shot):
    data_dir = os.path.join(os.environ["HOME"], ".var", "app", HELLO)
    data = os.path.join(data_dir, "data", "greeting.txt")
    step(f"Flatpak apps: {HELLO}, uninstalled since the backups, is listed as missing and reinstalled with its data")
    with open(data, "rb") as f:
        saved = f.read()
    if flatpak_apps().get(HELLO) != "1.0":
        raise UIError(f"{HELLO} 1.0 is not installed before the step: {flatpak_apps()}")
    subprocess.run(["flatpak", "--user", "uninstall", "-y", "--noninteractive", HELLO],
                   check=True, capture_output=True, env=dict(os.environ, LC_ALL="C"))
    shutil.rmtree(data_dir)
    if HELLO in flatpak_apps():
        raise UIError(f"{HELLO} is still installed after flatpak uninstall")
    show_page(win, "Apps")
    find(win, name="Your Apps", timeout=60)
    row, sub = row_saying(win, HELLO, "Not installed")
    if "Version 1.0" not in sub or "Data saved" not in sub:
        raise UIError(f"the row of {HELLO} says {sub!r}, not its version and saved data")
    shot("apps")
    click(find(win, name="Reinstall All Missing", role="push button"))
    deadline = time.time() + 120
    while HELLO not in flatpak_apps():
        if time.time() > deadline:
            raise UIError(f"{HELLO} was not reinstalled: flatpak lists {flatpak_apps()}")
        time.sleep(0.3)
    results = find(win, name="Reinstall results", role="list", timeout=60)
    done = find(results, name=HELLO, role="list item", timeout=30)
    if not find_all(done, name="Installed", role="label"):
        raise UIError(f"the reinstall results do not say {HELLO} was installed:\n" + atspi.dump(results))
    if not find_all(results, name=f"Data of {HELLO}", role="list item"):
        raise UIError(f"the reinstall results do not list the data of {HELLO}:\n" + atspi.dump(results))
    if flatpak_apps()[HELLO] != "1.0":
        raise UIError(f"{HELLO} came back at version {flatpak_apps()[HELLO]!r}, not 1.0")
    deadline = time.time() + 60
    while not os.path.exists(data):
        if time.time() > deadline:
            raise UIError(f"the data of {HELLO} was not restored to {data}")
        time.sleep(0.2)
    time.sleep(0.3)
    with open(data, "rb") as f:
        if f.read() != saved:
            raise UIError(f"{data} came back with other bytes")
    row_saying(win, HELLO, "Installed")
    shot("apps-reinstalled")
    print(f"   {HELLO} reinstalled (flatpak lists version 1.0) and its data restored", flush=True)


def activate_action(name):
    """Runs one of the app's actions over its D-Bus interface, as the menu does."""
    import subprocess
    subprocess.run(["gdbus", "call", "--session", "--dest", "io.github.keepsake.Keepsake",
                    "--object-path", "/io/github/keepsake/Keepsake", "--method", "org.gtk.Actions.Activate",
                    name, "[]", "{}"], check=True, capture_output=True)


def checked(node):
    return node.getState().contains(atspi.pyatspi.STATE_CHECKED)


def pref_row(prefs, title, timeout=atspi.TIMEOUT):
    """A row of the page shown, by title, with the texts of its labels."""
    row = find(prefs, name=title, role="list item", timeout=timeout)
    return row, [atspi.clean_name(n) for n in find_all(row, role="label")]


def preferences(win, app, shot):
    step("preferences: each page is there and shows the settings made in the setup")
    activate_action("preferences")
    prefs = window_named(app, "Preferences")
    home = os.environ["HOME"]

    def page(title):
        for n in find_all(prefs, name=title):
            if atspi.role_name(n) in ("page tab", "toggle button", "radio button", "push button"):
                click(n)
                time.sleep(0.5)
                return
        raise UIError(f"the preferences have no page {title!r}:\n" + atspi.dump(prefs))

    def expect(cond, what):
        if not cond:
            raise UIError(f"preferences: {what}:\n" + atspi.dump(prefs))

    # Drives: the drive chosen in the setup, its size as the service
    # reports it, connected.
    page("Drives")
    row, texts = pref_row(prefs, DRIVE, timeout=30)
    expect(any(t.startswith("Encrypted · 1.1\u00a0GB") and "ext4" in t for t in texts),
           f"the drive row says {texts}, not Encrypted, 1.1 GB, ext4")
    expect(find_all(prefs, name="Connected", role="label"), "the drive is not shown as connected")
    shot("preferences", title="Preferences")

    # Folders: the home folder the setup proposed, by its path.
    page("Folders")
    row, texts = pref_row(prefs, "Home Folder")
    expect(home in texts, f"the folder row says {texts}, not {home}")
    find(prefs, name="Add Folder", role="push button")
    shot("preferences-folders", title="Preferences")

    # Schedule: every hour, as chosen in the setup; old backups thinned
    # the Time Machine way (the default).
    page("Schedule")
    combo = find(prefs, name="Back Up", role="combo box")
    texts = [atspi.clean_name(n) for n in find_all(combo, role="label")]
    expect("Every hour" in texts, f"the schedule row says {texts}, not Every hour")
    for title in ("After Changes", "When the Drive Is Plugged In", "Skip on Battery Power"):
        pref_row(prefs, title)
    tm = [n for n in find_all(prefs, name="Time Machine Style") if atspi.role_name(n) in ("check box", "radio button")]
    expect(tm and checked(tm[0]), "Time Machine Style is not the chosen way to keep old backups")
    shot("preferences-schedule", title="Preferences")

    # Apps: the app list is recorded with each backup (the default).
    page("Apps")
    rec = [n for n in find_all(prefs, name="Back Up App List") if atspi.role_name(n) not in ("label", "list item")]
    expect(rec and checked(rec[0]), "Back Up App List is not switched on")
    pref_row(prefs, "Keep Offline Copies of Apps")
    shot("preferences-apps", title="Preferences")
    click(find(prefs, name="Close", role="push button"))


def holder(node, name, role):
    """The nearest ancestor of node that holds a widget with that name: a
    page's own Back or Next, not another page's (GTK 4.8 keeps the boxes
    of pages shown before, so they look on screen)."""
    a = node.parent
    while a is not None:
        if find_all(a, name=name, role=role):
            return a
        a = a.parent
    raise UIError(f"nothing around {atspi.clean_name(node)!r} holds a {role} {name!r}")


def another_computer(win, shot):
    step("another computer: the overview leads to its steps, which show the line to put on it; Cancel comes back")
    show_page(win, "Overview")
    click(find(win, name="Back Up Another Computer…", role="list item"))
    address = find(win, name="Address", role="text")
    type_text(address, "ann@laptop.local")
    shot("add-computer")
    page = holder(address, "Next", "push button")
    click(find(page, name="Next", role="push button"))
    # The service's own key, allowed nothing but a read-only rsync.
    line = find(page, contains='command="rrsync -ro /"', role="label", timeout=60)
    if "ssh-ed25519" not in line.name:
        raise UIError(f"the key line is not an ed25519 key: {line.name!r}")
    find(page, contains="~/.ssh/authorized_keys of the user ann", role="label")
    find(page, name="Copy Key", role="push button")
    shot("add-computer-key")
    click(find(page, name="Back", role="push button"))
    click(find(page, name="Cancel", role="push button"))
    find(win, name="Back Up Now", role="push button")


def activate_with(name, target):
    """Runs an action of the app with a string target, as clicking a
    notification does."""
    subprocess.run(["gdbus", "call", "--session", "--dest", "io.github.keepsake.Keepsake",
                    "--object-path", "/io/github/keepsake/Keepsake", "--method", "org.gtk.Actions.Activate",
                    name, f"[<'{target}'>]", "{}"], check=True, capture_output=True)


def window_gone(app, title, timeout=atspi.TIMEOUT):
    deadline = time.time() + timeout
    while any(atspi.clean_name(app.getChildAtIndex(i)) == title for i in range(app.childCount)
              if app.getChildAtIndex(i) is not None and
              app.getChildAtIndex(i).getState().contains(atspi.pyatspi.STATE_VISIBLE)):
        if time.time() > deadline:
            raise UIError(f"the window {title!r} is still open")
        time.sleep(0.2)


UNLOCK = "Unlock Backup Drive"


def shown_window(app, title, timeout=atspi.TIMEOUT):
    """The showing toplevel with a title. GTK 4.8 gives a window hidden and
    shown again a new accessible; the old one stays listed, empty."""
    deadline = time.time() + timeout
    while True:
        for i in range(app.childCount):
            w = app.getChildAtIndex(i)
            if w is None or atspi.clean_name(w) != title:
                continue
            st = w.getState()
            if st.contains(atspi.pyatspi.STATE_VISIBLE) and st.contains(atspi.pyatspi.STATE_SHOWING) and w.childCount:
                return w
        if time.time() > deadline:
            names = [atspi.clean_name(app.getChildAtIndex(i)) for i in range(app.childCount)]
            raise UIError(f"no window {title!r} showing; windows: {names}")
        time.sleep(0.2)


def encrypted_drive(win, app, shot, root, wait_notification, passphrase, uuid, wait_idle):
    step("encrypted drive: the preferences say so; forget the key remembered at the setup")
    # The window the last step closed must be gone first: its accessible
    # lingers a moment, empty, under the same title.
    window_gone(app, "Preferences")
    time.sleep(0.5)
    activate_action("preferences")
    prefs = window_named(app, "Preferences")
    for n in find_all(prefs, name="Drives"):
        if atspi.role_name(n) in ("page tab", "toggle button", "radio button", "push button"):
            click(n)
            break
    find(prefs, name="Change Passphrase…", role="push button", timeout=30)
    click(find(prefs, name="Forget Remembered Key", role="push button"))
    gone(prefs, name="Forget Remembered Key", role="push button", timeout=30)
    shot("preferences-encrypted", title="Preferences")
    click(find(prefs, name="Close", role="push button"))

    step("locked, the window hidden, a backup asked for: a notification says to unlock")
    root("lock")
    show_page(win, "Overview")
    find(win, name="Locked", role="label", timeout=60)
    find(win, name="Unlock…", role="push button")
    shot("overview-locked")
    activate_action("close-window")
    time.sleep(0.5)
    activate_action("backup-now")
    wait_notification("Unlock your backup drive to back up")

    step("the notification's action opens the Unlock Backup Drive dialog; Cancel closes it")
    activate_with("unlock-drive", uuid)
    dlg = window_named(app, UNLOCK)
    find(dlg, name="Use Recovery Key Instead")
    find(dlg, name="Remember on this computer", role="check box")
    shot("unlock-dialog", title=UNLOCK)
    click(find(dlg, name="Cancel", role="push button"))
    window_gone(app, UNLOCK)
    # The action showed the window again: from here on it is a new accessible.
    win = shown_window(app, "Keepsake")

    step("Unlock… on the overview: a wrong passphrase is said in the dialog, which stays")
    click(find(win, name="Unlock…", role="push button"))
    dlg = window_named(app, UNLOCK)
    entry = find(dlg, name="Passphrase")
    type_text(entry, "wrong horse battery")
    click(find(dlg, name="Unlock", role="push button"))
    find(dlg, contains="That passphrase does not unlock this backup drive", role="label", timeout=60)
    shot("unlock-wrong-passphrase", title=UNLOCK)

    step("the right passphrase, remembered: the dialog closes and the backup runs")
    type_text(find(dlg, name="Passphrase"), passphrase)
    click(find(dlg, name="Remember on this computer", role="check box"))
    click(find(dlg, name="Unlock", role="push button"))
    window_gone(app, UNLOCK, timeout=60)
    gone(win, name="Unlock…", role="push button", timeout=30)
    wait_idle(win, timeout=300)
    find(win, contains="Last backup: just now")
    shot("overview-unlocked")
    return win
