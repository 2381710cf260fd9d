"""Fixtures: an app on a fresh database (SQLite, and PostgreSQL where there is one),
users of every role, a factory for records, and a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
from email import message_from_bytes, policy
from pathlib import Path

import peewee
import pytest
import time_machine
from playhouse.migrations import Runner

from tracker import create_app, db
from tracker.models import ALL_MODELS, Team
from tracker.people.accounts import create_user
from tracker.records import drafting, lifecycle

PASSWORD = "correct-horse-battery"

# Production-strength argon2 costs half a second per test for seven users;
# the tests check the flow, not the cost, so they hash cheaply.
from argon2 import PasswordHasher  # noqa: E402

import tracker.people.accounts  # noqa: E402

tracker.people.accounts.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
NOW = dt.datetime(2026, 11, 23, 9, 0)  # a Monday morning, UTC


# --- databases -----------------------------------------------------------------

_PG_NAME = f"tracker_test_{os.getpid()}"


def _postgres_url() -> tuple[str | None, str]:
    """A PostgreSQL URL for tests, or None with the reason there is none."""
    explicit = os.environ.get("TEST_DATABASE_URL")
    base = explicit or "postgresql://postgres@127.0.0.1:5432/postgres"
    try:
        import psycopg

        with psycopg.connect(base, connect_timeout=3, autocommit=True) as conn:
            if explicit:
                return explicit, ""
            # One database per test run, so runs side by side never share tables.
            conn.execute(f"DROP DATABASE IF EXISTS {_PG_NAME}")
            conn.execute(f"CREATE DATABASE {_PG_NAME}")
        return base.rsplit("/", 1)[0] + f"/{_PG_NAME}", ""
    except Exception as exc:  # noqa: BLE001 - any failure means "no server here"
        return None, f"no PostgreSQL server at {base} ({type(exc).__name__}: {str(exc).strip()[:120]})"


_PG_URL, _PG_WHY = _postgres_url()
_PG_MIGRATED = False


def pytest_sessionfinish(session, exitstatus):
    if _PG_URL and not os.environ.get("TEST_DATABASE_URL"):
        import psycopg

        if db.database.obj is not None and not db.database.is_closed():
            db.database.close()
        try:
            with psycopg.connect(_PG_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {_PG_NAME} WITH (FORCE)")
        except Exception:  # noqa: BLE001 - a leftover test database is harmless
            pass


def pytest_report_header(config):
    if _PG_URL:
        return f"PostgreSQL tests: running against {_PG_URL}"
    if os.environ.get("CI"):
        return f"PostgreSQL tests: NOT RUN in CI: {_PG_WHY}"
    return f"PostgreSQL tests: skipped: {_PG_WHY}"


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """An SQLite file with every migration applied, made once a run: each test
    starts from a copy of it instead of migrating its own (a quarter of a second
    a test, a couple of minutes a run). The app still runs `db.migrate()`, which
    finds nothing pending."""
    path = tmp_path_factory.mktemp("migrated") / "template.db"
    template = peewee.SqliteDatabase(str(path), pragmas=db.SQLITE_PRAGMAS)
    template.connect()
    Runner(template, str(db.MIGRATIONS)).up()
    template.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    template.execute_sql("PRAGMA journal_mode=delete")  # one file holds it all
    template.close()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path, migrated_sqlite):
    if request.param == "sqlite":
        shutil.copyfile(migrated_sqlite, tmp_path / "test.db")
        return f"sqlite:///{tmp_path / 'test.db'}"
    if _PG_URL is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {_PG_WHY}")
        pytest.skip(_PG_WHY)
    return _PG_URL


def _reset_postgres(database: peewee.Database) -> None:
    global _PG_MIGRATED
    if not _PG_MIGRATED:
        database.execute_sql("DROP SCHEMA public CASCADE")
        database.execute_sql("CREATE SCHEMA public")
        _PG_MIGRATED = True
        db.migrate()
        return
    # DELETE and a sequence restart: 14 ms a test where TRUNCATE took 230 (it
    # makes new files for every table). Children first; TRUNCATE if that fails.
    try:
        with database.atomic():
            database.execute_sql(_PG_CLEAR or _pg_clear(database))
    except peewee.DatabaseError:
        tables = ", ".join(f'"{m._meta.table_name}"' for m in ALL_MODELS)
        database.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


_PG_CLEAR = ""


def _pg_clear(database: peewee.Database) -> str:
    global _PG_CLEAR
    sequences = [row[0] for row in database.execute_sql(
        "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = 'public'").fetchall()]
    # The sign queue last: deleting the links queues their children (migration 0029).
    _PG_CLEAR = "; ".join([f'DELETE FROM "{m._meta.table_name}"' for m in reversed(ALL_MODELS)]
                          + ['DELETE FROM "sign_queue"']
                          + [f'ALTER SEQUENCE "{name}" RESTART' for name in sequences])
    return _PG_CLEAR


@pytest.fixture
def app(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.delenv("MAIL_SERVER", raising=False)
    monkeypatch.delenv("SCHEDULER_ENABLED", raising=False)
    application = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "WTF_CSRF_ENABLED": False,
            "BASE_URL": "http://tracker.test",
            "MAIL_SERVER": None,
            "FRONT_DOOR_EMAIL": "front-door@council.example",
            # Office hours all week, so tests on the real clock do not see
            # out-of-hours copies come and go with the time of day; the
            # out-of-hours tests (tests/breaches/test_front_door.py) set their own.
            "OFFICE_HOURS": "Mon-Sun 00:00-24:00",
            # Every test signs in from 127.0.0.1; the limits have their own tests.
            "LOGIN_RATE_LIMIT": 1_000_000,
            "AGENCY_RATE_LIMIT": 1_000_000,
            # No job runner runs beside most tests: the late-job banner has its own (test_jobs_watched.py).
            "JOBS_WATCHED": False,
        }
    )
    database = db.database.obj
    database.connect(reuse_if_open=True)
    if database_url.startswith("postgresql"):
        _reset_postgres(database)
    else:
        db.migrate()
    with application.app_context():
        yield application
    if not database.is_closed():
        database.close()


@pytest.fixture
def client(app):
    # Pages are asked for an hour after NOW, the moment the test data is made
    # at, with the clock running on: agency links expire a number of days
    # after they are issued (tracker.agencies.links), so no test depends on the real date.
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=True):
        yield app.test_client()


# --- people --------------------------------------------------------------------

class People:
    """Two teams with a worker each, their managers, a service manager and an admin."""

    def __init__(self):
        self.north = Team.create(name="North team")
        self.south = Team.create(name="South team")
        self.worker = create_user("worker@council.example", "Sam Worker", PASSWORD, "social_worker", self.north)
        self.colleague = create_user("colleague@council.example", "Priya Colleague", PASSWORD, "social_worker", self.north)
        self.manager = create_user("manager@council.example", "Maria Manager", PASSWORD, "team_manager", self.north)
        self.other_worker = create_user("south.worker@council.example", "Tom South", PASSWORD, "social_worker", self.south)
        self.other_manager = create_user("south.manager@council.example", "Dev South", PASSWORD, "team_manager", self.south)
        self.head = create_user("head@council.example", "Helen Head", PASSWORD, "service_manager", None)
        self.admin = create_user("admin@council.example", "Alex Admin", PASSWORD, "administrator", None)


@pytest.fixture
def people(app):
    return People()


@pytest.fixture
def login(client):
    def sign_in(user):
        client.post("/logout")
        response = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.data[:500]
        return client

    return sign_in


def family_party(agreement):
    """The mother on a record made from agreement_data: the family party a link goes to."""
    from tracker.models import Party

    return next(p for p in Party.select().where(Party.agreement == agreement.id) if p.role == "Mother")


def agreement_data(**overrides) -> dict:
    """A complete, good partnership agreement as the form would give it."""
    data = {
        "children": [{"name": "Ella Murphy", "date_of_birth": dt.date(2019, 5, 4)}],
        "social_worker": None,
        "completed_on": dt.date(2026, 11, 20),
        "purpose": "To keep Ella safe at home while her mother works with the family centre.",
        "child_views": "Ella said she likes going to the park with her mum.",
        "family_views": "Ms Murphy wants Ella to stay at home.",
        "plan_type": "child_in_need",
        "actions": [
            {"what": "Ms Murphy will take Ella to nursery every weekday.", "who": "Ms Murphy", "side": "family",
             "timescale": "Every weekday", "due_on": None},
            {"what": "The social worker will visit every two weeks.", "who": "Social worker", "side": "professional",
             "timescale": "Every two weeks", "due_on": None},
        ],
        "if_things_go_wrong": "The social worker will call a meeting within two working days.",
        "contingency": "Ella will stay with her grandmother.",
        "duration": "3 months",
        "review_at": dt.datetime(2027, 1, 15, 10, 0),
        "review_venue": "Riverside Family Centre",
        "parties": [{"name": "Ms Murphy", "role": "Mother", "signed_on": None}],
        "recipients": [
            {"name": "Jo Bloggs", "agency_name": "Riverside Primary School", "agency_kind": "school",
             "role": "Designated safeguarding lead", "email": "dsl@school.example", "breach_contact": False},
        ],
        "first_language": "English",
        "interpreter": "",
        "advocacy": "",
        "literacy": "",
        "issued_on": None,
        "case_closing": False,
        "domestic_abuse_concern": False,
        "victim_asked_to_exclude_abuser": False,
        "window_starts_at": None,
        "window_ends_at": None,
        "window_reason": "",
        "legal_advice_taken": "no",
        "legal_advice_notes": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def make_agreement(people):
    def make(kind="partnership", worker=None, status="draft", now=NOW, **overrides):
        worker = worker or people.worker
        data = agreement_data(social_worker=worker.id, **overrides)
        if kind == "undertaking":
            data.setdefault("window_starts_at", now)
            if data["window_starts_at"] is None:
                data["window_starts_at"] = now
            if data["window_ends_at"] is None:
                data["window_ends_at"] = now + dt.timedelta(hours=48)
        agreement = drafting.save(None, kind, data, worker, now)
        if status == "awaiting_endorsement":
            # Submitting emails the managers; an active record is endorsed
            # straight from draft, so tests counting its emails see only its own.
            lifecycle.submit(agreement, worker, now)
        if status in ("active", "ended"):
            manager = people.manager if worker.team_id == people.north.id else people.other_manager
            lifecycle.endorse(agreement, manager, now, override="test")
        if status == "ended":
            lifecycle.end(drafting.Agreement.get_by_id(agreement.id), people.manager, now, "reviewed_closed")
        return drafting.Agreement.get_by_id(agreement.id)

    return make


# --- mail ----------------------------------------------------------------------

class Inbox:
    """What a real SMTP server on 127.0.0.1 received."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()
        self.refuse: set[str] = set()
        self.temporary_failure = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.temporary_failure:
            return "451 Try again later"
        if address in self.refuse:
            return "550 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str):
        return [m for rcpts, m in self.messages if address in rcpts]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(app):
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=inbox.port, MAIL_USE_TLS=False)
    yield inbox
    controller.stop()


