"""The versions table and the optimistic revision check, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from tests.conftest import NOW
from tracker import models
from tracker.models import Agreement, AgreementVersion
from tracker.records import drafting, lifecycle, versions


def fresh(agreement):
    return Agreement.get_by_id(agreement.id)


def test_first_endorsement_is_version_1_with_its_snapshot(app, people, make_agreement):
    agreement = make_agreement(status="active")
    assert agreement.version == 1
    [version] = AgreementVersion.select().where(AgreementVersion.agreement == agreement)
    data = version.data()
    assert version.number == 1 and version.endorsed_by_id == people.manager.id
    assert data["purpose"] == agreement.purpose and data["endorsed_by"] == "Maria Manager"
    assert data["actions"][0]["what"] == "Ms Murphy will take Ella to nursery every weekday."


def test_a_stale_revision_changes_nothing(app, people, make_agreement):
    agreement = make_agreement(status="active")
    opened = agreement.revision
    lifecycle.end(agreement, people.manager, NOW, "reviewed_closed", revision=opened)
    with pytest.raises(models.Stale):
        lifecycle.end(agreement, people.manager, NOW, "replaced", revision=opened)
    assert fresh(agreement).end_reason == "reviewed_closed"


def test_versions_snapshot_is_json_of_the_whole_record(app, people, make_agreement):
    agreement = make_agreement(status="active")
    version = AgreementVersion.get(AgreementVersion.agreement == agreement)
    data = json.loads(version.snapshot)
    assert {"children", "actions", "parties", "recipients", "review_at", "endorsed_at", "version"} <= set(data)


def test_of_two_saves_opened_on_one_revision_only_the_first_lands(app, people, make_agreement):
    agreement = make_agreement()
    opened = agreement.revision
    data = drafting.form_data(agreement)
    drafting.save(agreement, "partnership", {**data, "purpose": "First"}, people.worker, NOW, revision=opened)
    with pytest.raises(models.Stale):
        drafting.save(agreement, "partnership", {**data, "purpose": "Second", "actions": data["actions"][:1]},
                     people.colleague, NOW, revision=opened)
    record = fresh(agreement)
    assert record.purpose == "First" and len(models.live_actions(record)) == 2
    assert record.revision == opened + 1


def test_an_endorsed_variation_is_version_2(app, people, make_agreement):
    agreement = make_agreement(status="active")
    data = drafting.form_data(agreement)
    data["purpose"] = "A new purpose agreed at the review."
    versions.save_variation(agreement, data, people.worker, NOW)
    assert fresh(agreement).purpose != data["purpose"]
    versions.submit_variation(fresh(agreement), people.worker, NOW)
    lifecycle.endorse(fresh(agreement), people.manager, NOW, "test")
    rows = list(AgreementVersion.select().where(AgreementVersion.agreement == agreement).order_by(AgreementVersion.number))
    assert [r.number for r in rows] == [1, 2] and fresh(agreement).purpose == data["purpose"]
    [entry] = versions.history(fresh(agreement))[:1]
    assert entry["changes"][0].startswith("Purpose: '")
