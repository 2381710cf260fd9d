"""Recording a checked import: set-based inserts, the checks run on the rows in memory.

`commit(plans, user, now, filename)` records every record of a file in one
transaction. A record's rows are many (the agreement, its children and their
links, actions, parties, distribution list, review, its first version, the
audit event), so each kind is written for a batch of records at once with
`insert_many`, the new rows' ids coming back in the same statement
(RETURNING, on SQLite too) and matched by a natural key (the reference; the
record and position of a row), never by the order the database returns them
in. The quality checklist and the warning signs read the records' lists from
memory (models.read_once, filled here), so nothing written is read back: a
batch costs a fixed number of statements whatever its size
(tests/governance/test_import_sheet.py counts them).

Imported records arrive active, as version 1 in force, written by the social
worker the sheet names (the audit says who imported them); the family's copy
counts as issued, and each agency's copy as acknowledged, on the day the sheet
says or else at the moment of the import, so the dashboard does not ask for
what happened before the tracker.
"""

from __future__ import annotations

import datetime as dt
import json

from tracker import clock, rules, settings
from tracker.audit import _plain
from tracker.db import database
from tracker.governance.import_plan import IMPORTED_ENDORSEMENT, Plan, error_count
from tracker.models import (
    AGENCY_KINDS,
    Action,
    Agency,
    Agreement,
    AgreementChild,
    AgreementVersion,
    AuditEvent,
    Child,
    Party,
    Recipient,
    Review,
    User,
)
from tracker.records import drafting, fields, identity, quality, versions, warnings

BATCH = 400  # records a batch
PARAMETERS = 30_000  # bound values a statement: SQLite allows 32,766, PostgreSQL 65,535
NOON = dt.time(12, 0)


