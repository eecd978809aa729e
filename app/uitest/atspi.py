"""Small helpers to drive a GTK 4 app through AT-SPI, the way a screen
reader or a person would: find widgets by role and accessible name, click
them, type into them, read labels, take screenshots.

GTK 4.8 notes: a label's text is its accessible *name* (the Text interface
returns empty strings), buttons are clicked with action 0, and typing goes
through the X server (xdotool) after the entry has focus.
"""
import os
import subprocess
import time

import pyatspi

TIMEOUT = float(os.environ.get("KEEPSAKE_UI_TIMEOUT", "30"))


class UIError(AssertionError):
    pass


def app_named(name, timeout=TIMEOUT):
    """The accessible application called name, once it is on the bus."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        desktop = pyatspi.Registry.getDesktop(0)
        for i in range(desktop.childCount):
            a = desktop.getChildAtIndex(i)
            if a is not None and a.name == name:
                return a
        time.sleep(0.2)
    raise UIError(f"application {name!r} did not appear on the accessibility bus")


def walk(node, depth=0, limit=60, hidden=False):
    """Every accessible below node (breadth first), skipping hidden ones."""
    queue = [(node, 0)]
    while queue:
        n, d = queue.pop(0)
        yield n
        if d >= limit:
            continue
        try:
            count = n.childCount
        except Exception:
            continue
        for i in range(count):
            try:
                c = n.getChildAtIndex(i)
            except Exception:
                continue
            if c is None:
                continue
            try:
                # GTK 4.8 never sets SHOWING below the window: VISIBLE it is.
                if not hidden and not c.getState().contains(pyatspi.STATE_VISIBLE):
                    continue
            except Exception:
                continue
            queue.append((c, d + 1))


def role_name(n):
    try:
        return n.getRoleName()
    except Exception:
        return "?"


def clean_name(n):
    """A widget's accessible name without GTK 4.8's mnemonic echo: a
    button labelled "_Restore" is named "_Restore Restore"."""
    try:
        nm = n.name or ""
    except Exception:
        return ""
    for i in range(1, len(nm)):
        head, tail = nm[:i], nm[i + 1:]
        if nm[i] == " " and head.replace("_", "") == tail:
            return tail
    return nm


def on_screen(n):
    """Drawn with a size: GTK 4.8 gives widgets on hidden pages (a stack's
    other children) an empty box, and never sets SHOWING."""
    try:
        e = n.queryComponent().getExtents(pyatspi.WINDOW_COORDS)
    except Exception:
        return False
    if e.width <= 0 or e.height <= 0:
        return False
    # A widget hidden after it was drawn keeps its old box: every
    # ancestor must still be visible.
    a, depth = n, 0
    while a is not None and depth < 40:
        try:
            if role_name(a) == "application":
                return True
            if not a.getState().contains(pyatspi.STATE_VISIBLE):
                return False
            a = a.parent
        except Exception:
            return False
        depth += 1
    return True


def matches(n, name=None, role=None, contains=None):
    nm = clean_name(n)
    if role is not None and role_name(n) != role:
        return False
    if name is not None and nm != name:
        return False
    if contains is not None and contains.lower() not in nm.lower():
        return False
    return True


def find_all(root, name=None, role=None, contains=None, hidden=False):
    return [n for n in walk(root, hidden=hidden) if matches(n, name, role, contains) and (hidden or on_screen(n))]


def find(root, name=None, role=None, contains=None, timeout=TIMEOUT, hidden=False):
    """The first showing widget that matches; waits for it to appear."""
    deadline = time.time() + timeout
    while True:
        found = find_all(root, name, role, contains, hidden)
        if found:
            return found[0]
        if time.time() > deadline:
            raise UIError(f"no {role or 'widget'} named {name or contains!r} on screen; showing:\n" + dump(root))
        time.sleep(0.2)


def gone(root, name=None, role=None, contains=None, timeout=TIMEOUT):
    deadline = time.time() + timeout
    while find_all(root, name, role, contains):
        if time.time() > deadline:
            raise UIError(f"{name or contains!r} still on screen")
        time.sleep(0.2)


def dump(root, limit=400):
    lines = []
    for n in walk(root):
        try:
            if on_screen(n):
                lines.append(f"  {role_name(n)}: {clean_name(n)!r}")
        except Exception:
            pass
        if len(lines) >= limit:
            lines.append("  …")
            break
    return "\n".join(lines)


def click(node):
    """Activates a button, switch, check box or row: its first action, or,
    for widgets GTK 4.8 gives no action (check and radio buttons), a mouse
    click in its middle."""
    try:
        act = node.queryAction()
        n = act.nActions
    except NotImplementedError:
        n = 0
    if n == 0:
        mouse_click(node)
        return
    for i in range(n):
        if act.getName(i) in ("click", "activate", "press", "toggle"):
            act.doAction(i)
            return
    act.doAction(0)


def x_window(title, size=None):
    """The X window with that title: its geometry (X, Y, WIDTH, HEIGHT as
    numbers, WINDOW its id), or None. Popups (a tooltip, a popover) are X
    windows of their own that may carry the application's name too, for
    a moment: the one meant is the window of the given size, else the
    biggest."""
    ids = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", f"^{title}$"],
                         capture_output=True, text=True).stdout.split()
    best, rank = None, None
    for i in ids:
        out = subprocess.run(["xdotool", "getwindowgeometry", "--shell", i], capture_output=True, text=True).stdout
        geo = {k: int(v) for k, v in (line.split("=", 1) for line in out.split() if "=" in line)}
        geo["WINDOW"] = i
        r = ((geo.get("WIDTH"), geo.get("HEIGHT")) == size, geo.get("WIDTH", 0) * geo.get("HEIGHT", 0))
        if rank is None or r > rank:
            best, rank = geo, r
    return best


def window_origin(node):
    """Where the node's toplevel X window is on the screen."""
    top = node
    while top.parent is not None and role_name(top.parent) != "application":
        top = top.parent
    try:
        e = top.queryComponent().getExtents(pyatspi.WINDOW_COORDS)
        size = (e.width, e.height)
    except Exception:
        size = None
    w = x_window(top.name or "Keepsake", size)
    return (w["X"], w["Y"]) if w else (0, 0)


