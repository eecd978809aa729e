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
    show_page(win, "Overview")
    click(find(win, name="Back Up Now", role="push button"))
    # The job shows its progress bar and Cancel while it runs.
    find(win, name="Backup progress", timeout=30)
    shot("overview-busy")
