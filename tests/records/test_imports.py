"""Importing the service's spreadsheet (issue 14, item 2): template, preview with errors, one confirmed transaction."""

from __future__ import annotations

import csv
import datetime as dt
import io

from openpyxl import Workbook, load_workbook

from jobs.imports import run_imports
from jobs.sweeps import run_sweeps
from tests.conftest import NOW
from tracker.governance import imports
from tracker.models import Agreement, AuditEvent, Notification, Review

HEADER = imports.NAMES


def row(reference: str, worker: str = "worker@council.example", **overrides) -> dict:
    data = {
        "reference": reference, "kind": "partnership", "social_worker_email": worker,
        "child_name": f"Child {reference}", "child_date_of_birth": "04/05/2019", "completed_on": "20/10/2026",
        "endorsed_on": "21/10/2026", "purpose": "To keep the child safe at home.",
        "actions": "Mother will take the child to nursery; Social worker will visit every two weeks",
        "family_members": "Jane Doe (mother)", "next_review_date": "15/01/2027", "next_review_time": "10:00",
        "review_venue": "Family centre", "agency_name": "Riverside Primary School", "agency_contact": "Jo Bloggs",
        "agency_email": "dsl@school.example",
    }
    data.update(overrides)
    return data


def xlsx(rows: list[dict]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for r in rows:
        sheet.append([r.get(name, "") for name in HEADER])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for r in rows:
        writer.writerow([r.get(name, "") for name in HEADER])
    return out.getvalue().encode()


def upload(client, data: bytes, name: str):
    return client.post("/import/", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def confirm(client, response, run: bool = False):
    """Confirm the previewed file; with `run`, let the job runner record it, as its next pass would."""
    page = response.get_data(as_text=True)
    token = page.split('name="token" value="')[1].split('"')[0]
    answer = client.post("/import/confirm", data={"token": token})
    if run:
        run_imports(NOW)
    return answer


def test_template_downloads_and_documents_every_column(app, people, login):
    client = login(people.admin)
    page = client.get("/import/").get_data(as_text=True)
    for name in HEADER:
        assert f"<code>{name}</code>" in page
    book = load_workbook(io.BytesIO(client.get("/import/template.xlsx").data))
    assert [c.value for c in book["Records"][1]] == HEADER
    assert book["How to fill it in"]["A2"].value == "reference"
    assert client.get("/import/template.csv").get_data(as_text=True).splitlines()[0] == ",".join(HEADER)
    # The template's own example rows are a valid file once the worker exists.
    assert imports.read("t.csv", client.get("/import/template.csv").data)[0]["reference"] == "OLD-PA-101"


def test_errors_are_shown_beside_each_row_and_nothing_is_saved(app, people, login, make_agreement):
    existing = make_agreement(status="active")
    Agreement.update(reference="OLD-1").where(Agreement.id == existing.id).execute()
    client = login(people.admin)
    rows = [
        row("NEW-1"),
        row("NEW-2", child_date_of_birth="31/02/2019"),
        row("NEW-3", worker="nobody@council.example"),
        row("NEW-4", next_review_date=""),
        row("OLD-1"),
        row("NEW-1"),
    ]
    before = Agreement.select().count()
    response = upload(client, xlsx(rows), "legacy.xlsx")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "5 records of 6 have errors" in page
    assert "Nothing has been saved" in page

    def cell(line: int) -> str:
        return page.split(f'id="row-{line}"')[1].split("</tr>")[0]

    assert "Ready" in cell(2)
    assert "must be a real date" in cell(3) and "31/02/2019" in cell(3)
    assert "Unknown worker" in cell(4)
    assert "Missing review date" in cell(5)
    assert "Duplicate reference: OLD-1 is already in the tracker" in cell(6)
    assert "Duplicate reference: NEW-1 is also on row 2" in cell(7)
    assert "Import 6 records" not in page
    assert Agreement.select().count() == before


def test_a_file_that_is_not_a_spreadsheet_is_refused_beside_the_field(app, people, login):
    client = login(people.admin)
    response = upload(client, b"not a workbook", "legacy.xlsx")
    assert response.status_code == 400
    assert "The XLSX file cannot be opened" in response.get_data(as_text=True)
    response = upload(client, b"a,b\n1,2\n", "legacy.csv")
    assert response.status_code == 400 and "missing: reference" in response.get_data(as_text=True)
    assert upload(client, b"x", "legacy.pdf").status_code == 400


def test_fifty_rows_import_in_one_transaction_active_audited_and_planned(app, people, login):
    client = login(people.manager)
    rows = [row(f"OLD-{n}") for n in range(1, 49)]
    # One review already gone (a month ago): one overdue notice, nothing else.
    rows.append(row("OLD-PAST", next_review_date="01/11/2026"))
    rows.append(row("OLD-WU", kind="undertaking", next_review_date="", undertaking_starts="22/11/2026 09:00",
                    undertaking_ends="24/11/2026 09:00"))
    response = upload(client, csv_bytes(rows), "legacy.csv")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert "Import 50 records" in response.get_data(as_text=True)
    assert Agreement.select().count() == 0
    done = confirm(client, response)
    assert done.status_code == 303 and "/import/jobs/" in done.headers["Location"]
    assert Agreement.select().count() == 0  # the job runner records it, not the request
    assert "Waiting to start" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert run_imports(NOW) == 1
    assert "50 records imported" in client.get(done.headers["Location"]).get_data(as_text=True)

    imported = list(Agreement.select())
    assert len(imported) == 50
    assert {a.status for a in imported} == {"active"}
    assert all(a.imported_at is not None and a.endorsement_override.startswith("Imported") for a in imported)
    events = AuditEvent.select().where(AuditEvent.action == "imported")
    assert events.count() == 50
    assert '"quality_checks"' in events.first().changes
    assert AuditEvent.select().where(AuditEvent.action == "import_file").count() == 1
    page = login(people.manager).get(f"/agreements/{imported[0].id}").get_data(as_text=True)
    assert "before the tracker: imported from the service" in page and "spreadsheet on" in page

    # Confirming twice imports nothing more.
    assert client.post("/import/confirm", data={"token": "x"}).status_code == 400
    assert Agreement.select().count() == 50

    # The imported reviews get their reminders; the past one one overdue notice; nothing is sent for past moments.
    run_sweeps(NOW)
    past = Agreement.get(Agreement.reference == "OLD-PAST")
    sent = list(Notification.select())
    assert {n.kind for n in sent if n.agreement_id == past.id} == {"review_overdue"}
    assert {n.kind for n in sent} <= {"review_overdue", "undertaking_escalation", "undertaking_warning", "digest"}
    run_sweeps(NOW)
    assert Notification.select().where(Notification.agreement == past).count() == len(
        [n for n in sent if n.agreement_id == past.id])
    first = Agreement.get(Agreement.reference == "OLD-1")
    review = Review.get(Review.agreement == first)
    assert review.scheduled_at == dt.datetime(2027, 1, 15, 10, 0)
    run_sweeps(dt.datetime(2027, 1, 8, 10, 0))
    assert Notification.select().where((Notification.agreement == first) & (Notification.kind == "review_reminder")).count() >= 1
    run_sweeps(dt.datetime(2027, 1, 5, 10, 0) + dt.timedelta(hours=1))
    assert Notification.select().where((Notification.agreement == first) & (Notification.kind == "report_request")).count() == 1


def test_who_may_import(app, people, login):
    assert login(people.worker).get("/import/").status_code == 403
    assert login(people.head).get("/import/").status_code == 403
    client = login(people.other_manager)
    response = upload(client, csv_bytes([row("OLD-9")]), "legacy.csv")
    assert response.status_code == 400
    assert "another team" in response.get_data(as_text=True)


def test_the_imported_original_stays_a_version_after_a_variation_and_is_released(app, people, login):
    from tracker.governance import sar
    from tracker.records import drafting, lifecycle, versions

    client = login(people.manager)
    confirm(client, upload(client, csv_bytes([row("OLD-1", purpose="To keep Ann safe at home.")]), "legacy.csv"), run=True)
    imported = Agreement.get()
    data = drafting.form_data(imported)
    data["purpose"] = "To keep Ann safe at home and at nursery."
    hour = dt.timedelta(hours=1)
    versions.save_variation(imported, data, people.worker, NOW + hour)
    lifecycle.submit(Agreement.get_by_id(imported.id), people.worker, NOW + 2 * hour)
    versions.endorse_variation(Agreement.get_by_id(imported.id), people.manager, NOW + 3 * hour,
                               override="Imported record: its checks are for its next review")

    released = sar.versions_of(Agreement.get_by_id(imported.id))
    purposes = [v["snapshot"]["purpose"] for v in released]
    assert purposes[:2] == ["To keep Ann safe at home.", "To keep Ann safe at home and at nursery."], purposes
    assert "imported" in released[0]["note"].lower(), released[0]
