"""Every app- class the templates and the code write has its rule in the compiled CSS (frontend/app.scss)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLASS_ATTRIBUTE = re.compile(r"""class=\\?["']([^"'\\]*)""")
APP_CLASS = re.compile(r"\bapp-[a-z0-9_-]*[a-z0-9]")
# Classes that only name an element, for a script (static/js/app.js), a test or an htmx target; no rule of their own.
NAMES_ONLY = {
    "app-draft-status__signed-out", "app-family-slip", "app-filter-button", "app-filters", "app-import-preview",
    "app-inline-forms", "app-timeout-warning__countdown",
}


def _written() -> set[str]:
    found = set()
    for folder, pattern in (("templates", "*.html"), ("tracker", "*.py")):
        for path in (ROOT / folder).rglob(pattern):
            for attribute in CLASS_ATTRIBUTE.findall(path.read_text(encoding="utf-8")):
                found |= set(APP_CLASS.findall(attribute))
    return found


def test_every_app_class_written_is_styled():
    css = (ROOT / "static" / "css" / "app.css").read_text(encoding="utf-8")
    written = _written()
    assert "app-also-english" in written  # the English beside an unchecked translation (tracker.family.language)
    unstyled = sorted(c for c in written - NAMES_ONLY if not re.search(re.escape("." + c) + r"(?![a-z0-9_-])", css))
    assert not unstyled, f"add a rule to frontend/app.scss and run make css: {unstyled}"
