"""A confirmed import runs in the job runner behind a progress page; what it records counts as issued,
acknowledged, version 1 and the named worker's; and it costs statements a batch, not a row."""

from __future__ import annotations

import datetime as dt
import io

from jobs.imports import run_imports
from tests.conftest import NOW, record_row, sheet_csv
from tracker.db import database
from tracker.governance import import_writer, imports
from tracker.models import Agreement, AgreementVersion, AuditEvent, ImportJob, Recipient
from tracker.oversight import dashboard


def _rows(n: int, prefix: str = "R", **cells) -> list[dict]:
    return [record_row(f"{prefix}-{i}", child_name=f"Child {prefix} {i}", child_date_of_birth="01/01/2015",
                       agency_name="Riverside School", agency_email="dsl@school.example", **cells) for i in range(n)]


def _preview(client, data: bytes):
    response = client.post("/import/", data={"file": (io.BytesIO(data), "legacy.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True).split('name="token" value="')[1].split('"')[0]


def test_confirm_returns_at_once_and_the_progress_page_polls_until_the_runner_has_recorded_it(app, people, login):
    client = login(people.manager)
    token = _preview(client, sheet_csv(_rows(3)))
    answer = client.post("/import/confirm", data={"token": token})
    assert answer.status_code == 303
    where = answer.headers["Location"]
    assert Agreement.select().count() == 0

    waiting = client.get(where).get_data(as_text=True)
    assert "Waiting to start" in waiting
    assert 'hx-trigger="every 2s"' in waiting and f'data-hx-get="{where}"' in waiting
    assert f'href="{where}"' in waiting and "Check progress" in waiting  # without JavaScript
    fragment = client.get(where, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith("{#") is False and "<html" not in fragment and 'id="import-progress"' in fragment

    assert "may be stopped" not in waiting
    ImportJob.update(created_at=ImportJob.get().created_at - dt.timedelta(minutes=5)).execute()
    assert "the job runner has not started it: it may be stopped" in client.get(where).get_data(as_text=True)

    # The runner's pass, as `jobs tick` runs it.
    runner = app.test_cli_runner()
    result = runner.invoke(args=["jobs", "tick", "--at", "2026-11-23T09:00"])
    assert "imports: 1 run" in result.output, result.output
    done = client.get(where).get_data(as_text=True)
    assert "3 records imported from legacy.csv" in done and "hx-trigger" not in done
    assert ImportJob.get().data in (b"", memoryview(b"")) or bytes(ImportJob.get().data) == b""
    # Only the person who imported it sees its progress.
    assert login(people.admin).get(where).status_code == 404


def test_a_file_that_changed_since_its_preview_is_refused_by_the_runner_with_nothing_saved(app, people, login,
                                                                                        make_agreement):
    client = login(people.manager)
    token = _preview(client, sheet_csv(_rows(2)))
    where = client.post("/import/confirm", data={"token": token}).headers["Location"]
    taken = make_agreement(status="active")
    Agreement.update(reference="R-1").where(Agreement.id == taken.id).execute()  # taken meanwhile
    before = Agreement.select().count()
    assert run_imports(NOW) == 1
    page = client.get(where).get_data(as_text=True)
    assert "The import was refused" in page and "Duplicate reference: R-1 is already in the tracker" in page
    assert Agreement.select().count() == before


def test_imported_records_are_issued_acknowledged_version_one_and_the_named_workers(app, people):
    rows = _rows(4, agency_acknowledged_on="", issued_on="")
    rows[0].update(issued_on="01/11/2026", agency_acknowledged_on="02/11/2026")
    plans = imports.check(imports.read("x.csv", sheet_csv(rows)), people.manager, NOW)
    assert imports.error_count(plans) == 0, [p.errors for p in plans if p.errors]
    ids = imports.commit(plans, people.manager, NOW, filename="x.csv")

    for agreement in Agreement.select().where(Agreement.id.in_(ids)):
        assert agreement.version == 1
        assert agreement.created_by_id == people.worker.id and agreement.social_worker_id == people.worker.id
        assert agreement.issued_at is not None
        version = AgreementVersion.get(AgreementVersion.agreement == agreement)
        assert version.number == 1 and version.data()["purpose"] == agreement.purpose
        assert version.data()["recipients"][0]["id"] == Recipient.get(Recipient.agreement == agreement).id
    first = Agreement.get(Agreement.reference == "R-0")
    assert first.issued_on.isoformat() == "2026-11-01"
    assert Recipient.get(Recipient.agreement == first).acknowledged_at.date().isoformat() == "2026-11-02"
    assert Agreement.get(Agreement.reference == "R-1").issued_at == NOW
    assert {e.user_id for e in AuditEvent.select().where(AuditEvent.action == "imported")} == {people.manager.id}

    # Nothing the dashboard asks of a record made before the tracker: no copy to acknowledge, none to issue.
    for user in (people.manager, people.worker, people.head):
        counts = dashboard.counts(user, dashboard.Filters(), NOW)
        assert counts.get("unacknowledged", 0) == 0 and counts.get("not_issued", 0) == 0, (user.role, counts)


class Statements:
    def __init__(self):
        self.count = 0

    def __enter__(self):
        self.sqls = []
        target = database.obj
        original = target.execute_sql

        def counted(sql, params=None, *args, **kwargs):
            self.count += 1
            self.sqls.append(sql[:100])
            return original(sql, params, *args, **kwargs)

        target.execute_sql = counted
        return self

    def __exit__(self, *exc):
        del database.obj.execute_sql


def test_recording_costs_statements_a_batch_not_a_row(app, people, monkeypatch):
    monkeypatch.setattr(import_writer, "BATCH", 20)
    rows = _rows(200, party_name="Jane Doe", party_role="mother")
    plans = imports.check(imports.read("x.csv", sheet_csv(rows)), people.manager, NOW)
    with Statements() as one_batch:
        imports.commit(plans[:20], people.manager, NOW)
    with Statements() as nine_batches:
        imports.commit(plans[20:], people.manager, NOW)
    # The settings and the directory once; then a fixed number a batch (children found and inserted, agreements,
    # links, actions, parties, copies, reviews, warning signs, versions, audit), whatever the rows in it.
    assert one_batch.count <= 24, one_batch.sqls
    assert nine_batches.count - one_batch.count <= 8 * 12, (nine_batches.count, one_batch.count)
