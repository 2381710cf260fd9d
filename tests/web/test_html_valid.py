"""Every page's HTML passes html-validate (issue 12, item 10): staff pages as each role
sees them, the agency's pages, forms with their errors and the error pages.

The pages are collected through the app, written to files and checked in one
html-validate run (pinned in tests/htmlvalidate/, installed by `make test`),
with the rules in tests/htmlvalidate/htmlvalidate.config.cjs.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import collect_pages as _collect

HERE = Path(__file__).resolve().parents[1] / "htmlvalidate"
HTML_VALIDATE = HERE / "node_modules" / ".bin" / "html-validate"

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def validate(pages: dict[str, str], folder: Path) -> list[str]:
    """html-validate's errors and warnings, one line each, named by the page."""
    folder.mkdir(parents=True, exist_ok=True)
    names = {}
    for i, (what, page) in enumerate(pages.items()):
        path = folder / f"{i:03d}-{re.sub(r'[^a-z0-9]+', '-', what.lower()).strip('-')[:60]}.html"
        path.write_text(page, encoding="utf-8")
        names[str(path)] = what
    # The report goes to a file: node cuts a piped stdout short when it exits.
    report = folder / "report.json"
    run = subprocess.run([str(HTML_VALIDATE), "--config", str(HERE / "htmlvalidate.config.cjs"),
                          "--formatter", f"json={report}", *names], capture_output=True, text=True, timeout=120)
    assert run.returncode in (0, 1) and report.exists(), run.stderr[-2000:]
    problems = []
    for result in json.loads(report.read_text()):
        for m in result["messages"]:
            problems.append(f"{names[result['filePath']]} line {m['line']}:{m['column']}: "
                            f"{m['ruleId']}: {m['message']} [{m.get('selector')}]")
    return problems


@sqlite_only
def test_every_page_passes_html_validate(app, client, people, login, make_agreement, tmp_path):
    from tests.conftest import NOW
    assert HTML_VALIDATE.exists(), "html-validate is not installed: `make test` installs it (make html-validate)"
    pages = _collect(app, client, people, login, make_agreement, NOW)
    # Staff pages by role, forms with errors, agency pages and the error pages.
    assert len(pages) >= 60, sorted(pages)
    for must in ("social_worker POST /agreements/new?kind=partnership", "signed out /no-such-page",
                 "signed out /login", "administrator /admin/ (200)"):
        assert any(w.startswith(must) for w in pages), (must, sorted(pages))
    assert any("(403)" in w for w in pages) and any("(404)" in w for w in pages)
    problems = validate(pages, tmp_path / "pages")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:80])


def test_html_validate_catches_a_real_fault(tmp_path):
    """The gate can fail: a page with a duplicate id, an inline style (which the CSP refuses) and an image without alt text."""
    good = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>T</title></head>'
            '<body><main><h1>T</h1></main></body></html>')
    bad = good.replace("<h1>T</h1>", '<h1 id="x">T</h1><p id="x" style="color: red">p</p><img src="a.png">')
    problems = validate({"good": good, "bad": bad}, tmp_path)
    assert problems and all(p.startswith("bad ") for p in problems), problems
    rules = {p.split(": ")[1] for p in problems}
    assert {"no-dup-id", "no-inline-style", "wcag/h37"} <= rules, rules
