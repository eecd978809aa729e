"""Keepsake from the rest of GNOME: the Activities overview's search
provider and the Files extension's "Previous Versions…", each through the
same D-Bus calls GNOME Shell and Files make (gdbus on the session bus,
and the extension itself loaded against the real Nautilus typelib), and
what they open in the app."""
import importlib.util
import os
import subprocess
import time

import atspi
from atspi import UIError, click, find, find_all, gone

from gi.repository import GLib

APP = ["--dest", "io.github.keepsake.Keepsake", "--object-path", "/io/github/keepsake/Keepsake"]
PROVIDER = ["--dest", "io.github.keepsake.Keepsake.SearchProvider",
            "--object-path", "/io/github/keepsake/Keepsake/SearchProvider"]
IFACE = "org.gnome.Shell.SearchProvider2"
EXTENSION = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keepsake-nautilus.py")


def step(msg):
    print(f"== {msg}", flush=True)


def gdbus(dest, method, *args):
    """gdbus call --session; the answer as Python values."""
    out = subprocess.run(["gdbus", "call", "--session", "--timeout", "10", *dest, "--method", method, *args],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise UIError(f"gdbus {method}: {out.stderr.strip()}")
    return GLib.Variant.parse(None, out.stdout.strip(), None, None).unpack()


def history_window(app, name, timeout=30):
    """The history window of a file, once it lists its versions: their
    row titles."""
    from flows import window_named
    try:
        hist = window_named(app, name, timeout=timeout)
    except UIError as e:
        # Tells a window AT-SPI did not report from one never opened.
        x = subprocess.run(["xdotool", "search", "--name", f"^{name}$"], capture_output=True, text=True).stdout.split()
        raise UIError(f"{e}; X windows named {name!r}: {x}")
    versions = find(hist, name="Versions", role="list", timeout=timeout)
    deadline = time.time() + timeout
    while True:
        rows = find_all(versions, role="list item")
        if len(rows) >= 2:
            break
        if time.time() > deadline:
            raise UIError("the history does not list two versions:\n" + atspi.dump(hist))
        time.sleep(0.2)
    titles = []
    for r in rows:
        labels = [atspi.clean_name(n) for n in atspi.walk(r) if atspi.role_name(n) == "label"]
        titles.append(labels[0] if labels else atspi.clean_name(r))
    return hist, titles


def close(hist):
    click(find(hist, name="Close", role="push button"))


def search_provider(win, app, shot, path):
    home = os.environ["HOME"]
    name = os.path.basename(path)
    step("GNOME Shell's overview: the search provider lists the file, describes it, opens its history")
    # The first call may start the provider's connection: timed after it.
    gdbus(PROVIDER, IFACE + ".GetInitialResultSet", "['zzz-nothing']")
    t = time.time()
    (ids,) = gdbus(PROVIDER, IFACE + ".GetInitialResultSet", "['rep']")
    took = time.time() - t
    if path not in ids:
        raise UIError(f"GetInitialResultSet(['rep']) = {ids}, without {path}")
    (sub,) = gdbus(PROVIDER, IFACE + ".GetSubsearchResultSet", str(ids), "['report']")
    if path not in sub:
        raise UIError(f"GetSubsearchResultSet(['report']) = {sub}, without {path}")
    (none,) = gdbus(PROVIDER, IFACE + ".GetInitialResultSet", "['zzz-nothing']")
    if none:
        raise UIError(f"a name no file has found {none}")
    (metas,) = gdbus(PROVIDER, IFACE + ".GetResultMetas", str([path]))
    if len(metas) != 1:
        raise UIError(f"GetResultMetas gave {metas}")
    meta = metas[0]
    want = {"id": path, "name": name, "description": "In ~/Documents, in the latest backup"}
    for k, v in want.items():
        if meta.get(k) != v:
            raise UIError(f"the result's {k} is {meta.get(k)!r}, not {v!r} ({meta})")
    if "text-plain" not in meta.get("gicon", ""):
        raise UIError(f"the result's icon {meta.get('gicon')!r} is not a text file's")
    print(f"   {len(ids)} result(s) for 'rep' in {took * 1000:.0f} ms (gdbus included): {meta}", flush=True)

    gdbus(PROVIDER, IFACE + ".ActivateResult", path, "['report']", "0")
    hist, titles = history_window(app, name)
    if len(set(titles)) != len(titles):
        raise UIError(f"two versions read the same: {titles}")
    print(f"   ActivateResult opened the history of {name}: {titles}", flush=True)
    shot("history-from-overview", title=name)
    close(hist)

    gdbus(PROVIDER, IFACE + ".LaunchSearch", "['report']", "0")
    entry = find(win, name="Search backups", role="entry", timeout=10)
    find(win, name=name, role="list item", timeout=30)
    print("   LaunchSearch opened the Search page with the file found", flush=True)
    shot("search-from-overview")
    if home not in path:
        raise UIError(f"{path} is not in {home}")
    return entry


def run_loop(seconds=2):
    """Runs this process's GLib main loop a while, as Files' runs: the
    extension's call is answered there."""
    ctx = GLib.MainContext.default()
    end = time.time() + seconds
    while time.time() < end:
        while ctx.iteration(False):
            pass
        time.sleep(0.02)


def files_extension(win, app, shot, path):
    step("Files' Previous Versions…: the extension offers it inside the backed-up folders and opens the app")
    spec = importlib.util.spec_from_file_location("keepsake_nautilus", EXTENSION)
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    from gi.repository import Gio

    class File:
        def __init__(self, p, is_dir=False):
            self.uri, self.dir = Gio.File.new_for_path(p).get_uri(), is_dir

        def get_uri(self):
            return self.uri

        def is_directory(self):
            return self.dir

    folders = ext.KeepsakeMenu.service.folders()  # asked of keepsaked on the system bus
    if not ext.inside(path, folders):
        raise UIError(f"the extension's backed-up folders {folders} do not hold {path}")
    menu = ext.KeepsakeMenu()
    if menu.get_file_items([File("/etc/hostname")]):
        raise UIError("the extension offers Previous Versions… for a file outside the backups")
    items = menu.get_file_items([File(path)])
    if len(items) != 1 or items[0].props.label != "Previous Versions…":
        raise UIError(f"the extension's items for {path}: {items}")
    items[0].activate()  # as a click in Files' menu: ActivateAction show-history
    run_loop()
    name = os.path.basename(path)
    hist, titles = history_window(app, name)
    print(f"   Previous Versions… of {name} opened its history: {titles}", flush=True)
    close(hist)

    projects = os.path.join(os.path.dirname(path), "Projects")
    items = menu.get_file_items([File(projects, is_dir=True)])
    if len(items) != 1:
        raise UIError(f"no Previous Versions… for the folder {projects}")
    items[0].activate()  # ActivateAction browse-folder
    run_loop()
    files = find(win, name="Files", role="list", timeout=30)
    find(files, name="notes.md", role="list item", timeout=30)
    find(win, name="Projects", role="push button", timeout=10)  # the path bar's last crumb
    print("   Previous Versions… of Projects opened Browse there", flush=True)
    shot("browse-from-files")

    step("the app's actions straight from gdbus: search, and the launcher's Browse Backups")
    gdbus(APP, "org.freedesktop.Application.ActivateAction", "search", "[<'notes'>]", "{}")
    find(win, name="notes.md", role="list item", timeout=30)
    gone(win, name="report.txt", role="list item", timeout=10)
    gdbus(APP, "org.freedesktop.Application.ActivateAction", "browse-backups", "[]", "{}")
    deadline = time.time() + 10
    # The view switcher's button of the page shown is a selected tab
    # (pressed or checked in other GTK versions).
    shown = (atspi.pyatspi.STATE_SELECTED, atspi.pyatspi.STATE_CHECKED, atspi.pyatspi.STATE_PRESSED)
    while not any(atspi.role_name(n) in ("toggle button", "radio button", "page tab") and
                  any(n.getState().contains(st) for st in shown) for n in find_all(win, name="Browse")):
        if time.time() > deadline:
            raise UIError("Browse Backups did not switch to the Browse page:\n" + atspi.dump(win))
        time.sleep(0.2)
