"""Tests of the Files extension's logic (python3 -m unittest, from
build-aux/test.sh).

The Files app cannot run here (no GNOME session, no display it would
use), so Nautilus is a fake: a module with MenuProvider and a MenuItem
that records what the extension gives it, the only two names the
extension uses. That is a stand-in for Files itself, nothing of the
extension's own logic is replaced. One more test loads the extension
against the real Nautilus typelib when it is installed (Debian:
gir1.2-nautilus-4.0, which python3-nautilus brings). That the item's
action opens the right page in Keepsake is checked by the UI test
(app/uitest), through the same D-Bus call.
"""
import importlib.util
import os
import subprocess
import sys
import types
import unittest

from gi.repository import GLib

HERE = os.path.dirname(os.path.abspath(__file__))
EXTENSION = os.path.join(HERE, "keepsake-nautilus.py")


class FakeMenuItem:
    def __init__(self, **props):
        self.props = props
        self.handlers = []

    def connect(self, signal, handler):
        self.handlers.append((signal, handler))

    def activate(self):
        for signal, handler in self.handlers:
            if signal == "activate":
                handler(self)


class FakeFile:
    def __init__(self, uri, is_dir=False):
        self.uri, self.dir = uri, is_dir

    def get_uri(self):
        return self.uri

    def is_directory(self):
        return self.dir


def load(fake=True):
    """Imports the extension, with the fake Nautilus or the real one."""
    saved = sys.modules.get("gi.repository.Nautilus")
    if fake:
        nautilus = types.ModuleType("gi.repository.Nautilus")
        nautilus.MenuProvider = type("MenuProvider", (), {})
        nautilus.MenuItem = FakeMenuItem
        sys.modules["gi.repository.Nautilus"] = nautilus
    try:
        spec = importlib.util.spec_from_file_location("keepsake_nautilus", EXTENSION)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        if fake:
            if saved is None:
                sys.modules.pop("gi.repository.Nautilus", None)
            else:
                sys.modules["gi.repository.Nautilus"] = saved


ext = load()


def managed_objects(*profiles):
    """A GetManagedObjects answer with these profiles' Sources."""
    out = {ext.SERVICE_ROOT + "/drives/0": {"io.github.keepsake.Keepsake1.Drive": {"Label": "Backup Drive"}}}
    for i, sources in enumerate(profiles):
        out[f"{ext.SERVICE_ROOT}/profiles/p{i}"] = {ext.PROFILE: {"Name": f"p{i}", "Sources": sources}}
    return out


class FakeService(ext.Service):
    def __init__(self, answers, clock):
        super().__init__(clock)
        self.answers, self.asked = list(answers), 0

    def ask(self):
        self.asked += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class Logic(unittest.TestCase):
    def test_folders_of_this_computer(self):
        got = ext.folders_of(managed_objects(["/home/ann", "/srv/photos/"], ["ssh://nas/volume1"], ["/"]))
        self.assertEqual(got, ["/", "/home/ann", "/srv/photos"])

    def test_targets(self):
        folders = ["/home/ann/Documents", "/srv/photos"]
        cases = [
            ("a file inside", "file:///home/ann/Documents/report.txt", False,
             ("show-history", "file:///home/ann/Documents/report.txt")),
            ("a folder inside", "file:///home/ann/Documents/Projects", True,
             ("browse-folder", "file:///home/ann/Documents/Projects")),
            ("the backed-up folder itself", "file:///srv/photos", True, ("browse-folder", "file:///srv/photos")),
            ("a name that only starts the same", "file:///home/ann/Documents-old/x.txt", False, None),
            ("outside", "file:///home/ann/Downloads/x.iso", False, None),
            ("a percent-encoded name", "file:///home/ann/Documents/caf%E9%20menu.txt", False,
             ("show-history", "file:///home/ann/Documents/caf%E9%20menu.txt")),
            ("localhost", "file://localhost/srv/photos/a.jpg", False, ("show-history", "file://localhost/srv/photos/a.jpg")),
            ("another computer", "sftp://nas/srv/photos/a.jpg", False, None),
            ("the trash", "trash:///report.txt", False, None),
            ("a file:// URI of another host", "file://nas/srv/photos/a.jpg", False, None),
        ]
        for name, uri, is_dir, want in cases:
            with self.subTest(name):
                self.assertEqual(ext.target(uri, is_dir, folders), want)

    def test_path_of_keeps_bytes(self):
        self.assertEqual(os.fsencode(ext.path_of("file:///tmp/caf%E9")), b"/tmp/caf\xe9")
        self.assertEqual(ext.path_of("file:///tmp/a%0Ab"), "/tmp/a\nb")


