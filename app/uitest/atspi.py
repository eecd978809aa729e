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


def walk(node, depth=0, limit=60):
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
                st = c.getState()
                if not st.contains(pyatspi.STATE_VISIBLE) or not st.contains(pyatspi.STATE_SHOWING):
                    continue
            except Exception:
                continue
            queue.append((c, d + 1))


def role_name(n):
    try:
        return n.getRoleName()
    except Exception:
        return "?"


def matches(n, name=None, role=None, contains=None):
    try:
        nm = n.name or ""
    except Exception:
        return False
    if role is not None and role_name(n) != role:
        return False
    if name is not None and nm != name:
        return False
    if contains is not None and contains.lower() not in nm.lower():
        return False
    return True


def find_all(root, name=None, role=None, contains=None):
    return [n for n in walk(root) if matches(n, name, role, contains)]


def find(root, name=None, role=None, contains=None, timeout=TIMEOUT):
    """The first showing widget that matches; waits for it to appear."""
    deadline = time.time() + timeout
    while True:
        found = find_all(root, name, role, contains)
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
            lines.append(f"  {role_name(n)}: {n.name!r}")
        except Exception:
            pass
        if len(lines) >= limit:
            lines.append("  …")
            break
    return "\n".join(lines)


def click(node):
    """Activates a button, switch, check box or row (its first action)."""
    try:
        act = node.queryAction()
    except NotImplementedError:
        raise UIError(f"{role_name(node)} {node.name!r} has no action")
    for i in range(act.nActions):
        if act.getName(i) in ("click", "activate", "press", "toggle"):
            act.doAction(i)
            return
    act.doAction(0)


def focus(node):
    node.queryComponent().grabFocus()


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
    return "\n".join(n.name or "" for n in find_all(root, role=role))


def wait_text(root, contains, timeout=TIMEOUT, role=None):
    """Waits until some widget's name contains the text."""
    return find(root, contains=contains, role=role, timeout=timeout)


def screenshot(title, path):
    """The pixels of the X window with that title (import -window)."""
    time.sleep(0.6)  # let animations and the last frame settle
    ids = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", f"^{title}$"],
                         capture_output=True, text=True).stdout.split()
    target = ids[-1] if ids else "root"
    subprocess.run(["import", "-window", target, path], check=True)
