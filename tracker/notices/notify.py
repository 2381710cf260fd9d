"""The outbox: enqueue (idempotent on a key), render, and deliver by the job runner.

A notification is written in the same transaction as the change that causes
it, one row per recipient address, so a partly refused list is recorded per
recipient. Delivery lives in `jobs.delivery`; web requests never send mail.
"""

from __future__ import annotations

import contextvars
import datetime as dt
from contextlib import contextmanager

from flask import current_app, render_template

from tracker.clock import utcnow
from tracker.models import Agreement, AgreementChild, Child, Notification, Recipient, children_of
from tracker.prepared import Prepared
from tracker.settings import contacts

# Set while a sweep collects its emails (see `collecting`).
_outbox: contextvars.ContextVar[Outbox | None] = contextvars.ContextVar("outbox", default=None)
# Set for the length of a sweep: each record's initials read once (see `initials_once`).
_initials: contextvars.ContextVar[dict | None] = contextvars.ContextVar("initials", default=None)


def initials(agreement: Agreement) -> str:
    """The children's initials, for emails: never a full name with a date of birth."""
    known = _initials.get()
    if known is not None and agreement.id in known:
        return known[agreement.id]
    found = ", ".join(child.initials() for child in children_of(agreement)) or "-"
    if known is not None:
        known[agreement.id] = found
    return found