class Rows:
    """A multi-row INSERT whose SQL text is built once per table and row count, by peewee, then reused.

    peewee turns every value of an `insert_many` into a node and back into SQL: for the import's 49,000 rows
    that was most of its time. Here peewee builds the statement for one row (its columns, placeholders and
    RETURNING clause); a batch repeats that row's placeholders and passes each field's `db_value`, which is
    what peewee would bind.
    """

    _cache: dict[tuple, tuple] = {}

    @classmethod
    def insert(cls, model, rows: list[dict], returning: tuple = ()) -> list[tuple]:
        if not rows:
            return []
        names = list(rows[0])
        # A field with a default that the rows leave out: peewee would add its column, so add its value here.
        defaults = {f.name: f.default for f in model._meta.sorted_fields
                    if f.name not in names and f.default is not None and not f.primary_key}
        if defaults:
            rows = [{**row, **{n: d() if callable(d) else d for n, d in defaults.items()}} for row in rows]
            names += list(defaults)
        fields_ = [model._meta.fields[name] for name in names]
        key = (type(database.obj), model, tuple(names), tuple(f.name for f in returning))
        entry = cls._cache.get(key)
        if entry is None:
            query = model.insert_many([tuple(rows[0][n] for n in names)], fields=fields_)
            if returning:
                query = query.returning(*returning)
            sql, _args = query.sql()
            opens = sql.index(" VALUES (") + len(" VALUES ")
            closes = sql.index(")", opens) + 1
            entry = (sql[:opens], sql[opens:closes], sql[closes:])
            cls._cache[key] = entry
        if any(list(row) != names for row in rows):
            raise ValueError(f"Every {model.__name__} row of one insert must name the same columns in the same order")
        head, group, tail = entry
        converters = [f.db_value for f in fields_]
        readers = [f.python_value for f in returning]
        found = []
        size = max(1, PARAMETERS // len(names))
        for start in range(0, len(rows), size):
            chunk = rows[start:start + size]
            args = [convert(row[name]) for row in chunk for name, convert in zip(names, converters, strict=True)]
            cursor = database.execute_sql(head + ", ".join([group] * len(chunk)) + tail, args)
            if returning:
                found += [tuple(read(v) for read, v in zip(readers, row, strict=True)) for row in cursor.fetchall()]
        return found


def _default(name: str, model=Agreement):
    field = model._meta.fields[name]
    default = field.default
    return default() if callable(default) else default


# Every stored field of the registry is a column of every agreement row (insert_many takes its columns from the
# first row, so each row carries them all).
STORED = [f.name for f in fields.SCALARS if f.stored and f.kind != fields.PERSON]


def commit(plans: list[Plan], user: User, now: dt.datetime, filename: str = "") -> list[int]:
    """Record every record in one transaction, audited; refuses a file with any error. The new records' ids.

    1. Look up the directory's agencies once.
    2. For each batch: the children already known (one statement), the new ones, the agreements, their
       links, actions, parties, distribution lists and reviews (one statement each).
    3. The batch's warning signs (one statement per warnings.CHUNK records), its quality checks in memory,
       its first versions and its audit events (one statement each).
    """
    if not plans or error_count(plans):
        raise ValueError("Only a file with no errors can be imported")
    created: list[int] = []
    with database.atomic(), settings.held():
        warning_hours = settings.get("undertaking_warning_hours")
        directory = {a.name.lower(): a for a in Agency.select().where(Agency.active == True)}  # noqa: E712
        for start in range(0, len(plans), BATCH):
            created += _batch(plans[start:start + BATCH], user, now, directory, warning_hours, filename)
        AuditEvent.insert(**_event("import_file", user, now, entity="import",
                                   changes={"file": [None, filename], "records": [None, len(created)]})).execute()
    return created


def _batch(plans: list[Plan], user: User, now: dt.datetime, directory: dict, warning_hours: int,
           filename: str) -> list[int]:
    today = clock.london_date(now)
    children = _children(plans, now)

    # The agreements, with every due moment worked out here: nothing is updated after.
    rows = [_agreement_row(plan, now, today, warning_hours) for plan in plans]
    ids = {ref: id_ for id_, ref in Rows.insert(Agreement, rows, (Agreement.id, Agreement.reference))}
    agreements = []
    for plan, row in zip(plans, rows, strict=True):
        agreement = Agreement(id=ids[plan.reference], **row)
        agreement.social_worker = plan.worker  # the worker already read: no look-up when a check names them
        agreement._dirty.clear()
        agreement._read_once = {"versions": [], "reports": [], "variation": None}
        agreements.append((plan, agreement))

    links = [{"agreement": a.id, "child": children[_child_key(c)].id, "position": n}
             for plan, a in agreements for n, c in enumerate(plan.children)]
    Rows.insert(AgreementChild, links)
    for plan, a in agreements:
        a._read_once["children"] = [children[_child_key(c)] for c in plan.children]

    _with_ids(Action, agreements, "actions", lambda plan: [
        {"what": x["what"], "who": x.get("who", ""), "side": x.get("side") or "family",
         "timescale": x.get("timescale", ""), "due_on": x.get("due_on")} for x in plan.actions])
    _with_ids(Party, agreements, "parties", lambda plan: [
        {"name": x["name"], "role": x.get("role", ""), "side": x.get("side", ""), "signed_on": x.get("signed_on")}
        for x in plan.parties])
    _with_ids(Recipient, agreements, "recipients", lambda plan: [
        _recipient_row(x, directory, plan, now) for x in plan.recipients])
    agencies = {agency.id: agency for agency in directory.values()}
    for _plan, a in agreements:
        for r in a._read_once["recipients"]:
            if r.agency_id:
                r.agency = agencies[r.agency_id]  # the directory's kind, for the health visiting check (R6)

    reviews = [{"agreement": a.id, "scheduled_at": plan.review_at, "venue": plan.review_venue.strip()[:300],
                "created_at": now, **drafting.review_moments(plan.review_at, already=now)}
               for plan, a in agreements if plan.kind == "partnership"]
    review_ids = dict(Rows.insert(Review, reviews, (Review.agreement, Review.id)))
    by_id = {a.id: a for _, a in agreements}
    for _plan, a in agreements:
        a._read_once["reviews"] = []
    for row in reviews:
        review = Review(id=review_ids[row["agreement"]], status="scheduled", **row)
        review._dirty.clear()
        by_id[row["agreement"]]._read_once["reviews"] = [review]

    # The checks read the lists filled above, and the warning signs the children's other records.
    signs = warnings.signs_for([a for _, a in agreements], now)
    versions_rows, events = [], []
    for plan, a in agreements:
        a._read_once["signs"] = signs[a.id]
        failing = quality.failing_checks(a, now)
        versions_rows.append({"agreement": a.id, "number": 1, "endorsed_by": None,
                              "snapshot": versions.to_json(versions.snapshot(a)), "endorsed_at": a.endorsed_at,
                              "override_reason": IMPORTED_ENDORSEMENT, "created_at": now})
        events.append(_event("imported", user, now, agreement=a.id, entity="agreement", entity_id=a.id, changes={
            "status": [None, "active"],
            "endorsement": [None, IMPORTED_ENDORSEMENT],
            "written_by": [None, plan.worker.name],
            "quality_checks": [None, "all pass" if not failing else "failing: " + ", ".join(ch.title for ch in failing)],
            "source": [None, f"{filename} row {plan.line}" + (
                f" (and rows {', '.join(str(n) for n in plan.lines[1:])})" if len(plan.lines) > 1 else "")],
        }))
    Rows.insert(AgreementVersion, versions_rows)
    Rows.insert(AuditEvent, events)
    return [a.id for _, a in agreements]


def _child_key(child: dict) -> tuple:
    return (child["name"], child["date_of_birth"])


def _children(plans: list[Plan], now: dt.datetime) -> dict[tuple, Child]:
    """The batch's children: a child already in the tracker by the same name and date of birth is the same row
    (one statement finds them all); the others are inserted in one statement."""
    wanted = {_child_key(c): c for plan in plans for c in plan.children}
    if not wanted:
        return {}
    names = sorted({name for name, _ in wanted})
    found: dict[tuple, Child] = {}
    for child in Child.select().where(Child.name.in_(names) & Child.date_of_birth.in_(sorted({b for _, b in wanted}))):
        key = (child.name, child.date_of_birth)
        if key in wanted and key not in found:
            found[key] = child
    new = [{"name": name, "date_of_birth": born, "created_at": now, "unborn": bool(c.get("unborn")),
            "normalised_name": identity.normalise_name(name)[:200], "person_id": c.get("person_id", "")[:40],
            "nhs_number": c.get("nhs_number", "")[:10]}
           for (name, born), c in wanted.items() if (name, born) not in found]
    if new:
        returned = Rows.insert(Child, new, (Child.id, Child.name, Child.date_of_birth))
        rows = {(row["name"], row["date_of_birth"]): row for row in new}
        for id_, name, born in returned:
            child = Child(id=id_, identity=0, **rows[(name, born)])
            child._dirty.clear()
            found[(name, born)] = child
    return found


def _agreement_row(plan: Plan, now: dt.datetime, today: dt.date, warning_hours: int) -> dict:
    endorsed_at = clock.from_london(plan.endorsed_on, NOON)
    issued_on = plan.issued_on or today
    row = {name: plan.values.get(name, _default(name)) for name in STORED}
    next_escalation_at = None
    if plan.kind == "undertaking":
        # The ladder from its imported end (R4): a past warning is not sent; a past end escalates once, now.
        ends = plan.window_ends_at
        next_escalation_at = rules.first_escalation_at(ends, warning_hours=warning_hours)
        if ends <= now:
            next_escalation_at = now
        elif next_escalation_at <= now:
            next_escalation_at = ends
    row.update(
        reference=plan.reference, kind=plan.kind, status="active", team=plan.worker.team_id,
        social_worker=plan.worker.id, created_by=plan.worker.id, created_at=now, updated_at=now,
        completed_on=plan.completed_on, purpose=plan.cells["purpose"], issued_on=issued_on,
        issued_at=clock.from_london(plan.issued_on, NOON) if plan.issued_on else now,
        submitted_at=endorsed_at, endorsed_by=None, endorsed_at=endorsed_at, endorsement_override=IMPORTED_ENDORSEMENT,
        imported_at=now, version=1, window_starts_at=plan.window_starts_at, window_ends_at=plan.window_ends_at,
        next_review_at=plan.review_at if plan.kind == "partnership" else None,
        next_escalation_at=next_escalation_at, escalation_level=0,
    )
    return row


def _recipient_row(x: dict, directory: dict, plan: Plan, now: dt.datetime) -> dict:
    agency = directory.get(x["agency_name"].lower())
    endorsed_at = clock.from_london(plan.endorsed_on, NOON)
    return {
        "agency": agency.id if agency else None, "name": (x.get("name") or x["agency_name"])[:200],
        "agency_name": x["agency_name"][:200],
        "agency_kind": x.get("agency_kind") or (agency.kind if agency else guess_kind(x["agency_name"])),
        "role": x.get("role", "")[:200],
        "email": x.get("email") or (agency.email if agency and agency.email else ""),
        "breach_contact": bool(x.get("breach_contact")),
        # The copy went out when it was made, and was acknowledged before the tracker (or on the day the sheet
        # says): nothing is chased for it.
        "copy_sent_at": endorsed_at,
        "acknowledged_at": clock.from_london(x["acknowledged_on"], NOON) if x.get("acknowledged_on") else now,
        "chase_at": None,
    }


def _with_ids(model, agreements: list[tuple[Plan, Agreement]], memo: str, rows_of) -> None:
    """Insert one row list of the whole batch in one statement; each record's list, with its new ids, into memory."""
    rows = []
    for plan, a in agreements:
        for position, row in enumerate(rows_of(plan)):
            rows.append({"agreement": a.id, "position": position, **row})
    ids = {}
    if rows:
        ids = {(agreement, position): id_ for id_, agreement, position
               in Rows.insert(model, rows, (model.id, model.agreement, model.position))}
    mine: dict[int, list] = {a.id: [] for _, a in agreements}
    for row in rows:
        instance = model(id=ids[(row["agreement"], row["position"])], **row)
        instance._dirty.clear()
        mine[row["agreement"]].append(instance)
    for _, a in agreements:
        a._read_once[memo] = mine[a.id]


def _event(action: str, user: User, now: dt.datetime, *, agreement: int | None = None, entity: str = "",
           entity_id: int | None = None, changes: dict) -> dict:
    """An audit event's row, as tracker.audit.record writes it."""
    return {"at": now, "user": user.id, "actor": user.name, "action": action, "agreement": agreement,
            "entity": entity, "entity_id": entity_id, "ip": "",
            "changes": json.dumps({k: [_plain(v[0]), _plain(v[1])] for k, v in changes.items()})}


def guess_kind(name: str) -> str:
    lowered = name.lower()
    for kind, word in (("school", "school"), ("nursery", "nursery"), ("gp", "surgery"), ("gp", " gp"), ("police", "police"),
                       ("housing", "housing"), ("health_visiting", "health visit")):
        if word in lowered:
            return kind
    return "other" if "other" in AGENCY_KINDS else next(iter(AGENCY_KINDS))

