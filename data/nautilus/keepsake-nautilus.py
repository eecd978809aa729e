"""Keepsake in the Files app: "Previous Versions…" on files and folders.

A file's item opens Keepsake on that file's version history, a folder's
(or the open folder's background) on the Browse page at that folder. The
item is offered only inside the folders Keepsake backs up, which the
backup service (keepsaked, on the system bus) lists; without the service
there is no item. Keepsake is opened through D-Bus activation
(org.freedesktop.Application.ActivateAction on io.github.keepsake.Keepsake),
which starts it when it is not running.

Installed by meson into $datadir/nautilus-python/extensions (Debian:
python3-nautilus; Fedora: nautilus-python). Files 43 and later use the
Nautilus 4.0 API (get_file_items(files)); older ones 3.0
(get_file_items(window, files)): both are answered.
"""
import sys
import time
from urllib.parse import unquote, urlsplit

import gi

for _version in ("4.0", "3.0"):
    try:
        gi.require_version("Nautilus", _version)
        break
    except ValueError:
        continue
from gi.repository import Gio, GLib, GObject, Nautilus  # noqa: E402

APP_ID = "io.github.keepsake.Keepsake"
APP_PATH = "/io/github/keepsake/Keepsake"
SERVICE = "io.github.keepsake.Keepsake1"
SERVICE_ROOT = "/io/github/keepsake/Keepsake1"
PROFILE = "io.github.keepsake.Keepsake1.Profile"
# The menu is built while the person waits: the service is asked at
# most this often, and never for longer than TIMEOUT_MS.
CACHE_SECONDS = 10
TIMEOUT_MS = 500

LABEL = "Previous Versions…"
FILE_TIP = "Show the versions of this file that Keepsake backed up"
FOLDER_TIP = "Browse this folder in Keepsake's backups"


def folders_of(objects):
    """The folders this computer's profiles back up, from the service's
    GetManagedObjects answer ({path: {interface: {property: value}}}).
    Other computers' folders (ssh://…) are not this computer's files."""
    folders = set()
    for interfaces in objects.values():
        props = interfaces.get(PROFILE)
        if not props:
            continue
        for source in props.get("Sources", []):
            if source.startswith("/"):
                folders.add(source.rstrip("/") or "/")
    return sorted(folders)


def path_of(uri):
    """The local path of a file:// URI (percent-decoded to the name's
    own bytes, as a str with surrogate escapes like os.fsdecode), or None
    for anything not on this computer (trash://, sftp://, …)."""
    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    return unquote(parts.path, errors="surrogateescape") or None


def inside(path, folders):
    """Whether path is one of folders or below one."""
    for f in folders:
        if f == "/" or path == f or path.startswith(f + "/"):
            return True
    return False


def target(uri, is_dir, folders):
    """The app action and its argument for one item, or None when the
    item is not backed up by Keepsake."""
    path = path_of(uri)
    if path is None or not inside(path, folders):
        return None
    return ("browse-folder" if is_dir else "show-history", uri)


class Service:
    """The backed-up folders, asked of keepsaked over the system bus with
    a short timeout and remembered for a few seconds. The service is
    never started for this (NO_AUTO_START): a menu is no reason to."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.checked = None
        self.cached = []

    def folders(self):
        now = self.clock()
        if self.checked is not None and now - self.checked < CACHE_SECONDS:
            return self.cached
        self.checked = now
        try:
            self.cached = folders_of(self.ask())
        except GLib.Error:
            self.cached = []  # no service, no item
        return self.cached

    def ask(self):
        bus = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
        reply = bus.call_sync(SERVICE, SERVICE_ROOT, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                              None, GLib.VariantType.new("(a{oa{sa{sv}}})"), Gio.DBusCallFlags.NO_AUTO_START,
                              TIMEOUT_MS, None)
        return reply.unpack()[0]


def open_in_keepsake(action, uri):
    """Asks Keepsake to run an action with the item's URI, starting it if
    needed. Files does not wait: the answer comes on its main loop, and a
    failure is only logged (there is no place in Files to say it)."""
    def done(bus, result, *_):
        try:
            bus.call_finish(result)
        except GLib.Error as e:
            print(f"keepsake-nautilus: cannot open Keepsake: {e.message}", file=sys.stderr)

    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    bus.call(APP_ID, APP_PATH, "org.freedesktop.Application", "ActivateAction",
             GLib.Variant("(sava{sv})", (action, [GLib.Variant("s", uri)], {})),
             None, Gio.DBusCallFlags.NONE, -1, None, done)


class KeepsakeMenu(GObject.GObject, Nautilus.MenuProvider):
    service = Service()
    opener = staticmethod(open_in_keepsake)

    def item(self, name, uri, is_dir):
        found = target(uri, is_dir, self.service.folders())
        if found is None:
            return []
        action, arg = found
        item = Nautilus.MenuItem(name=name, label=LABEL, tip=FOLDER_TIP if is_dir else FILE_TIP,
                                 icon="document-open-recent-symbolic")
        item.connect("activate", lambda *_: self.opener(action, arg))
        return [item]

    def get_file_items(self, *args):
        # Nautilus 4.0: (files); 3.0: (window, files).
        files = args[-1]
        if len(files) != 1:
            return []
        f = files[0]
        return self.item("Keepsake::PreviousVersions", f.get_uri(), f.is_directory())

    def get_background_items(self, *args):
        # Nautilus 4.0: (current_folder); 3.0: (window, current_folder).
        folder = args[-1]
        return self.item("Keepsake::PreviousVersionsOfFolder", folder.get_uri(), True)
