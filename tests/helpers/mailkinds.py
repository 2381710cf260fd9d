"""Every kind of email the service sends, queued from one caseload; and the same at the longest
values a service realistically has (names at their form limits). Reached through the
`every_kind` and `every_kind_at_length` fixtures of tests/conftest.py."""

from __future__ import annotations

import datetime as dt

from jobs import sweeps
from tests.conftest import NOW
from tracker import settings
from tracker.models import Agreement, Breach, Notification, Team, User
from tracker.notices import mailings
from tracker.records import lifecycle, versions

REVIEW = dt.datetime(2027, 1, 15, 10, 0)
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
LONG_NAME = "Bartholomew-Fitzwilliam Montgomery-Smythe"


def every_kind(make_agreement) -> list[Notification]:
    agreement = make_agreement(status="active")
    undertaking = make_agreement(kind="undertaking", status="active")
    breach = Breach.create(agreement=agreement, occurred_at=NOW, description="Ella Murphy was left alone.",
                           reported_by="Jo Bloggs", immediate_risk=True, created_at=NOW, escalate_at=NOW + DAY)
    mailings.breach_alert(breach, NOW)
    # The family's own link (R20), a call back it asks for; the unread notice comes from the sweeps below.
    from tracker.family import links
    from tracker.models import Party

    mother = Party.get(Party.agreement == agreement.id)
    access, _code = links.send_link(agreement, mother, agreement.social_worker, NOW, channel="email",
                                    address="parent@home.example")
    links.ask_call_back(access, agreement, "Please call after 3pm.", NOW)
    sweeps.breach_escalations(NOW + DAY)
    sweeps.copy_chases(NOW + 5 * DAY)
    for moment in (undertaking.window_ends_at - 2 * HOUR, undertaking.window_ends_at + 4 * HOUR):
        sweeps.undertaking_ladder(moment)
    sweeps.digests(dt.datetime(2026, 11, 26, 8, 0))
    for moment in (REVIEW - 10 * DAY, REVIEW - 7 * DAY, REVIEW - 3 * DAY, REVIEW + DAY):
        sweeps.run_sweeps(moment)
    return list(Notification.select())

def _longest_values(people) -> None:
    """The longest values a service realistically has: names at their form limits."""
    settings.put("council_name", "Royal Borough of Kensington and Chelsea and Westminster City Council")
    settings.put("service_name", "Children's Social Care and Early Help Service")
    Team.update(name="North Locality Safeguarding and Family Support Team").where(Team.id == people.north.id).execute()
    User.update(name=LONG_NAME).where(User.id.in_([people.worker.id, people.manager.id])).execute()


def every_kind_at_length(people, make_agreement) -> list[Notification]:
    _longest_values(people)
    every_kind(make_agreement)
    draft = make_agreement(kind="undertaking", status="awaiting_endorsement")
    versions.return_to_worker(Agreement.get_by_id(draft.id), people.manager, NOW, "Please add " * 40)
    waiting = make_agreement(kind="undertaking", status="awaiting_endorsement")
    mailings.endorsement_escalation(Agreement.get_by_id(waiting.id), NOW + dt.timedelta(hours=3))
    ended = make_agreement(status="active")
    lifecycle.end(Agreement.get_by_id(ended.id), people.manager, NOW, "reviewed_closed")
    return list(Notification.select())