# --- shared helpers ----------------------------------------------------------------
# Test files never import one another: what several share lives in tests/helpers/
# and reaches them through these fixtures, which import it when first asked.

@pytest.fixture
def good_partnership():
    """good_partnership(**overrides): a partnership agreement's form, good in every field."""
    from tests.helpers import formdata

    return formdata.good_partnership


@pytest.fixture
def good_undertaking():
    """good_undertaking(**overrides): an undertaking's form, good in every field."""
    from tests.helpers import formdata

    return formdata.good_undertaking


@pytest.fixture
def page_fields():
    """page_fields(html) -> (values, choices): the fields a page's own form would post."""
    from tests.helpers import formdata

    return formdata.page_fields


@pytest.fixture
def breach_form():
    """breach_form(**overrides): the quick breach form, no term named."""
    from tests.helpers import formdata

    return formdata.breach_form


@pytest.fixture
def every_kind():
    """every_kind(make_agreement) -> every kind of email the service sends, queued."""
    from tests.helpers import mailkinds

    return mailkinds.every_kind


@pytest.fixture
def every_kind_at_length():
    """every_kind_at_length(people, make_agreement) -> every kind, at the longest realistic values."""
    from tests.helpers import mailkinds

    return mailkinds.every_kind_at_length


@pytest.fixture
def statements():
    """The Statements class: `with statements() as seen:` collects the SQL run in the block."""
    from tests.helpers.statements import Statements

    return Statements


