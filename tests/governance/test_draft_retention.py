"""Drafts of records never created hold a child's details with no record to keep them by: the retention review clears them."""

from __future__ import annotations

import datetime as dt

from tests.conftest import NOW
from tracker import settings
from tracker.governance import retention
from tracker.models import AuditEvent, FormDraft
from tracker.records import form_drafts

NEW = "/agreements/new?kind=partnership"
TYPED = [("children-0-name", "Zara Quinn"), ("purpose", "To keep Zara safe")]


def _draft(user, days_ago: int, path: str = NEW, agreement_id: int | None = None) -> FormDraft:
    return form_drafts.keep(user.id, path, TYPED, NOW - dt.timedelta(days=days_ago), agreement_id=agreement_id)


def test_only_the_retention_review_clears_drafts_of_records_never_created(app, people, login, make_agreement):
    record = make_agreement()
    abandoned = _draft(people.worker, 31)
    recent = _draft(people.colleague, 5)
    of_a_record = _draft(people.worker, 400, f"/agreements/{record.id}/edit", agreement_id=record.id)
    saved = _draft(people.colleague, 40, "/agreements/new?kind=undertaking")
    form_drafts.use(people.colleague.id, "/agreements/new?kind=undertaking", NOW - dt.timedelta(days=40))

    # The retention page says what waits; looking at it deletes nothing.
    page = login(people.manager).get("/retention/").get_data(as_text=True)
    assert "Drafts of records never created" in page and "2 drafts are waiting for the next review" in page
    assert FormDraft.select().count() == 4

    lines = retention.monthly_review(NOW)
    assert "2 draft(s) of records never created cleared" in lines
    left = {d.id for d in FormDraft.select()}
    assert left == {recent.id, of_a_record.id}  # a record's drafts go with the record, at its own retention
    [event] = AuditEvent.select().where(AuditEvent.action == "drafts_cleared")
    assert event.entity == "form_draft" and event.actor == "retention review"
    assert sorted(event.changes_dict()["ids"][0]) == sorted([abandoned.id, saved.id])
    assert "Zara" not in event.changes  # the event says how many and whose, never what was typed

    # Run again: nothing more to clear, no second event.
    retention.monthly_review(NOW + dt.timedelta(days=1))
    assert AuditEvent.select().where(AuditEvent.action == "drafts_cleared").count() == 1


def test_how_long_an_untouched_draft_is_kept_is_a_service_setting(app, people):
    recent = _draft(people.worker, 5)
    settings.put("draft_keep_days", "3")
    retention.monthly_review(NOW)
    assert not FormDraft.select().where(FormDraft.id == recent.id).exists()


def test_a_draft_typed_further_is_not_abandoned(app, people):
    _draft(people.worker, 31)
    _draft(people.worker, 1)  # the same form typed further: the same row, saved again
    retention.monthly_review(NOW)
    assert FormDraft.select().count() == 1
