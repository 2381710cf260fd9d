"""Issue 13's performance work meets issue 9's versions and agency links: a change
to a record never reads its lists from the read-once memo made before it, and a
sweep's batched insert records the agency link an email carries."""

from __future__ import annotations

import datetime as dt

import pytest

from jobs import sweeps
from tests.conftest import NOW
from tracker import models
from tracker.models import Agreement, Notification, Recipient
from tracker.records import drafting, versions

NEW_ACTION = "Sarah may leave the children with Mark for up to an hour"


@pytest.fixture
def database_url(tmp_path):
    return f"sqlite:///{tmp_path / 'test.db'}"


def test_endorsing_a_variation_reads_the_record_afresh_after_read_once(app, people, make_agreement):
    agreement = make_agreement(status="active")
    data = drafting.form_data(Agreement.get_by_id(agreement.id))
    data["actions"][0]["what"] = NEW_ACTION
    versions.save_variation(Agreement.get_by_id(agreement.id), data, people.worker, NOW)
    versions.submit_variation(Agreement.get_by_id(agreement.id), people.worker, NOW)
    Recipient.update(acknowledged_at=NOW).where(Recipient.agreement == agreement).execute()

    # A page marked the record read-only and read its lists; then, in the same request, it changes.
    record = models.read_once(Agreement.get_by_id(agreement.id))
    assert models.live_actions(record)[0].what != NEW_ACTION
    assert models.in_progress(record) is not None
    versions.endorse_variation(record, people.head, NOW)

    assert models.live_actions(record)[0].what == NEW_ACTION  # not the list read before the change
    assert models.in_progress(record) is None
    assert Agreement.get_by_id(agreement.id).version == 2


def test_a_swept_chase_names_the_entry_and_link_version_it_carries(app, people, make_agreement):
    agreement = make_agreement(status="active")
    school = Recipient.get(Recipient.agreement == agreement)
    assert sweeps.copy_chases(NOW + dt.timedelta(days=6)) == 1  # written by the batch's insert_many
    chase = Notification.get(Notification.kind == "copy_chase")
    assert (chase.recipient_id, chase.link_version) == (school.id, school.link_version)
    # The copy itself was queued in the request, one insert: the same columns.
    copy = Notification.get(Notification.kind == "copy_issued")
    assert (copy.recipient_id, copy.link_version) == (school.id, school.link_version)