@pytest.fixture
def load():
    """tests/helpers/loadhelpers.py: gunicorn, the job runner and a browser, driven from outside."""
    from tests.helpers import loadhelpers

    return loadhelpers


@pytest.fixture(scope="session")
def oidc():
    """tests/oidc/launch.py: the real OpenID provider (oidc-provider from npm) on 127.0.0.1,
    `oidc.provider(tracker_url)` to start it and `oidc.configure(app, issuer)` to point the app at it."""
    from tests.oidc import launch

    return launch


# --- text messages: a local GOV.UK Notify (tests/helpers/notifyfake.py) ---
NOTIFY_TEMPLATES = {"family_link": ("0d9f1a52-6c11-4c3e-9a57-2f1b8e6a7c01", "((changed)) Your own copy is at ((link))"),
                    "breach_alert": ("5b2e7c44-8d0a-4f6b-b1c3-9e4d2a6f8b02",
                                     "Urgent breach on ((reference)). Please act now: ((link))")}


@pytest.fixture
def notify(app):
    """A real HTTP server on 127.0.0.1 implementing Notify's send-a-text and get-a-status requests,
    with the app's NOTIFY_API_KEY, Notify address and template ids pointed at it."""
    from tests.helpers.notifyfake import FakeNotify
    from tracker import settings

    fake = FakeNotify({template: words for template, words in NOTIFY_TEMPLATES.values()}).start()
    app.config["NOTIFY_API_KEY"] = fake.api_key
    settings.put("notify_base_url", fake.url)
    for kind, (template, _words) in NOTIFY_TEMPLATES.items():
        settings.put(f"notify_template_{kind}", template)
    yield fake
    fake.stop()
# --- end text messages ---


# Import sheets in the template's columns (tests/helpers/importsheets.py), for the import tests.
from tests.helpers.importsheets import record_row, sheet_csv  # noqa: E402,F401

# --- every page, as each role sees it (html-validate, headings and titles) ---

def collect_pages(app, client, people, login, make_agreement, now) -> dict[str, str]:
    """{what: page} for every full page a person can reach, as each role sees it."""
    from tracker.agencies import tokens
    from tracker.models import Recipient
    from tracker.records import breaches

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
    for url in ("/login", f"/a/{token}", f"/a/{token}/report", f"/a/{token}/breach", "/a/not-a-link", "/no-such-page",
                "/accessibility", "/privacy", "/cookies"):
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


# --- statements a page runs, at two sizes of the bench's service (no page's count grows with data) ---

@pytest.fixture
def page_statements(app):
    """Seed bench.seed's service at a scale, then count the SQL statements each page runs."""
    from tests.helpers.page_statements import PageStatements

    return PageStatements(app)
