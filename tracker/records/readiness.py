"""Review readiness: for the next review, where each agency stands (R3, R9)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import OP, Expression, fn

from tracker.models import AgencyReport, Agreement, Notification, Recipient, Review, live_recipients, reports_for
from tracker.prepared import Prepared

ASKING_KINDS = ("report_request", "report_prompt")


@dataclass
class Standing:
    recipient: Recipient
    acknowledged_at: dt.datetime | None
    report: AgencyReport | None
    asked_at: dt.datetime | None
    prompted_at: dt.datetime | None

    @property
    def state(self) -> str:
        if self.report is not None:
            return "nothing_to_share" if self.report.nothing_to_share else "reported"
        return "missing"

    @property
    def label(self) -> str:
        return {"reported": "Report sent", "nothing_to_share": "Nothing to share", "missing": "Missing"}[self.state]


# The first request and prompt to each address about the review (their keys start "review/<id>/").
_ASKED = Prepared(lambda p: (
    Notification.select(Notification.kind, Notification.to_address, fn.MIN(Notification.created_at))
    .where((Notification.agreement == p.agreement) & Notification.kind.in_(ASKING_KINDS)
           & Expression(Notification.key, OP.ILIKE, p.keys))
    .group_by(Notification.kind, Notification.to_address).tuples()))


def readiness(agreement: Agreement, review: Review | None) -> list[Standing]:
    """Every distribution entry's standing for `review` (on a record page, one query of its own)."""
    recipients = live_recipients(agreement)
    if not recipients:
        return []
    reports: dict[int, AgencyReport] = {}
    if review is not None:
        for report in reports_for(agreement, review):
            reports[report.recipient_id] = report  # the latest reply counts
    asked: dict[tuple[str, str], dt.datetime] = {}
    if review is not None:
        for kind, address, first in _ASKED.execute(agreement=agreement.id, keys=f"review/{review.id}/%"):
            asked[(kind, address)] = first
    return [
        Standing(r, r.acknowledged_at, reports.get(r.id), asked.get(("report_request", r.email)),
                 asked.get(("report_prompt", r.email)))
        for r in recipients
    ]
