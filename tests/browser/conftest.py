"""A live server on 127.0.0.1 and Debian's Chromium driven by Playwright, with axe.

The browser tests never skip in CI: a missing Chromium is an error there.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import People
from tracker import create_app, db
from tracker.records import lifecycle

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"Chromium is not installed at {CHROMIUM}: `make test` installs Debian's chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def live(tmp_path, monkeypatch):
    """The app served on a free port of 127.0.0.1, on a fresh SQLite database."""
    monkeypatch.setenv("TRACKER_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.delenv("MAIL_SERVER", raising=False)
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'live.db'}",
        "SECRET_KEY": "browser-test-key",
        "BASE_URL": "http://127.0.0.1",
        "LOGIN_RATE_LIMIT": 1_000_000,
        "AGENCY_RATE_LIMIT": 1_000_000,
        "OFFICE_HOURS": "Mon-Sun 00:00-24:00",  # no out-of-hours copies coming and going with the clock
    })
    with app.app_context():
        db.database.connect(reuse_if_open=True)
        db.migrate()
        people = People()
        db.database.close()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = base

    class Live:
        pass

    live = Live()
    live.app, live.url, live.people = app, base, people
    with app.app_context():
        yield live
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_accessible(page, name: str) -> None:
    """axe finds no serious or critical violation on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import Error

    # A click that follows a link returns once the navigation has begun; axe run
    # while the new document replaces the old finds no document. Wait for the page
    # that is loading, and read it again if it was replaced under axe.
    for attempt in range(3):
        page.wait_for_load_state("load")
        try:
            results = Axe().run(page)
            break
        except Error as error:
            if attempt == 2 or not _replaced_under_us(error):
                raise
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, f"{name}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in bad
    )


def _replaced_under_us(error) -> bool:
    text = str(error)
    return "documentElement" in text or "Execution context was destroyed" in text or "navigat" in text


def sign_in(page, live, user, password="correct-horse-battery"):
    page.goto(f"{live.url}/login")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():  # wait_for_load_state alone can return before the click's navigation starts
        page.get_by_role("button", name="Sign in").click()


def active_record(people, worker=None, kind="partnership", **overrides):
    """An endorsed, active record made the way the pages make one."""
    from tests.conftest import agreement_data
    from tracker.clock import utcnow
    from tracker.models import Agreement
    from tracker.records import drafting

    now = utcnow()
    worker = worker or people.worker
    overrides.setdefault("review_at", now + dt.timedelta(days=8))
    if kind == "undertaking":
        overrides.setdefault("window_starts_at", now)
        overrides.setdefault("window_ends_at", now + dt.timedelta(hours=30))
    agreement = drafting.save(None, kind, agreement_data(social_worker=worker.id, **overrides), worker, now)
    lifecycle.submit(agreement, worker, now)
    lifecycle.endorse(agreement, people.manager, now, override="test")
    return Agreement.get_by_id(agreement.id)


def caseload(people):
    """An active agreement, an active undertaking, a draft and a breach: a page of each kind to visit."""
    from tests.conftest import agreement_data
    from tracker.clock import utcnow
    from tracker.records import breaches, drafting

    now = utcnow()
    agreement = active_record(people, review_at=now + dt.timedelta(days=5))
    undertaking = active_record(people, kind="undertaking")
    draft = drafting.save(None, "partnership", agreement_data(social_worker=people.worker.id), people.worker, now)
    breach = breaches.log(agreement, {"description": "Missed nursery twice.", "reported_by": "Nursery"}, now,
                          user=people.worker)
    return agreement, undertaking, draft, breach


