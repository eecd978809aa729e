"""What a person does on each page, step by step, with screenshots."""
import os
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
    if seen != sorted(seen):
        raise UIError(f"the progress went backwards: {seen}")
    if headline.name != "Backups are up to date":
        raise UIError(f"after the backup the overview says {headline.name!r}")


def choose_row(win, title):
    """Activates a list row (its radio button or switch) by its title."""
    row = find(win, name=title, role="list item")
    for role in ("radio button", "check box", "toggle button"):
        inner = find_all(row, role=role)
        if inner:
            # Already chosen (the only usable drive is chosen for you): a
            # click would undo it.
            if not inner[0].getState().contains(atspi.pyatspi.STATE_CHECKED):
                click(inner[0])
            return row
    click(row)
    return row


def setup(win, shot, drive_label="Backup Drive"):
    step("first-run setup: the drive, the folders, the schedule, then the first backup")
    find(win, name="Choose a Backup Drive", timeout=60)
    choose_row(win, drive_label)
    shot("setup")
    click(find(win, name="Next", role="push button"))
    find(win, name="Choose What to Back Up")
    find(win, name="Home Folder", role="list item")
    shot("setup-folders")
    click(find(win, name="Next", role="push button"))
    find(win, name="Choose When to Back Up")
    choose_row(win, "Every Hour")
    click(find(win, name="Next", role="push button"))
    find(win, name="Ready to Back Up")
    click(find(win, name="Start First Backup", role="push button"))


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
    step("browse the first backup: pick it on the timeline, walk into Documents")
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
    find(win, name="report.txt", role="list item", timeout=30)
    shot("browse")


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


def apps(win, app, shot):
    step("Flatpak apps of the latest backup")
    show_page(win, "Apps")
    time.sleep(1)
    shot("apps")


def activate_action(name):
    """Runs one of the app's actions over its D-Bus interface, as the menu does."""
    import subprocess
    subprocess.run(["gdbus", "call", "--session", "--dest", "io.github.keepsake.Keepsake",
                    "--object-path", "/io/github/keepsake/Keepsake", "--method", "org.gtk.Actions.Activate",
                    name, "[]", "{}"], check=True, capture_output=True)


def preferences(win, app, shot):
    step("preferences: drives, folders, schedule, apps")
    activate_action("preferences")
    prefs = window_named(app, "Preferences")
    # The drive the service reports, with its size: the page reads the service.
    find(prefs, contains="1.1 GB", role="label", timeout=30)
    shot("preferences", title="Preferences")
    for page in ("Folders", "Schedule", "Apps"):
        for n in find_all(prefs, name=page):
            if atspi.role_name(n) in ("page tab", "toggle button", "radio button", "push button"):
                click(n)
                time.sleep(0.5)
                shot("preferences-" + page.lower(), title="Preferences")
                break
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
