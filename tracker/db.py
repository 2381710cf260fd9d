"""The database: a peewee proxy bound at start-up, and the migration runner.

SQLite (WAL, foreign keys, a busy timeout so a briefly locked database makes a
request wait instead of fail) by default; PostgreSQL when DATABASE_URL says so.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import peewee
from playhouse import db_url
from playhouse.migrations import Runner

database = peewee.DatabaseProxy()

MIGRATIONS = Path(__file__).parent / "migrations"

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "synchronous": "normal",
    # A deleted row's bytes are overwritten, not left in the file's free pages:
    # a destroyed record (retention) must not be readable from a copy of the file.
    "secure_delete": 1,
}


def open_database(url: str) -> peewee.Database:
    """Make a database object for a URL; `sqlite:///path` or `postgresql://…`."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Every transaction takes the write lock when it begins (BEGIN IMMEDIATE). A deferred one
        # that read first and then wrote, while another connection wrote in between, failed at once
        # with "database is locked", past the busy timeout (SQLite cannot let it wait: its reads are
        # stale): an autosave racing the form's Save answered 500 (tests/browser/test_typing_kept.py).
        # Begun immediately, the second writer waits for the first instead.
        return peewee.SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10, lock_type="IMMEDIATE")
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        # A pool: each request "closes" its connection back into it, instead of
        # paying for a new PostgreSQL connection (about 40 ms over TCP) every time.
        return db_url.connect("postgresql+pool://" + url[len("postgresql://"):], max_connections=32, stale_timeout=300)
    return db_url.connect(url)


def bind(url: str) -> peewee.Database:
    """Point the proxy at the database named by `url` and return it."""
    db = open_database(url)
    database.initialize(db)
    return db


def migrate() -> list[str]:
    """Apply every pending migration; safe to run any number of times."""
    return Runner(database.obj, str(MIGRATIONS)).up()


def init_app(app) -> None:
    bind(app.config["DATABASE_URL"])

    @app.before_request
    def _connect() -> None:
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc) -> None:
        # SQLite: each thread keeps its connection (peewee's are per thread), so a
        # request does not pay for opening the file and setting its pragmas
        # (0.8 ms, a sixth of the dashboard). PostgreSQL: back into the pool.
        if not database.is_closed() and not isinstance(database.obj, peewee.SqliteDatabase):
            database.close()


@contextmanager
def planned_once(generic: bool = True):
    """PostgreSQL: the statements inside are planned once per connection, not per request.

    psycopg prepares a statement after it has run five times, but for a query whose
    best plan seems to depend on its values (a team's rows, a moment) the planner
    keeps planning it afresh each run, which for the dashboard's grouped count
    takes longer than running it. Inside, `plan_cache_mode = force_generic_plan`
    holds for one transaction only (SET LOCAL), so other queries keep their custom
    plans. Only for reads whose generic plan has been measured to be as good
    (`generic` False: planned per request, as everything else is); none is now
    (oversight.dashboard.GENERIC_PLANS_FOR). SQLite plans every statement anyway.
    """
    db = database.obj
    if not isinstance(db, peewee.PostgresqlDatabase) or not generic:
        yield
        return
    with db.atomic():
        db.execute_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        yield


@contextmanager
def index_costed():
    """PostgreSQL: the statements inside are planned with random_page_cost 1.1 (an SSD's,
    against the default 4 of a spinning disk), for one transaction (SET LOCAL).

    At the default the planner costs a pg_trgm GIN look-up above reading every child
    and every child link, and the register's search for a common surname read them
    all (issue 24: 41 against 24 ms at 1x for a team manager, and growing with the
    service, not with the matches). SQLite: nothing to do.
    """
    db = database.obj
    if not isinstance(db, peewee.PostgresqlDatabase):
        yield
        return
    with db.atomic():
        # (Turning hash joins off too halved the statement alone at 3x, 100 -> 50 ms, but
        # the bench's page was no faster for it: bench/README.md.)
        db.execute_sql("SELECT set_config('random_page_cost', '1.1', true)")  # SET LOCAL
        yield