def pages_of_caseload(agreement, undertaking, draft, breach, recipient_token):
    """Every page of the caseload, by who signs in to see it (None: no one)."""
    staff = {
        "manager": ["/", "/agreements", "/agreements/new?kind=partnership", "/agreements/new?kind=undertaking",
                    f"/agreements/{agreement.id}", f"/agreements/{agreement.id}/edit",
                    f"/agreements/{agreement.id}/history", f"/agreements/{agreement.id}/end",
                    f"/agreements/{agreement.id}/review", f"/agreements/{undertaking.id}",
                    f"/agreements/{undertaking.id}/extend", f"/agreements/{draft.id}/endorse",
                    "/breaches/new?q=Ella", f"/agreements/{agreement.id}/breaches/new",
                    f"/breaches/{breach.id}", f"/breaches/{breach.id}/acknowledge", f"/breaches/{breach.id}/amend"],
        "head": ["/service/"],
        "admin": ["/admin/", "/admin/users/new", "/admin/teams/new", "/admin/agencies/new", "/admin/settings",
                  "/admin/outbox"],
        None: ["/login", f"/a/{recipient_token}", f"/a/{recipient_token}/report", f"/a/{recipient_token}/breach",
               "/a/not-a-link", f"/agreements/{agreement.id}/print"],
    }
    return staff


# --- every page, from the url_map -------------------------------------------------------------

# Addresses that are not a page a person reads: downloads, redirects, fragments, monitoring.
NOT_PAGES = ("/static", "/healthz", "/sso/", "/logout", ".csv", ".pdf", ".ics", "<fmt>", "agency-suggestions",
             "new-link", "/f/exit")


def every_page(live) -> dict[str, list[str]]:
    """{who: addresses} for every GET page in the app's url_map, each argument filled from a caseload
    made here (an active agreement and undertaking, one waiting for endorsement, a breach, an ended
    an agency's link): staff pages under "staff", the agency's under "agency", and the pages
    anyone reads signed out under "signed_out"."""
    from tracker.agencies import tokens
    from tracker.clock import utcnow
    from tracker.models import Agency, Recipient
    from tracker.records import breaches

    people = live.people
    now = utcnow()
    agreement = active_record(people, review_at=now + dt.timedelta(days=5))
    undertaking = active_record(people, kind="undertaking")
    breach = breaches.log(agreement, {"description": "Missed nursery twice.", "reported_by": "Nursery"}, now,
                          user=people.worker)
    recipient = Recipient.get(Recipient.agreement == agreement)
    agency = Agency.select().first()
    from tracker.family import links
    from tracker.models import Party

    access, _code = links.send_link(agreement, Party.get(Party.agreement == agreement.id), people.worker, now,
                                    channel="paper")
    values = {"name": "why", "job_id": 1, "family_token": links.token_for(access), "agreement_id": agreement.id, "breach_id": breach.id, "user_id": people.worker.id,
              "child_id": agreement.child_links.get().child_id, "token": tokens.token_for(recipient),
              "agency_id": agency.id if agency else 1}
    adapter = live.app.url_map.bind("127.0.0.1")
    found = {"staff": set(), "agency": set(), "signed_out": set()}
    for rule in live.app.url_map.iter_rules():
        if "GET" not in rule.methods or any(part in rule.rule for part in NOT_PAGES):
            continue
        filled = {name: values["family_token" if rule.endpoint.startswith("family.") and name == "token" else name]
                  for name in rule.arguments}
        address = adapter.build(rule.endpoint, filled, force_external=False)
        if rule.endpoint.startswith("agency."):
            found["agency"].add(address)
        elif rule.endpoint.startswith(("public.", "auth.login", "family.")):
            found["signed_out"].add(address)
        else:
            found["staff"].add(address)
    # The same page in its other states: each kind of new record, a search, an undertaking, the error pages.
    found["staff"] |= {"/agreements/new?kind=partnership", "/agreements/new?kind=undertaking", "/breaches/new?q=Ella",
                       "/breaches/new?q=nobody", f"/agreements/{undertaking.id}", f"/agreements/{undertaking.id}/extend",
                       "/no-such-page"}
    found["agency"] |= {"/a/not-a-link"}
    return {who: sorted(addresses) for who, addresses in found.items()}