class Menu(unittest.TestCase):
    def setUp(self):
        self.now = 100.0
        self.opened = []
        self.menu = ext.KeepsakeMenu()
        self.menu.opener = lambda action, uri: self.opened.append((action, uri))

    def service(self, *answers):
        self.menu.service = FakeService(answers, lambda: self.now)
        return self.menu.service

    def test_a_file_opens_its_history(self):
        self.service(managed_objects(["/home/ann"]))
        items = self.menu.get_file_items([FakeFile("file:///home/ann/report.txt")])
        self.assertEqual(len(items), 1)
        self.assertEqual(items[0].props["label"], "Previous Versions…")
        items[0].activate()
        self.assertEqual(self.opened, [("show-history", "file:///home/ann/report.txt")])

    def test_a_folder_and_the_background_browse(self):
        self.service(managed_objects(["/home/ann"]))
        self.menu.get_file_items([FakeFile("file:///home/ann/Pictures", True)])[0].activate()
        self.menu.get_background_items(FakeFile("file:///home/ann", True))[0].activate()
        self.assertEqual(self.opened, [("browse-folder", "file:///home/ann/Pictures"), ("browse-folder", "file:///home/ann")])

    def test_the_older_api_with_a_window(self):
        self.service(managed_objects(["/home/ann"]))
        self.assertEqual(len(self.menu.get_file_items(object(), [FakeFile("file:///home/ann/a")])), 1)
        self.assertEqual(len(self.menu.get_background_items(object(), FakeFile("file:///home/ann", True))), 1)

    def test_no_item(self):
        cases = [
            ("outside the backed-up folders", [managed_objects(["/home/ann/Documents"])], [FakeFile("file:///home/ann/a")]),
            ("several files chosen", [managed_objects(["/home/ann"])],
             [FakeFile("file:///home/ann/a"), FakeFile("file:///home/ann/b")]),
            ("nothing chosen", [managed_objects(["/home/ann"])], []),
            ("no service", [GLib.Error("The name io.github.keepsake.Keepsake1 was not provided")],
             [FakeFile("file:///home/ann/a")]),
            ("no profile yet", [managed_objects()], [FakeFile("file:///home/ann/a")]),
        ]
        for name, answers, files in cases:
            with self.subTest(name):
                self.service(*answers)
                self.assertEqual(self.menu.get_file_items(files), [])

    def test_the_service_is_asked_again_after_a_while(self):
        s = self.service(GLib.Error("no service"), managed_objects(["/home/ann"]))
        f = [FakeFile("file:///home/ann/a")]
        self.assertEqual(self.menu.get_file_items(f), [])
        self.now += ext.CACHE_SECONDS - 1
        self.assertEqual(self.menu.get_file_items(f), [])  # remembered, not asked
        self.assertEqual(s.asked, 1)
        self.now += 2
        self.assertEqual(len(self.menu.get_file_items(f)), 1)
        self.assertEqual(s.asked, 2)


class RealNautilus(unittest.TestCase):
    def test_loads_against_the_real_typelib(self):
        """The extension's class and items are real Nautilus objects (in a
        child process: the fake above is in this one)."""
        probe = subprocess.run([sys.executable, "-c", """
import gi
try:
    gi.require_version("Nautilus", "4.0")
except ValueError:
    raise SystemExit(77)
import importlib.util
spec = importlib.util.spec_from_file_location("k", %r)
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
from gi.repository import Nautilus
assert issubclass(m.KeepsakeMenu, Nautilus.MenuProvider)
m.KeepsakeMenu.service.folders = lambda: ["/home"]
class F:
    def get_uri(self): return "file:///home/ann/a.txt"
    def is_directory(self): return False
items = m.KeepsakeMenu().get_file_items([F()])
assert isinstance(items[0], Nautilus.MenuItem), items
assert items[0].props.label == "Previous Versions…"
""" % EXTENSION], capture_output=True, text=True)
        if probe.returncode == 77:
            if os.environ.get("CI") == "true":
                self.fail("the Nautilus 4.0 typelib is missing (build-aux/deps.sh installs python3-nautilus)")
            self.skipTest("the Nautilus 4.0 typelib is missing (Debian: python3-nautilus)")
        self.assertEqual(probe.returncode, 0, probe.stderr)


if __name__ == "__main__":
    unittest.main()
