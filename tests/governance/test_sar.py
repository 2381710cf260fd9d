"""Subject access: found by identity, records chosen, redaction reviewed, a second person approves, a document to read."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

from jobs.sweeps import run_sweeps
from tests.conftest import NOW, PASSWORD
from tracker.models import AgreementChild, AuditEvent, Child, Recipient
from tracker.people.accounts import create_user
from tracker.records import breaches, identity


def _zip(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return json.loads(zipfile.ZipFile(io.BytesIO(response.data)).read("subject.json"))


def _release(login, people, second, form):
    """One service manager approves the selection; the other downloads it."""
    assert login(second).post("/subject-access/export", data={**form, "format": "approve"}).status_code == 200
    return login(people.head)


def test_a_parent_found_by_name_alone_is_not_found(client, people, login, make_agreement):
    """Three families each name a mother "Ms Murphy": her name with one child's date of birth finds her family only."""
    families = [make_agreement(status="active", children=[{"name": f"Child {n}", "date_of_birth": dt.date(2019, 5, n)}])
                for n in (1, 2, 3)]
    client = login(people.head)
    by_name = client.get("/subject-access/?q=Ms+Murphy")
    assert by_name.status_code == 400 and "date of birth" in by_name.get_data(as_text=True)
    found = client.get("/subject-access/?q=murphy&born-day=2&born-month=5&born-year=2019").get_data(as_text=True)
    assert "(1 record)" in found and "39 records" not in found and "(3 records)" not in found
    preview = client.get("/subject-access/preview?party=Ms+Murphy&born=2019-05-02").get_data(as_text=True)
    assert "Child 2" in preview and "Child 1" not in preview and "Child 3" not in preview
    second = create_user("head2@council.example", "Hari Head", PASSWORD, "service_manager", None)
    form = {"party": "Ms Murphy", "born": "2019-05-02", "record": [a.id for a in families]}
    client = _release(login, people, second, form)
    data = _zip(client.post("/subject-access/export", data={**form, "format": "zip"}))
    assert [r["reference"] for r in data["records"]] == [families[1].reference]


def test_a_childs_export_follows_linked_identities_and_withholds_every_third_party(client, people, login, make_agreement):
    first = make_agreement(status="active")
    again = make_agreement(status="active", children=[
        {"name": "Ella M Murphy", "date_of_birth": dt.date(2019, 5, 4)}, {"name": "Finn Murphy", "date_of_birth": dt.date(2021, 1, 1)}])
    ella = Child.select().join(AgreementChild).where(AgreementChild.agreement == first).first()
    other = Child.select().join(AgreementChild).where((AgreementChild.agreement == again) & (Child.name == "Ella M Murphy")).first()
    identity.link(again, other, ella, people.worker, NOW)
    breaches.log(first, {"occurred_at": NOW, "description": "Neighbour Jan Doe at 4 Elm Road, 07700 900123, heard shouting.",
                         "action": 0, "term": "Supervision", "reported_by": "Jan Doe", "immediate_risk": False},
                 NOW, user=people.worker)
    run_sweeps(NOW)
    second = create_user("head2@council.example", "Hari Head", PASSWORD, "service_manager", None)
    client = login(people.head)
    preview = client.get(f"/subject-access/preview?child={ella.id}").get_data(as_text=True)
    # Both rows' records, each named by its children; every other person offered for redaction.
    assert first.reference in preview and again.reference in preview and "Finn Murphy" in preview
    assert all(name in preview for name in ("Jan Doe", "Jo Bloggs", "Ms Murphy", "Finn Murphy"))
    recipients = [r.id for r in Recipient.select()]
    form = {"child": ella.id, "record": [first.id, again.id], "redact": recipients,
            "name": ["Jan Doe", "Jo Bloggs", "Finn Murphy"], "phrases": "4 Elm Road\n07700 900123"}
    # Not without a second person's approval, and not approved by oneself.
    assert client.post("/subject-access/export", data={**form, "format": "zip"}).status_code == 400
    client.post("/subject-access/export", data={**form, "format": "approve"})
    assert client.post("/subject-access/export", data={**form, "format": "zip"}).status_code == 400
    client = _release(login, people, second, form)
    data = _zip(client.post("/subject-access/export", data={**form, "format": "zip"}))
    text = json.dumps(data)
    assert {r["reference"] for r in data["records"]} == {first.reference, again.reference}
    for withheld in ("Jan Doe", "4 Elm Road", "07700 900123", "Finn Murphy", "dsl@school.example", "Jo Bloggs"):
        assert withheld not in text, withheld
    assert "[redacted]" in text and "Ella Murphy" in text
    # A different redaction is a different release: it needs its own approval.
    assert client.post("/subject-access/export", data={**form, "name": ["Jan Doe"], "format": "zip"}).status_code == 400
    export = AuditEvent.select().where(AuditEvent.action == "subject_access_export").first()
    assert export.user_id == people.head.id and "Hari Head" in export.changes


def test_the_pdf_reads_as_a_document(client, people, login, make_agreement):
    from tracker.governance import sar

    agreement = make_agreement(status="active")
    ella = Child.select().join(AgreementChild).where(AgreementChild.agreement == agreement).first()
    data = sar.collect("Ella Murphy", [agreement], NOW)
    from flask import render_template

    html = render_template("sar/pdf.html", data=data, label=sar.label, plain=sar.plain_value)
    for raw in ("case_closing", "marac_idva", "False", "social_worker", "2019-05-04", "recipient_id", "child_in_need"):
        assert raw not in html, raw
    # Labels are the field registry's, as on every other page.
    assert "The social work service is closing" in html and "4 May 2019" in html and "Date completed" in html
    second = create_user("head2@council.example", "Hari Head", PASSWORD, "service_manager", None)
    form = {"child": ella.id, "record": [agreement.id]}
    client = _release(login, people, second, form)
    pdf = client.post("/subject-access/export", data={**form, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert login(people.manager).get("/subject-access/").status_code == 403
