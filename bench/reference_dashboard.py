"""The dashboard as it was built before issue 13: peewee model instances, a count
and a page query per table, SQL generated afresh every time.

Kept as the reference the fast dashboard (tracker.oversight.dashboard) must match byte
for byte: `make bench` and tests/oversight/test_performance.py render the page both ways
and compare. `swapped_in()` makes the dashboard view use this module.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

from peewee import JOIN, Case, fn

from tracker import settings
from tracker.models import (
    AgencyReport,
    Agreement,
    AgreementChild,
    Breach,
    Child,
    Notification,
    Recipient,
    Review,
    Team,
    User,
)
from tracker.notices import undeliverable as not_delivered
from tracker.oversight.dashboard import COLUMNS, OWN_PARTIALS, Filters, Table, overdue_by, time_left  # noqa: F401 - the view reads them from here
from tracker.people.access import visibility

PAGE_SIZE = 20


TABLES = {
    "endorsement_queue": "Waiting for your endorsement",
    "my_drafts": "Your drafts, records awaiting endorsement and records returned to you",
    "overdue_reviews": "Overdue reviews",
    "reviews_soon": "Reviews in the next 14 days",
    "undertakings": "Undertakings past their end or ending within 24 hours",
    "breaches": "Breaches awaiting acknowledgement",
    "missing_reports": "Agency reports missing for reviews in the next 7 days",
    "unacknowledged": "Copies not acknowledged",
    "not_issued": "Endorsed but the family's copy not yet issued",
    "undeliverable": "Emails and text messages that could not be delivered",
}


def keys_for(user: User) -> list[str]:
    """The tables a person sees: a manager's endorsement queue first, a worker's own drafts first."""
    if user.role == "front_door":
        return [k for k in TABLES if k not in ("endorsement_queue", "my_drafts", "not_issued")]
    if user.role == "social_worker":
        return [k for k in TABLES if k != "endorsement_queue"]
    return [k for k in TABLES if k != "my_drafts"]


def _narrowed(user: User, filters: Filters):
    """What the user may see, narrowed by the filters, whatever the status."""
    condition = visibility(user)
    if filters.team:
        condition &= Agreement.team == filters.team
    if filters.worker:
        condition &= Agreement.social_worker == filters.worker
    if filters.kind in ("partnership", "undertaking"):
        condition &= Agreement.kind == filters.kind
    return condition


def _listed(condition):
    worker = User.alias("worker")
    return (
        Agreement.select(Agreement.id, Agreement.reference, Agreement.kind, Agreement.status, Agreement.window_ends_at,
                         Agreement.awaiting_since, Agreement.variation_status, Agreement.returned_at,
                         Agreement.endorsed_at, Agreement.version, Agreement.updated_at, Agreement.social_worker,
                         worker.id, worker.name)
        .join(worker, JOIN.LEFT_OUTER, on=(Agreement.social_worker == worker.id))
        .where(condition)
    )


def endorsement_queue(user: User, filters: Filters, now: dt.datetime):
    """Records and variations waiting for endorsement: undertakings first, by the end of their window."""
    undertakings_first = Case(None, [(Agreement.kind == "undertaking", 0)], 1)
    return _listed(_narrowed(user, filters) & Agreement.awaiting_since.is_null(False)).order_by(
        undertakings_first, Agreement.window_ends_at, Agreement.awaiting_since, Agreement.id)


def my_drafts(user: User, filters: Filters, now: dt.datetime):
    """A worker's drafts, what waits for endorsement and what was returned, records and variations alike."""
    own = (Agreement.social_worker == user.id) | (Agreement.social_worker.is_null() & (Agreement.created_by == user.id))
    waiting = Agreement.status.in_(("draft", "awaiting_endorsement", "returned")) | (
        (Agreement.status == "active") & (Agreement.variation_status != ""))
    returned_first = Case(None, [((Agreement.status == "returned") | (Agreement.variation_status == "returned"), 0)], 1)
    return _listed(_narrowed(user, filters) & own & waiting).order_by(
        returned_first, Agreement.updated_at.desc(), Agreement.id)


def not_issued(user: User, filters: Filters, now: dt.datetime):
    """Active records endorsed more than the service's days ago whose family copy is not recorded as issued."""
    condition = scope(user, filters) & Agreement.issued_at.is_null() & (
        Agreement.endorsed_at <= now - dt.timedelta(days=settings.get("issue_within_days")))
    return _listed(condition).order_by(Agreement.endorsed_at, Agreement.id)


QUERIES = {"endorsement_queue": endorsement_queue, "my_drafts": my_drafts, "not_issued": not_issued}


def scope(user: User, filters: Filters):
    """The condition for active records the user may see, narrowed by the filters."""
    condition = visibility(user) & (Agreement.status == "active")
    if user.role == "social_worker":
        condition &= Agreement.social_worker == user.id
    if user.role == "front_door":
        # Its own work: records with no social worker, in every team.
        condition &= Agreement.social_worker.is_null()
    if filters.team:
        condition &= Agreement.team == filters.team
    if filters.worker:
        condition &= Agreement.social_worker == filters.worker
    if filters.kind in ("partnership", "undertaking"):
        condition &= Agreement.kind == filters.kind
    return condition