@contextmanager
def initials_once(agreement_ids=()):
    """For a sweep: initials read in one query for `agreement_ids`, and once for any other."""
    known: dict[int, str] = {}
    ids = list(dict.fromkeys(agreement_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        parts: dict[int, list[str]] = {i: [] for i in chunk}
        rows = (AgreementChild.select(AgreementChild.agreement, Child.name).join(Child)
                .where(AgreementChild.agreement.in_(chunk) & AgreementChild.removed_at.is_null())
                .order_by(AgreementChild.agreement, AgreementChild.position).tuples())
        for agreement_id, name in rows:
            parts[agreement_id].append(Child(name=name).initials())
        known.update({i: ", ".join(p) or "-" for i, p in parts.items()})
    outer = _initials.get()
    token = _initials.set({**(outer or {}), **known})
    try:
        yield
    finally:
        _initials.reset(token)


class Outbox:
    """The emails a batch of a sweep queues, written together by `flush`.

    Instead of a look-up and an insert per email: one look-up of which keys
    exist, each template rendered once per distinct context (the same text to
    the worker and both managers), and one insert_many ... ON CONFLICT DO
    NOTHING on the unique key, which still decides between two runners.
    """

    def __init__(self):
        self.pending: list[dict] = []

    def add(self, row: dict, context: dict) -> None:
        self.pending.append({"row": row, "context": context})

    def flush(self) -> int:
        pending, self.pending = self.pending, []
        if not pending:
            return 0
        keys = [p["row"]["key"] for p in pending]
        existing = {k for (k,) in Notification.select(Notification.key).where(Notification.key.in_(keys)).tuples()}
        rendered: dict[tuple, tuple[str, str, str]] = {}
        base = _base_context()
        rows, seen = [], set()
        for item in pending:
            row = item["row"]
            if row["key"] in existing or row["key"] in seen:
                continue
            seen.add(row["key"])
            context = item["context"]
            same = (row["kind"], tuple(sorted((k, _identity(v)) for k, v in context.items())))
            if same not in rendered:
                rendered[same] = _render(row["kind"], context, base)
            subject, body_text, body_html = rendered[same]
            rows.append({**row, "subject": subject[:300], "body_text": body_text, "body_html": body_html})
        if not rows:
            return 0
        return sum(_insert(rows[i:i + INSERT_ROWS]) for i in range(0, len(rows), INSERT_ROWS))


INSERT_ROWS = 50
_COLUMNS = ("key", "kind", "agreement", "to_address", "to_label", "subject", "body_text", "body_html", "ics",
            "status", "next_attempt_at", "created_at")
_LINK_COLUMNS = ("recipient", "link_version")  # an email carrying an agency's link (`link_for`)


def _insert_many(p, size: int, links: bool):
    columns = _COLUMNS + _LINK_COLUMNS if links else _COLUMNS
    rows = [{column: getattr(p, f"{column}{i}") for column in columns} for i in range(size)]
    return Notification.insert_many(rows).on_conflict_ignore().as_rowcount()


_INSERT = None


def _insert(rows: list[dict]) -> int:
    """insert_many ... ON CONFLICT DO NOTHING on the unique key; its SQL made once per row count.

    Rows are written in their order, in runs of the same kind: with or without
    an agency's link (its entry and link version), or without a record.
    """
    inserted, run = 0, []
    for row in rows:
        if run and _run_kind(run[0]) != _run_kind(row):
            inserted += _insert_run(run)
            run = []
        run.append(row)
    return inserted + (_insert_run(run) if run else 0)


def _run_kind(row: dict) -> str:
    if row["agreement"] is None or (row["recipient"] is None) != (row["link_version"] is None):
        return "plain"  # a None the prepared statement cannot stand in for
    return "link" if row["recipient"] is not None else "mail"


def _insert_run(rows: list[dict]) -> int:
    global _INSERT
    kind = _run_kind(rows[0])
    if kind == "plain":
        return Notification.insert_many(rows).on_conflict_ignore().as_rowcount().execute()
    if _INSERT is None:
        _INSERT = Prepared(_insert_many)
    columns = _COLUMNS + _LINK_COLUMNS if kind == "link" else _COLUMNS
    values = {f"{column}{i}": row[column] for i, row in enumerate(rows) for column in columns}
    return _INSERT.rowcount((len(rows), kind == "link"), **values)


def _identity(value):
    """What makes two contexts the same: equal plain values, or the very same object."""
    if value is None or isinstance(value, (str, int, float, bool, dt.date)):
        return (0, value)
    return (1, id(value))


def _base_context() -> dict:
    """What Flask's render_template adds to every template's context (its context
    processors, `config`, `g`), worked out once for a batch of emails."""
    context: dict = {}
    current_app.update_template_context(context)
    return context


def _render(kind: str, context: dict, base: dict | None = None) -> tuple[str, str, str]:
    """The three templates, as render_template would give them; a batch passes the
    context processors' values (`base`) once instead of having them run three
    times an email."""
    if base is None:
        return _render_each(kind, context)
    values = {**base, **context}  # the caller's values win, as in render_template
    env = current_app.jinja_env

    def each(name: str) -> str:
        return env.get_template(name).render(values)

    # A subject is one line: a name with a line break in it (from before names
    # were checked) must not make the message unsendable.
    subject = " ".join(each(f"email/{kind}.subject.txt").split())
    return subject[:300], each(f"email/{kind}.txt"), each(f"email/{kind}.html")


def _render_each(kind: str, context: dict) -> tuple[str, str, str]:
    subject = " ".join(render_template(f"email/{kind}.subject.txt", **context).split())
    return subject[:300], render_template(f"email/{kind}.txt", **context), render_template(f"email/{kind}.html", **context)


@contextmanager
def collecting():
    """Within, `enqueue` collects (and returns 0); the caller writes them with `outbox.flush()`."""
    box = Outbox()
    token = _outbox.set(box)
    try:
        yield box
    finally:
        _outbox.reset(token)


def _context(context: dict | None, agreement: Agreement | None) -> dict:
    """What every email's templates may read, besides the caller's own."""
    context = dict(context or {})
    context.setdefault("agreement", agreement)
    context.setdefault("base_url", current_app.config["BASE_URL"])
    # Whom to call, with the numbers: every email that says to contact the
    # front door or the out-of-hours team gives them.
    context.setdefault("contacts", contacts())
    # Emails are signed by the council's service (Administration -> Service settings).
    context.setdefault("service", context["contacts"])
    if agreement is not None:
        context.setdefault("initials", initials(agreement))
        context.setdefault("record_url", f"{current_app.config['BASE_URL']}/agreements/{agreement.id}")
    return context


def render(kind: str, context: dict | None, agreement: Agreement | None) -> tuple[str, str, str]:
    """An email's subject, text and HTML bodies from its three templates."""
    return _render(kind, _context(context, agreement))


def enqueue(
    key: str,
    kind: str,
    to_address: str,
    *,
    agreement: Agreement | None = None,
    to_label: str = "",
    context: dict | None = None,
    ics: str = "",
    now: dt.datetime | None = None,
    link_for: Recipient | None = None,
) -> bool:
    """Queue one email; returns False when a message with this key already exists.

    Insert-or-ignore on the unique key is what makes every sweep safe to run
    twice, or on two runners at once: the second insert does nothing. An email
    that carries an agency's link names its entry (`link_for`), so the link is
    checked again just before sending.
    """
    now = now or utcnow()
    key = key[:255]
    box = _outbox.get()
    # The sweeps offer the same due work every minute until its moment passes;
    # looking the key up first (an indexed read) spares rendering three
    # templates each time. The insert below still decides, so two runners
    # racing past this check still make one row.
    if box is None and Notification.select(Notification.id).where(Notification.key == key).exists():
        return False
    context = _context(context, agreement)
    if box is not None:
        box.add({"key": key, "kind": kind, "agreement": agreement.id if agreement is not None else None,
                 "to_address": to_address, "to_label": to_label, "ics": ics, "status": "pending",
                 "next_attempt_at": now, "created_at": now,
                 # The link's entry and version as they are now, as the single insert below writes them.
                 "recipient": link_for.id if link_for is not None else None,
                 "link_version": link_for.link_version if link_for is not None else None}, context)
        return False
    subject, body_text, body_html = _render(kind, context)
    inserted = (
        Notification.insert(
            key=key,
            kind=kind,
            agreement=agreement,
            to_address=to_address,
            to_label=to_label,
            subject=subject,
            body_text=body_text,
            body_html=body_html,
            ics=ics,
            status="pending",
            next_attempt_at=now,
            created_at=now,
            recipient=link_for.id if link_for is not None else None,
            link_version=link_for.link_version if link_for is not None else None,
        )
        .on_conflict_ignore()
        .as_rowcount()
        .execute()
    )
    return bool(inserted)
