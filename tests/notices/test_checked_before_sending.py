"""Every queued email is checked against its record's current state just before it is sent (R18)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from jobs import sweeps
from jobs.delivery import deliver_pending
from tests.conftest import NOW
from tracker.models import Agreement, Notification
from tracker.notices.mailings import STILL_WANTED_AFTER_END
from tracker.records import lifecycle, versions

KINDS = sorted(p.name.removesuffix(".subject.txt") for p in
               (Path(__file__).resolve().parents[2] / "templates" / "email").glob("*.subject.txt"))
ABOUT_A_TEAM = {"digest", "retention_review"}  # not about one record
ABOUT_AN_ACCOUNT = {"access_granted"}  # a reading role given: about a user, never a record


def test_no_kind_is_sent_for_a_record_that_has_ended(people, make_agreement, every_kind_at_length):
    every_kind_at_length(people, make_agreement)
    closure = make_agreement(kind="undertaking", undertaking_kind="closure", closure_weeks="2", window_ends_at=None,
                             status="active")
    sweeps.undertaking_ladder(closure.window_ends_at - dt.timedelta(days=6))
    sweeps.undertaking_ladder(closure.window_ends_at + dt.timedelta(hours=1))
    Notification.update(status="pending").where(Notification.status == "cancelled").execute()
    queued = {row.kind for row in Notification.select().where(Notification.agreement.is_null(False))}
    missing = set(KINDS) - queued - ABOUT_A_TEAM - ABOUT_AN_ACCOUNT - set(STILL_WANTED_AFTER_END) - {"agency_link"}
    assert not missing, f"every kind is queued by the test: add {missing}"
    for agreement in Agreement.select():
        if agreement.status == "active":
            lifecycle.end(agreement, people.manager, NOW, "replaced")
        else:  # a draft or one waiting for endorsement, withdrawn
            Agreement.update(status="ended", awaiting_since=None).where(Agreement.id == agreement.id).execute()
    deliver_pending(max(row.next_attempt_at for row in Notification.select()), limit=1000)
    for row in Notification.select().where(Notification.agreement.is_null(False)):
        if row.kind in STILL_WANTED_AFTER_END:
            continue
        assert row.status == "cancelled", (row.kind, row.status)
        assert row.last_error.startswith("Not sent"), (row.kind, row.last_error)


@pytest.mark.parametrize("then", ["endorsed", "returned"])
def test_an_endorsement_request_is_not_sent_once_the_record_is_endorsed_or_returned(then, people, make_agreement):
    draft = make_agreement(kind="undertaking", status="awaiting_endorsement")
    agreement = Agreement.get_by_id(draft.id)
    if then == "endorsed":
        lifecycle.endorse(agreement, people.manager, NOW, override="test")
    else:
        versions.return_to_worker(agreement, people.manager, NOW, "Please add the times.")
    deliver_pending(NOW)
    [request] = Notification.select().where(Notification.kind == "endorsement_requested")
    assert request.status == "cancelled" and "endorsed or returned" in request.last_error