def _rows(user, filters, key: str, now: dt.datetime):
    """The query behind one table, most overdue first."""
    if key in QUERIES:
        return QUERIES[key](user, filters, now)
    visible = scope(user, filters)
    worker = User.alias("worker")
    # Only the columns the tables show: loading whole rows (41 columns, and the
    # worker's password hash) was most of the page's time.
    shown = (Agreement.id, Agreement.reference, Agreement.kind, Agreement.next_review_at, Agreement.window_ends_at,
             Agreement.social_worker, worker.id, worker.name)
    base = (
        Agreement.select(*shown)
        .join(worker, JOIN.LEFT_OUTER, on=(Agreement.social_worker == worker.id))
        .where(visible)
    )
    if key == "overdue_reviews":
        return base.where((Agreement.kind == "partnership") & (Agreement.next_review_at < now)).order_by(
            Agreement.next_review_at, Agreement.id)
    if key == "reviews_soon":
        return base.where((Agreement.kind == "partnership") & (Agreement.next_review_at >= now)
                          & (Agreement.next_review_at < now + dt.timedelta(days=14))).order_by(
            Agreement.next_review_at, Agreement.id)
    if key == "undertakings":
        return base.where((Agreement.kind == "undertaking")
                          & (Agreement.window_ends_at < now + dt.timedelta(hours=24))).order_by(
            Agreement.window_ends_at, Agreement.id)
    if key == "breaches":
        return (
            Breach.select(Breach.id, Breach.created_at, Breach.immediate_risk, Breach.description, Breach.agreement,
                          *shown)
            .join(Agreement)
            .join(worker, JOIN.LEFT_OUTER, on=(Agreement.social_worker == worker.id))
            .where(Breach.acknowledged_at.is_null() & visible)
            .order_by(Breach.created_at, Breach.id)
        )
    if key == "missing_reports":
        answered = AgencyReport.select(AgencyReport.id).where(
            (AgencyReport.review == Review.id) & (AgencyReport.recipient == Recipient.id))
        return (
            Recipient.select(Recipient.id, Recipient.name, Recipient.agency_name, Recipient.agreement,
                             Review.id, Review.scheduled_at, *shown)
            .join_from(Recipient, Review, on=(Review.agreement == Recipient.agreement), attr="review")
            .join_from(Recipient, Agreement, on=(Recipient.agreement == Agreement.id), attr="agreement")
            .join_from(Agreement, worker, JOIN.LEFT_OUTER, on=(Agreement.social_worker == worker.id), attr="social_worker")
            .where(visible & (Review.status == "scheduled") & (Review.scheduled_at >= now)
                   & (Review.scheduled_at < now + dt.timedelta(days=7)) & Recipient.removed_at.is_null()
                   & ~fn.EXISTS(answered))
            .order_by(Review.scheduled_at, Recipient.id)
        )
    if key == "unacknowledged":
        return (
            Recipient.select(Recipient.id, Recipient.name, Recipient.agency_name, Recipient.copy_sent_at,
                             Recipient.agreement, *shown)
            .join(Agreement, on=(Recipient.agreement == Agreement.id))
            .join(worker, JOIN.LEFT_OUTER, on=(Agreement.social_worker == worker.id))
            .where(visible & Recipient.copy_sent_at.is_null(False)
                   & Recipient.acknowledged_at.is_null() & Recipient.removed_at.is_null())
            .order_by(Recipient.copy_sent_at, Recipient.id)
        )
    if key == "undeliverable":
        return (
            Notification.select(Notification.id, Notification.kind, Notification.to_label, Notification.last_error,
                                Notification.created_at, Notification.agreement, *shown)
            .join(Agreement, on=(Notification.agreement == Agreement.id), attr="agreement")
            .join(worker, JOIN.LEFT_OUTER, on=(Agreement.social_worker == worker.id), attr="social_worker")
            .where((Notification.status == "failed") & visible)
            .order_by(Notification.created_at, Notification.id)
        )
    raise KeyError(key)


def agreement_of(row):
    """The agreement a dashboard row is about, whatever the table."""
    return row if isinstance(row, Agreement) else row.agreement


def children_names(agreement_ids: list[int], always: bool = False) -> dict[int, str]:
    """Children's names for many records in one query."""
    if not agreement_ids and not always:
        return {}
    names: dict[int, list[str]] = {}
    for agreement_id, name in (
        AgreementChild.select(AgreementChild.agreement, Child.name)
        .join(Child)
        .where(AgreementChild.agreement.in_(agreement_ids) & AgreementChild.removed_at.is_null())
        .order_by(AgreementChild.position)
        .tuples()
    ):
        names.setdefault(agreement_id, []).append(name)
    return {k: ", ".join(v) for k, v in names.items()}


def table(user: User, filters: Filters, key: str, now: dt.datetime, page: int = 1, everything: bool = False) -> Table:
    query = _rows(user, filters, key, now)
    count = query.count()
    pages = max(1, -(-count // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = list(query) if everything else list(query.paginate(page, PAGE_SIZE))
    if key == "undeliverable":
        for row in rows:
            row.words = not_delivered.words(row.to_label, row.kind, row.last_error)
    return Table(key, TABLES[key], count, rows, page, pages)


def tables(user: User, filters: Filters, now: dt.datetime, pages: dict[str, int] | None = None) -> list[Table]:
    pages = pages or {}
    return [table(user, filters, key, now, pages.get(key, 1)) for key in keys_for(user)]


def teams():
    return list(Team.select().order_by(Team.name))


def workers(user):
    found = User.select(User.id, User.name).where(User.role.in_(("social_worker", "team_manager")) & (User.active == True))  # noqa: E712
    if user.role != "service_manager":
        found = found.where(User.team == user.team_id)
    return list(found.order_by(User.name))


@contextmanager
def swapped_in():
    """The dashboard view renders with this module while inside."""
    import sys

    from tracker.web.views import home

    module = sys.modules[__name__]
    fast, home.dashboard = home.dashboard, module
    try:
        yield
    finally:
        home.dashboard = fast
