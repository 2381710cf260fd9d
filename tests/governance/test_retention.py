"""Retention review (issue 14, item 4): records past their date are listed; nothing goes without a decision."""

from __future__ import annotations

import datetime as dt

from tests.conftest import NOW
from tracker.governance import retention
from tracker.models import Agreement, AuditEvent, Child, Notification, RetentionDecision, Review, Tombstone


def test_default_is_the_youngest_childs_25th_birthday(app, people, make_agreement):
    old = make_agreement(status="ended", children=[{"name": "Amy Old", "date_of_birth": dt.date(1990, 3, 1)},
                                                   {"name": "Ben Young", "date_of_birth": dt.date(2000, 6, 2)}])
    young = make_agreement(status="ended")  # Ella, born 2019
    active = make_agreement(status="active", children=[{"name": "Cal Old", "date_of_birth": dt.date(1995, 1, 1)}])
    lines = retention.monthly_review(NOW)
    assert Agreement.get_by_id(old.id).retention_due_on == dt.date(2025, 6, 2)
    assert Agreement.get_by_id(young.id).retention_due_on == dt.date(2044, 5, 4)
    assert Agreement.get_by_id(active.id).retention_due_on is None
    assert [line.split(" ")[0] for line in lines] == [old.reference]
    # The managers responsible are sent the list, once a month.
    sent = {n.to_address: n for n in Notification.select().where(Notification.kind == "retention_review")}
    assert set(sent) == {people.manager.email, people.head.email}
    assert old.reference in sent[people.head.email].body_text and young.reference not in sent[people.head.email].body_text
    retention.monthly_review(NOW + dt.timedelta(days=1))
    assert Notification.select().where(Notification.kind == "retention_review").count() == 2


def test_nothing_is_destroyed_without_confirmation_then_a_tombstone_is_left(app, people, login, make_agreement):
    record = make_agreement(status="ended", children=[{"name": "Amy Old", "date_of_birth": dt.date(1990, 3, 1)}])
    keep = make_agreement(status="ended", children=[{"name": "Dan Old", "date_of_birth": dt.date(1991, 3, 1)}])
    assert login(people.worker).get("/retention/").status_code == 403
    client = login(people.manager)
    page = client.get("/retention/").get_data(as_text=True)
    assert record.reference in page and keep.reference in page

    # No decision, no reason, or no typed confirmation: a 400 and nothing gone.
    assert client.post(f"/retention/{record.id}", data={}).status_code == 400
    response = client.post(f"/retention/{record.id}", data={"decision": "destroy", "reason": "Policy 4.2"})
    assert response.status_code == 400 and "Type the reference" in response.get_data(as_text=True)
    assert "Policy 4.2" in response.get_data(as_text=True)  # what was typed is kept
    assert Agreement.get_or_none(Agreement.id == record.id) is not None

    response = client.post(f"/retention/{keep.id}", data={"decision": "keep", "reason": "A court case is open"})
    assert response.status_code == 302
    assert Agreement.get_by_id(keep.id).retention_due_on > dt.date(2027, 11, 1)  # asked again in a year
    assert RetentionDecision.get(RetentionDecision.reference == keep.reference).reason == "A court case is open"

    response = client.post(f"/retention/{record.id}", data={"decision": "destroy", "reason": "Retention policy 4.2",
                                                            "confirm": record.reference})
    assert response.status_code == 302
    assert Agreement.get_or_none(Agreement.id == record.id) is None
    assert Child.get_or_none(Child.name == "Amy Old") is None
    assert Review.select().where(Review.agreement == record.id).count() == 0
    assert Notification.select().where(Notification.agreement == record.id).count() == 0
    assert AuditEvent.select().where(AuditEvent.agreement == record.id).count() == 0
    tombstone = Tombstone.get(Tombstone.reference == record.reference)
    assert tombstone.reason == "Retention policy 4.2" and tombstone.destroyed_by_id == people.manager.id
    assert AuditEvent.select().where(AuditEvent.action == "record_destroyed").count() == 1
    page = client.get("/retention/").get_data(as_text=True)
    assert record.reference in page and "Retention policy 4.2" in page and "A court case is open" in page
    assert Agreement.get_or_none(Agreement.id == keep.id) is not None
    # Another team's manager cannot see or decide this team's records.
    assert login(people.other_manager).get(f"/retention/{keep.id}").status_code == 404


def test_destruction_leaves_the_childs_name_in_no_audit_row(app, people, login, make_agreement):
    from tracker.models import Child as ChildRow

    record = make_agreement(status="ended", children=[{"name": "Amy Old", "date_of_birth": dt.date(1990, 3, 1)}])
    child = ChildRow.get(ChildRow.name == "Amy Old")
    client = login(people.head)
    assert client.get(f"/subject-access/preview?child={child.id}").status_code == 200
    assert AuditEvent.select().where(AuditEvent.changes.contains("Amy Old")).count() >= 1
    retention.monthly_review(NOW)
    retention.destroy(Agreement.get_by_id(record.id), people.manager, "Policy 4.2", NOW)
    assert AuditEvent.select().where(AuditEvent.changes.contains("Amy Old")).count() == 0
    assert AuditEvent.select().where(AuditEvent.changes.contains("01 March 1990")).count() == 0
    assert AuditEvent.select().where(AuditEvent.action == "subject_access_preview").count() == 1  # the event stays


def test_changing_the_retention_age_re_dates_records_already_dated(app, people, login, make_agreement):
    record = make_agreement(status="ended")  # Ella, born 4 May 2019
    retention.monthly_review(NOW)
    assert Agreement.get_by_id(record.id).retention_due_on == dt.date(2044, 5, 4)
    response = login(people.admin).post("/admin/settings", data={"retention_until_age": "30"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert Agreement.get_by_id(record.id).retention_due_on == dt.date(2049, 5, 4)


def test_sqlite_overwrites_deleted_rows(app):
    from tracker.db import database

    if not app.config["DATABASE_URL"].startswith("sqlite"):
        return  # PostgreSQL: VACUUM (docs/running.md)
    assert database.execute_sql("PRAGMA secure_delete").fetchone()[0] == 1


def test_an_upload_waits_in_the_instance_folder_readable_by_the_owner_only_for_a_day(app, tmp_path):
    import os
    import time

    from tracker.governance import imports

    folder = tmp_path / "imports"
    imports.keep_upload(folder, "old.csv", b"x", NOW)
    old = time.time() - 2 * 86400
    os.utime(folder / "old.csv", (old, old))
    imports.keep_upload(folder, "new.csv", b"y", dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
    assert not (folder / "old.csv").exists()
    assert (folder / "new.csv").stat().st_mode & 0o777 == 0o600
    assert "static" not in str(app.instance_path).split(os.sep)