def mouse_click(node):
    e = node.queryComponent().getExtents(pyatspi.WINDOW_COORDS)
    if e.width <= 0 or e.height <= 0:
        raise UIError(f"{role_name(node)} {clean_name(node)!r} is not on screen to click")
    ox, oy = window_origin(node)
    subprocess.run(["xdotool", "mousemove", "--sync", str(ox + e.x + e.width // 2), str(oy + e.y + e.height // 2),
                    "click", "1"], check=True)


def focus(node):
    """Focuses a widget by clicking it (GTK 4.8 does not implement
    Component.grabFocus)."""
    mouse_click(node)


def type_text(node, text, clear=True):
    """Types into an entry through the X server, as a keyboard would."""
    focus(node)
    time.sleep(0.2)
    if clear:
        subprocess.run(["xdotool", "key", "--clearmodifiers", "ctrl+a", "BackSpace"], check=True)
    subprocess.run(["xdotool", "type", "--delay", "20", text], check=True)


def key(*keys):
    subprocess.run(["xdotool", "key", "--clearmodifiers", *keys], check=True)


def text_of(root, role="label"):
    """Every label's text on screen, joined (for assertions on messages)."""
    return "\n".join(clean_name(n) for n in find_all(root, role=role))


def wait_text(root, contains, timeout=TIMEOUT, role=None):
    """Waits until some widget's name contains the text."""
    return find(root, contains=contains, role=role, timeout=timeout)


def screenshot(title, path, settle=0.6):
    """The pixels of the X window with that title (import -window)."""
    time.sleep(settle)  # let animations and the last frame settle
    w = x_window(title)
    subprocess.run(["import", "-window", w["WINDOW"] if w else "root", path], check=True)
