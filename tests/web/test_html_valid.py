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

from tests.conftest import PASSWORD
from tracker.agencies import tokens
from tracker.models import Recipient
from tracker.people.accounts import create_user
from tracker.records import breaches

HERE = Path(__file__).resolve().parents[1] / "htmlvalidate"
HTML_VALIDATE = HERE / "node_modules" / ".bin" / "html-validate"

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _collect(app, client, people, login, make_agreement, now) -> dict[str, str]:
    """{what: page} for every full page a person can reach, as each role sees it."""
    agreement = make_agreement(status="active")
    undertaking = make_agreement(kind="undertaking", status="active")
    draft = make_agreement()
    waiting = make_agreement(status="awaiting_endorsement")
    ended = make_agreement(status="ended")
    breach = breaches.log(agreement, {"description": "Missed nursery.", "reported_by": "Nursery"}, now,
                          user=people.worker)
    recipient = Recipient.get(Recipient.agreement == agreement)
    child = agreement.child_links.get().child
    front_door = create_user("front.door@council.example", "Fran Front", PASSWORD, "front_door", None)
    a = agreement.id
    simple = sorted(rule.rule for rule in app.url_map.iter_rules()
                    if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith("/static")
                    and rule.rule not in ("/logout", "/healthz"))  # /healthz: plain text, 503 with no runner
    record = [f"/agreements/{a}", f"/agreements/{a}/print", f"/agreements/{a}/edit", f"/agreements/{a}/end",
              f"/agreements/{a}/history", f"/agreements/{a}/review", f"/agreements/{a}/breaches/new",
              f"/agreements/{undertaking.id}", f"/agreements/{undertaking.id}/extend", f"/agreements/{draft.id}",
              f"/agreements/{waiting.id}/endorse", f"/agreements/{ended.id}", f"/breaches/{breach.id}",
              f"/breaches/{breach.id}/acknowledge", f"/breaches/{breach.id}/amend", f"/children/{child.id}/close",
              f"/admin/users/{people.worker.id}", "/agreements/new?kind=partnership",
              "/agreements/new?kind=undertaking", "/breaches/new?q=ella", "/breaches/new?q=nobody",
              "/agreements?q=ella", "/agreements?status=ended", "/subject-access/preview?child=" + str(child.id),
              "/agreements/999999", f"/agreements/{a}/family",
              f"/agreements/{draft.id}/tasks", f"/agreements/{draft.id}/sections/child",
              f"/agreements/{draft.id}/check", "/agreements/new/sections/actions"]
    pages: dict[str, str] = {}

    def keep(what: str, response) -> None:
        page = response.get_data(as_text=True)
        assert response.status_code < 500, (what, response.status_code)
        redirect = 300 <= response.status_code < 400
        if not redirect and response.mimetype == "text/html" and page.lstrip().lower().startswith("<!doctype html>"):
            pages[what] = page

    seen: set[tuple[str, str]] = set()
    for user in (people.worker, people.manager, people.head, people.admin, front_door, people.other_worker):
        login(user)
        for url in simple + record:
            response = client.get(url)
            # The same page with the same status is checked once, as the first role to see it.
            key = (url, str(response.status_code))
            if key not in seen:
                seen.add(key)
                keep(f"{user.role} {url} ({response.status_code})", response)
        # Forms sent empty come back with their error summary and messages beside the fields.
        if user is people.worker:
            for url in ("/agreements/new?kind=partnership", "/agreements/new?kind=undertaking",
                        f"/agreements/{a}/breaches/new", f"/agreements/{a}/review", f"/breaches/{breach.id}/amend",
                        f"/agreements/{a}/end"):
                keep(f"{user.role} POST {url}", client.post(url, data={}))
        if user is people.admin:
            for url in ("/admin/users/new", "/admin/teams/new", "/admin/agencies/new"):
                keep(f"{user.role} POST {url}", client.post(url, data={}))
    client.post("/logout")
    token = tokens.token_for(recipient)
    for url in ("/login", f"/a/{token}", f"/a/{token}/report", f"/a/{token}/breach", "/a/not-a-link", "/no-such-page"):
        keep(f"signed out {url}", client.get(url))
    for url in (f"/a/{token}/report", f"/a/{token}/breach"):
        keep(f"signed out POST {url}", client.post(url, data={}))
    keep("signed out POST /login", client.post("/login", data={"email": "nobody@council.example", "password": "x"}))
    # The family's pages (R20): the code, its error, the copy, a call back and its error, a link that does not work.
    from tracker.family import links
    from tracker.models import Party

    access, code = links.send_link(agreement, Party.get(Party.agreement == a), people.worker, now, channel="paper")
    family = f"/f/{links.token_for(access)}"
    keep("family code", client.get(f"{family}/code"))
    keep("family POST code (wrong)", client.post(f"{family}/code", data={"code": "nope"}))
    client.post(f"{family}/code", data={"code": code})
    for url in (family, f"{family}/call-back", "/f/abcdefghjkmn"):
        keep(f"family {url}", client.get(url))
    keep("family POST call-back (empty)", client.post(f"{family}/call-back", data={"message": ""}))
    login(people.worker)
    keep("worker link sent", client.post(f"/agreements/{a}/family/{access.party_id}/send", data={"channel": "paper"}))
    keep("worker POST family link (no address)", client.post(f"/agreements/{a}/family/{access.party_id}/send",
                                                             data={"channel": "email", "address": ""}))
    return pages


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
