"""Seed a synthetic service, fast, for the benchmarks.

Everything is written as plain tuples through one prepared INSERT a table
(`executemany`, in chunks), one transaction per table. `records.save` would be truer to life but it is one
record at a time and audited, and 100,000 records would take most of an hour.

The service, at scale 1 (every count is multiplied by `scale`):

- 50 teams (times the square root of the scale) of 10 social workers and a team manager; one service manager and
  an administrator; 2,000 agencies; 60,000 children.
- 100,000 records over ten years: 5,000 active (4,200 partnership agreements,
  800 undertakings), 300 drafts or awaiting endorsement, the rest ended.
  Live records have actions, parties and distribution lists; ended ones carry
  history: an action, a party, an acknowledged copy and (partnerships) a held review.
- Each active agreement has its next review scheduled; 500 of them are
  overdue. Older active agreements have a held review behind them.
- Breaches: one in ten ended records has an acknowledged one; active records
  have acknowledged, escalated and fresh unacknowledged ones.
- One sent email and one audit event per record, so the outbox and the
  audit log are the size ten years would make them.

Times. Every stored due moment is placed so that nothing falls due between
`now` and `due_at` (= now + 10 minutes) except the work planted on purpose:
random moments sit a whole number of days plus 1 to 23 hours away from `now`,
and every offset a sweep applies (7 and 1 days, 10 and 3 days, 24 hours,
2 and 4 hours, 5 days) keeps them outside that ten-minute gap. The planted
work, all due at `now + 5 minutes` (1,000 items at scale 1):

- 400 reviews crossing the 7-day reminder moment (scheduled now + 7 days + 5 minutes);
- 300 undertakings reaching their end (warned already; next_escalation_at = end);
- 200 copies reaching their chase moment (sent 5 days before);
- 100 breaches reaching their 24-hour escalation with no response.

Work that is already due at `now` (reminders for reviews inside 7 days,
agency requests and prompts, overdue notices, the day's digests) is what the
job runner would already have queued in a running service: `bench.run`
catches up with one sweep at `now` before measuring, so "nothing due" means
nothing new is due, exactly what a runner sees every minute.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import json
import random
from dataclasses import dataclass, field

import peewee

from tracker.db import database
from tracker.models import (
    Action,
    Agency,
    AgencyReport,
    Agreement,
    AgreementChild,
    AuditEvent,
    Breach,
    Child,
    Notification,
    Party,
    Recipient,
    Review,
    Team,
    User,
)
from tracker.people.accounts import hasher
from tracker.records.identity import normalise_name
from tracker.rules import review_notice_moments

PASSWORD = "bench-password-1"
DUE_IN = dt.timedelta(minutes=5)  # the planted work falls due at now + 5 minutes
DUE_AT = dt.timedelta(minutes=10)  # the "sweep with work" runs at now + 10 minutes
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)

FIRST = ("Ella Noah Amelia Oliver Isla George Ava Leo Mia Arlo Ivy Freddie Grace Theo Lily Oscar Freya Alfie "
         "Aisha Muhammad Zara Yusuf Maya Jack Poppy Harry Sofia Jacob Ruby Charlie Evie Thomas Hana Kai "
         "Priya Ravi Chloe Daniel Amara Kofi").split()
LAST = ("Murphy Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Wright Khan Robinson Thompson "
        "Evans Walker White Roberts Green Hall Wood Jackson Clarke Hussain Ali Ahmed Kowalski Nowak Okafor "
        "Mensah Campbell Kelly Hughes Edwards Hill Moore Clark Harris Lewis Begum").split()
AGENCY_KINDS = ("school", "school", "school", "nursery", "health_visiting", "gp", "gp", "police", "housing", "other")


@dataclass
class Service:
    """What the seed made, for the benchmarks to use."""

    scale: float
    now: dt.datetime
    due_at: dt.datetime
    counts: dict = field(default_factory=dict)
    manager_email: str = ""
    service_manager_email: str = ""
    front_door_email: str = ""
    team_id: int = 0
    record_ids: list[int] = field(default_factory=list)  # active partnerships in the manager's team
    seconds: float = 0.0


def counts_for(scale: float) -> dict:
    def n(value: int) -> int:
        return max(1, round(value * scale))

    return {
        # Teams grow with the square root of the scale, so a team's own caseload grows
        # too (by the same root), not only the number of teams (issue 24).
        "teams": max(1, round(50 * scale ** 0.5)), "agencies": n(2000), "children": n(60000), "agreements": n(100000),
        "active_partnerships": n(4200), "active_undertakings": n(800), "drafts": n(200), "awaiting": n(100),
        "overdue_reviews": n(500), "due_reminders": n(400), "due_undertakings": n(300), "due_chases": n(200),
        "due_breaches": n(100),
    }


# --- bulk insert -----------------------------------------------------------------

def bulk(model, columns: list[str], rows: list[tuple], now: dt.datetime) -> int:
    """Insert `rows` (tuples in `columns` order) in chunks, in one transaction.

    Columns not given take the model's default (`utcnow` defaults take `now`)
    or NULL; a NOT NULL column with no default must be given.
    """
    fields = [model._meta.fields[name] for name in columns]
    extra_fields, extra_values = [], []
    for f in model._meta.sorted_fields:
        if f.name in columns or isinstance(f, peewee.AutoField):
            continue
        if f.default is not None:
            extra_fields.append(f)
            extra_values.append(now if callable(f.default) else f.default)
        elif not f.null:
            raise ValueError(f"{model.__name__}.{f.name} needs a value")
    fields += extra_fields
    extra = tuple(f.db_value(v) for f, v in zip(extra_fields, extra_values, strict=True))
    # One prepared INSERT, executemany over plain tuples (each value as its field
    # writes it): peewee's insert_many built the SQL text value by value, 75% of the
    # seed's time (96 s at 0.1x under cProfile, SQLite), which made 10x infeasible.
    given = list(enumerate(fields[:len(columns)]))
    sql = (f'INSERT INTO "{model._meta.table_name}" ({", ".join(chr(34) + f.column_name + chr(34) for f in fields)}) '
           f'VALUES ({", ".join([database.param] * len(fields))})')
    chunk = 5000
    with database.atomic():
        cursor = database.cursor()
        for start in range(0, len(rows), chunk):
            part = []
            for row in rows[start:start + chunk]:
                row = list(row)
                for i, f in given:
                    row[i] = f.db_value(row[i])
                part.append(tuple(row) + extra)
            cursor.executemany(sql, part)
    return len(rows)


def _offset(rng: random.Random) -> dt.timedelta:
    """1 to 23 hours, in whole minutes: never within an hour of a whole number of days."""
    return dt.timedelta(minutes=rng.randint(60, 23 * 60))


def _text(rng: random.Random, what: str, words: int = 30) -> str:
    vocabulary = ("the family will keep to the plan agreed with the school and the social worker "
                  "visits every week mother father child nursery attend appointments safe home calm").split()
    # One call for all the words: a choice a word was half the seed's time (cProfile, 1x).
    return what + ": " + " ".join(rng.choices(vocabulary, k=words)) + "."


# --- the service -------------------------------------------------------------------

@contextlib.contextmanager
def indexes_built_after():
    """Every secondary index, and the register's search index, built once after the load.

    Kept row by row, the indexes made the seed grow faster than its size (53 s at 1x
    and 254 s at 3x on SQLite; the agreement table's dozen indexes, written in random
    key order, took 113 then 168 us a row), so 10x could not be seeded in a bench
    run. Dropped for the load and made again from their own definitions (a sort, not
    a walk per row), with the search index (migration 0022's FTS5 insert triggers)
    rebuilt in one pass, and the links' copies of their team and child's name
    (migration 0028's insert trigger) and the reviews' and breaches' copies of their
    team (0031's) filled in one statement each. Indexes that back a constraint stay.
    """
    copies = importlib.import_module("tracker.migrations.0028_team_search")
    teams = importlib.import_module("tracker.migrations.0031_team_copies")
    with signs_queued_after():
        yield from _indexes_built_after(copies, teams)


@contextlib.contextmanager
def signs_queued_after():
    """The stored warning signs' queue (migration 0029) filled once after the load, with
    every active record, as the migration fills it: not a row a trigger for every row
    written. bench.run's catch-up then works it out, as the job runner would have."""
    signs = importlib.import_module("tracker.migrations.0029_stored_signs")
    postgres = isinstance(database.obj, peewee.PostgresqlDatabase)
    for table, trigger in signs.trigger_names():
        database.execute_sql(f"DROP TRIGGER {trigger} ON {table}" if postgres else f"DROP TRIGGER {trigger}")
    yield
    for statement in signs.triggers(database.obj):
        database.execute_sql(statement)
    database.execute_sql(signs.FILL)


def _indexes_built_after(copies, teams):
    if isinstance(database.obj, peewee.PostgresqlDatabase):
        database.execute_sql("ALTER TABLE agreement_child DISABLE TRIGGER agreement_child_copy")
        for table in teams.TABLES:
            database.execute_sql(f"ALTER TABLE {table} DISABLE TRIGGER {table}_team_copy")
        found = database.execute_sql(
            "SELECT indexname, indexdef FROM pg_indexes i WHERE schemaname = current_schema() AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.schemaname) || '.' || "
            "quote_ident(i.indexname))::regclass)").fetchall()
        for name, _ in found:
            database.execute_sql(f'DROP INDEX "{name}"')
        yield
        database.execute_sql("ALTER TABLE agreement_child ENABLE TRIGGER agreement_child_copy")
        database.execute_sql(copies.FILL)
        for table in teams.TABLES:
            database.execute_sql(f"ALTER TABLE {table} ENABLE TRIGGER {table}_team_copy")
            database.execute_sql(teams.fill(table))
        for _, definition in found:
            database.execute_sql(definition)
        return
    search = importlib.import_module("tracker.migrations.0022_register_search")
    inserts = [t for t in search.CHILD_TRIGGERS + search.AGREEMENT_TRIGGERS if "_ai AFTER INSERT" in t]
    inserts.append(copies.SQLITE_INSERT_TRIGGER)
    inserts += [teams.sqlite_insert_trigger(table) for table in teams.TABLES]
    found = database.execute_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").fetchall()
    for name, _ in found:
        database.execute_sql(f'DROP INDEX "{name}"')
    for trigger in inserts:
        database.execute_sql(f"DROP TRIGGER {trigger.split()[2]}")
    yield
    database.execute_sql(copies.FILL)  # before the indexes are made, so each is written once
    for table in teams.TABLES:
        database.execute_sql(teams.fill(table))
    for _, definition in found:
        database.execute_sql(definition)
    for trigger in inserts:
        database.execute_sql(trigger)
    database.execute_sql("INSERT INTO child_search(child_search) VALUES ('rebuild')")
    database.execute_sql("INSERT INTO agreement_search(agreement_search) VALUES ('rebuild')")


def seed(scale: float, now: dt.datetime, rng_seed: int = 6) -> Service:
    """Fill an empty, migrated database with a service of the given scale."""
    with indexes_built_after():
        return _fill(scale, now, rng_seed)


def _fill(scale: float, now: dt.datetime, rng_seed: int) -> Service:
    rng = random.Random(rng_seed)
    c = counts_for(scale)
    sqlite = isinstance(database.obj, peewee.SqliteDatabase)
    if sqlite:
        (cache_size,) = database.execute_sql("PRAGMA cache_size").fetchone()
        # A page cache the size of the indexes being written (the default 2 MB made
        # every index insert past it a read from the file: a third of the time in the
        # kernel, and the seed slower than linear in its size).
        database.execute_sql("PRAGMA cache_size = -1000000")
    service = Service(scale=scale, now=now, due_at=now + DUE_AT, counts=c)
    due = now + DUE_IN

    # People, teams and agencies.
    password_hash = hasher.hash(PASSWORD)
    teams = [(i, f"Team {i:02d}", now - 3650 * DAY) for i in range(1, c["teams"] + 1)]
    bulk(Team, ["id", "name", "created_at"], teams, now)
    users, workers_of, manager_of = [], {}, {}
    uid = 0
    for team_id, _, _ in teams:
        for i in range(10):
            uid += 1
            users.append((uid, f"worker{team_id}.{i}@bench.example", f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                          password_hash, "social_worker", team_id))
            workers_of.setdefault(team_id, []).append(uid)
        uid += 1
        users.append((uid, f"manager{team_id}@bench.example", f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                      password_hash, "team_manager", team_id))
        manager_of[team_id] = uid
    users.append((uid + 1, "head@bench.example", "Helen Head", password_hash, "service_manager", None))
    users.append((uid + 2, "admin@bench.example", "Alex Admin", password_hash, "administrator", None))
    users.append((uid + 3, "frontdoor@bench.example", "Fran Door", password_hash, "front_door", None))
    service.front_door_email = "frontdoor@bench.example"
    bulk(User, ["id", "email", "name", "password_hash", "role", "team"], users, now)
    service.manager_email, service.service_manager_email, service.team_id = "manager1@bench.example", "head@bench.example", 1

    agencies = []
    for i in range(1, c["agencies"] + 1):
        kind = rng.choice(AGENCY_KINDS)
        agencies.append((i, f"{rng.choice(LAST)} {kind.replace('_', ' ').title()} {i}", kind,
                         f"agency{i}@agency.example", "01632 960000"))
    bulk(Agency, ["id", "name", "kind", "email", "phone"], agencies, now)

    children = []
    for i in range(1, c["children"] + 1):
        born = (now - dt.timedelta(days=rng.randint(30, 17 * 365))).date()
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        children.append((i, name, normalise_name(name), i, born, now - 3650 * DAY))
    bulk(Child, ["id", "name", "normalised_name", "identity", "date_of_birth", "created_at"], children, now)

    # Records: specs first, then ids in order of creation.
    specs: list[dict] = []

    def spec(kind, status, role, created, **values):
        team = rng.randint(1, c["teams"])
        specs.append(dict(kind=kind, status=status, role=role, created=created, team=team,
                          worker=rng.choice(workers_of[team]), **values))

    for role, count in (("overdue", c["overdue_reviews"]), ("due_reminder", c["due_reminders"]),
                        ("due_chase", c["due_chases"])):
        for _ in range(count):
            if role == "overdue":
                review_at = now - rng.randint(1, 60) * DAY - _offset(rng)
                created = review_at - rng.randint(60, 90) * DAY
            elif role == "due_reminder":
                review_at = now + 7 * DAY + DUE_IN
                created = now - rng.randint(10, 250) * DAY - _offset(rng)
            else:
                created = due - 6 * DAY  # endorsed a day later: copies sent 5 days before `due`
                review_at = now + rng.randint(20, 80) * DAY + _offset(rng)
            spec("partnership", "active", role, created, review_at=review_at)
    for _ in range(c["active_partnerships"] - c["overdue_reviews"] - c["due_reminders"] - c["due_chases"]):
        spec("partnership", "active", "normal", now - rng.randint(2, 250) * DAY - _offset(rng),
             review_at=now + rng.randint(0, 89) * DAY + _offset(rng))
    for i in range(c["active_undertakings"]):
        if i < c["due_undertakings"]:
            role, ends = "due_undertaking", due
        elif rng.random() < 0.05:
            role, ends = "past_end", now - rng.randint(0, 30) * HOUR - 30 * dt.timedelta(minutes=1)
        else:
            role, ends = "normal", now + rng.randint(0, 70) * HOUR + 30 * dt.timedelta(minutes=1)
        lasts = dt.timedelta(hours=rng.randint(max(24, (ends - now) // HOUR + 1), 72))
        spec("undertaking", "active", role, ends - lasts, ends=ends, starts=ends - lasts)
    for status, count in (("draft", c["drafts"]), ("awaiting_endorsement", c["awaiting"])):
        for _ in range(count):
            spec("partnership", status, "draft", now - rng.randint(0, 30) * DAY - _offset(rng),
                 review_at=now + rng.randint(20, 80) * DAY + _offset(rng))
    for _ in range(c["agreements"] - len(specs)):
        created = now - dt.timedelta(minutes=rng.randint(100 * 1440, 3650 * 1440))
        if rng.random() < 0.7:
            ended = min(created + rng.randint(30, 180) * DAY, now - 2 * DAY)
            spec("partnership", "ended", "ended", created, ended=ended)
        else:
            starts = created
            spec("undertaking", "ended", "ended", created, starts=starts, ends=starts + 48 * HOUR,
                 ended=starts + rng.randint(24, 72) * HOUR)
    specs.sort(key=lambda s: s["created"])

    columns = ["id", "reference", "kind", "status", "team", "social_worker", "created_by", "created_at", "updated_at",
               "completed_on", "issued_on", "purpose", "child_views", "family_views", "plan_type",
               "if_things_go_wrong", "contingency", "duration", "window_starts_at", "window_ends_at",
               "legal_advice_taken", "escalation_level", "next_escalation_at", "next_review_at", "submitted_at",
               "endorsed_by", "endorsed_at", "endorsement_override", "ended_at", "ended_by", "end_reason",
               "version", "awaiting_since", "issued_at"]
    rows = []
    end_reasons = ("reviewed_closed", "reviewed_closed", "replaced", "escalated", "breached", "expired")
    actives = 0
    for number, s in enumerate(specs, start=1):
        s["id"] = number
        created = s["created"]
        worker = s["worker"]
        if s["kind"] == "undertaking" and s["status"] == "active" and rng.random() < 0.05:
            worker = None  # left in place at case closure: the front door is contacted
        s["worker_id"] = worker
        manager = manager_of[s["team"]]
        endorsed = created + DAY if s["status"] in ("active", "ended") else None
        if s["kind"] == "undertaking":
            endorsed = created + HOUR if endorsed else None
        s["endorsed"] = endorsed
        # One active record in 40 is not yet issued to the family (issue 9's dashboard table).
        if s["status"] == "active":
            actives += 1
        issued = endorsed if endorsed and not (s["status"] == "active" and actives % 40 == 1) else None
        level, next_escalation = 0, None
        if s["kind"] == "undertaking" and s["status"] == "active":
            ends = s["ends"]
            if ends <= now:  # past its end: the ladder stands at the current rung
                rung = 1 + int((now - ends) // (4 * HOUR))
                level, next_escalation = rung, ends + rung * 4 * HOUR
            else:  # the warning went already when it was due
                warning = ends - 2 * HOUR
                next_escalation = warning if warning > now else ends
        prefix = "PA" if s["kind"] == "partnership" else "WU"
        rows.append((
            number, f"{prefix}-{number:06d}", s["kind"], s["status"], s["team"], worker, worker or manager,
            created, endorsed or created, created.date(), issued.date() if issued else None,
            _text(rng, "Purpose"), _text(rng, "Child's views", 12), _text(rng, "Family's views", 12),
            rng.choice(("child_in_need", "child_protection", "none", "family_group_conference")),
            _text(rng, "If things go wrong", 15), _text(rng, "Contingency", 12), "3 months",
            s.get("starts"), s.get("ends"), rng.random() < 0.5, level, next_escalation,
            s.get("review_at") if s["status"] != "ended" else None,
            created + HOUR if s["status"] != "draft" else None,
            manager if endorsed else None, endorsed, "",
            s.get("ended"), manager if s.get("ended") else None,
            rng.choice(end_reasons) if s.get("ended") else None,
            # Issue 9's columns: endorsed records are version 1.
            1 if endorsed else 0, created + HOUR if s["status"] == "awaiting_endorsement" else None, issued,
        ))
    bulk(Agreement, columns, rows, now)
    live = [s for s in specs if s["status"] != "ended"]
    active = [s for s in specs if s["status"] == "active"]
    service.record_ids = [s["id"] for s in active
                          if s["team"] == 1 and s["kind"] == "partnership" and s["role"] == "normal"][:20]

    # Children on every record; 15% are sibling groups.
    links = []
    for s in specs:
        first = rng.randint(1, c["children"])
        links.append((s["id"], first, 0))
        if rng.random() < 0.15:
            links.append((s["id"], first % c["children"] + 1, 1))
    bulk(AgreementChild, ["agreement", "child", "position"], links, now)

    # Actions and parties, for live records only.
    actions, parties = [], []
    for s in live:
        for position, (who, side) in enumerate((("Parent", "family"), ("Social worker", "professional"),
                                                ("School", "professional"))):
            actions.append((s["id"], position, _text(rng, "Action", 12), who, side, "Every week"))
        parties.append((s["id"], 0, f"{rng.choice(FIRST)} {rng.choice(LAST)}", "Parent", s["created"].date()))
        parties.append((s["id"], 1, "Social worker", "Social worker", s["created"].date()))
    # Ended records carry their history too (issue 24): an action and a party each.
    for s in specs:
        if s["status"] == "ended":
            actions.append((s["id"], 0, _text(rng, "Action", 12), "Parent", "family", "Every week"))
            parties.append((s["id"], 0, f"{rng.choice(FIRST)} {rng.choice(LAST)}", "Parent", s["created"].date()))
    bulk(Action, ["agreement", "position", "what", "who", "side", "timescale"], actions, now)
    bulk(Party, ["agreement", "position", "name", "role", "signed_on"], parties, now)

    # Distribution lists, with the copy's state kept consistent with chase_at.
    recipient_rows, recipients_of = [], {}
    rid = 0
    for s in live:
        sent = s["endorsed"]
        for position in range(rng.choice((2, 2, 3))):
            rid += 1
            agency = agencies[rng.randrange(len(agencies))]
            acknowledged = chase_at = chased = None
            if sent is not None:
                if s["role"] == "due_chase":
                    if position == 0:
                        chase_at = sent + 5 * DAY  # = now + 5 minutes: planted work
                    else:
                        acknowledged = sent + HOUR
                elif sent + 5 * DAY > now:
                    if rng.random() < 0.5:
                        acknowledged = sent + (now - sent) * rng.random()
                    else:
                        chase_at = sent + 5 * DAY
                elif rng.random() < 0.85:
                    acknowledged = sent + dt.timedelta(minutes=rng.randint(10, 4 * 1440))
                else:
                    chased = sent + 5 * DAY
            recipient_rows.append((rid, s["id"], agency[0], position, f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                                   agency[1], agency[2], "Designated lead", agency[3], position == 0,
                                   sent, acknowledged, chase_at, chased))
            recipients_of.setdefault(s["id"], []).append(rid)
    # An ended record's copy went and was acknowledged.
    for s in specs:
        if s["status"] == "ended":
            rid += 1
            agency = agencies[rng.randrange(len(agencies))]
            sent = s["endorsed"]
            recipient_rows.append((rid, s["id"], agency[0], 0, f"{rng.choice(FIRST)} {rng.choice(LAST)}", agency[1],
                                   agency[2], "Designated lead", agency[3], True, sent, sent + HOUR, None, None))
    bulk(Recipient, ["id", "agreement", "agency", "position", "name", "agency_name", "agency_kind", "role",
                     "email", "breach_contact", "copy_sent_at", "acknowledged_at", "chase_at", "chased_at"],
         recipient_rows, now)

    # Reviews: the next one for each live partnership, and a held one behind older active ones.
    review_rows, reports = [], []
    review_id = 0
    for s in live:
        if s["kind"] != "partnership":
            continue
        held = s["created"] + 90 * DAY
        if s["status"] == "active" and held < min(now - 5 * DAY, s["review_at"]):
            review_id += 1
            review_rows.append((review_id, s["id"], held, "Family centre", "held", held - 10 * DAY, held - 3 * DAY,
                                held.date(), "Family, school, social worker", "continue", "Kept as it is.",
                                manager_of[s["team"]], held + HOUR, s["created"], None, None, None, None))
        review_id += 1
        at = s["review_at"]
        moments = review_notice_moments(at, reminder_days=[7, 1], request_days=10, due_days=3, overdue_hours=24)
        review_rows.append((review_id, s["id"], at, "Family centre", "scheduled", at - 10 * DAY, at - 3 * DAY,
                            None, "", None, "", None, None, s["created"], moments["reminder_at"],
                            moments["request_at"], moments["prompt_at"], moments["overdue_at"]))
        if s["status"] == "active" and at - 10 * DAY <= now:  # some agencies have answered
            for recipient in recipients_of.get(s["id"], []):
                if rng.random() < 0.4:
                    answered = min(now - HOUR, at - 10 * DAY + _offset(rng))
                    reports.append((review_id, recipient, rng.random() < 0.5, _text(rng, "Report", 20), answered,
                                    "link"))
    # An ended partnership had its review held.
    for s in specs:
        if s["status"] == "ended" and s["kind"] == "partnership":
            held = min(s["created"] + 60 * DAY, s["ended"] - HOUR)
            review_id += 1
            review_rows.append((review_id, s["id"], held, "Family centre", "held", held - 10 * DAY, held - 3 * DAY,
                                held.date(), "Family, school, social worker", "end", "Ended at review.",
                                manager_of[s["team"]], held + HOUR, s["created"], None, None, None, None))
    bulk(Review, ["id", "agreement", "scheduled_at", "venue", "status", "requests_open_at", "reports_due_at",
                  "held_on", "attendees", "outcome", "notes", "recorded_by", "recorded_at", "created_at",
                  "reminder_at", "request_at", "prompt_at", "overdue_at"],
         review_rows, now)
    bulk(AgencyReport, ["review", "recipient", "nothing_to_share", "body", "submitted_at", "submitted_via"],
         reports, now)

    # Breaches.
    breaches = []

    def breach(s, created, *, acknowledged=False, escalate_at=None, escalated=None):
        manager = manager_of[s["team"]]
        breaches.append((s["id"], "Kept the agreed distance", created - HOUR, _text(rng, "Breach", 20),
                         "Class teacher", rng.random() < 0.1, s["worker_id"], created,
                         created + 2 * HOUR if acknowledged else None, manager if acknowledged else None,
                         "strategy" if acknowledged else None, escalate_at, escalated))

    for s in specs:
        if s["status"] == "ended" and rng.random() < 0.1:
            breach(s, s["created"] + DAY, acknowledged=True)
    normal_active = [s for s in active if s["role"] == "normal"]
    for s in rng.sample(normal_active, c["due_breaches"]):
        breach(s, due - DAY, escalate_at=due)  # planted work: 24 hours at now + 5 minutes
    for s in rng.sample(normal_active, round(150 * scale)):
        created = now - rng.randint(0, 20) * HOUR - 30 * dt.timedelta(minutes=1)
        breach(s, created, escalate_at=created + DAY)
    for s in rng.sample(normal_active, round(100 * scale)):
        created = now - rng.randint(2, 40) * DAY - _offset(rng)
        breach(s, created, escalated=created + DAY)
    for s in rng.sample(normal_active, round(300 * scale)):
        breach(s, now - rng.randint(2, 100) * DAY - _offset(rng), acknowledged=True)
    bulk(Breach, ["agreement", "term", "occurred_at", "description", "reported_by", "immediate_risk", "created_by",
                  "created_at", "acknowledged_at", "acknowledged_by", "response", "escalate_at", "escalated_at"],
         breaches, now)

    # History: one sent email and one audit event per record.
    mail, audit = [], []
    for s in specs:
        mail.append((f"history/{s['id']}", "copy_issued", s["id"], "agency@agency.example", "Agency",
                     f"Your copy of PA-{s['id']:06d}", _text(rng, "Body", 40), "sent", 1, s["created"],
                     s["created"], s["created"] + dt.timedelta(seconds=30)))
        audit.append((s["created"], s["worker_id"], "Bench", "created", s["id"], "agreement", s["id"],
                      json.dumps({"status": [None, "draft"]})))
    bulk(Notification, ["key", "kind", "agreement", "to_address", "to_label", "subject", "body_text", "status",
                        "attempts", "next_attempt_at", "created_at", "sent_at"], mail, now)
    bulk(AuditEvent, ["at", "user", "actor", "action", "agreement", "entity", "entity_id", "changes"], audit, now)

    if isinstance(database.obj, peewee.PostgresqlDatabase):
        # Explicit ids leave the sequences behind; later inserts would collide.
        for model in (Team, User, Agency, Child, Agreement, AgreementChild, Action, Party, Recipient, Review,
                      AgencyReport, Breach, Notification, AuditEvent):
            table = model._meta.table_name
            database.execute_sql(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM \"{table}\"), 0) + 1, false)")
    service.counts.update(
        users=len(users), agreement_children=len(links), actions=len(actions), recipients=len(recipient_rows),
        reviews=len(review_rows), agency_reports=len(reports), breaches=len(breaches), notifications=len(mail),
        audit_events=len(audit), active=len(active),
    )
    if sqlite:  # the pages are measured with the app's own cache
        database.execute_sql(f"PRAGMA cache_size = {int(cache_size)}")
    return service
