"""Subject access export (issue 14, item 3): a service manager exports one child's file as a PDF and a ZIP."""

from __future__ import annotations

import io
import json
import zipfile

from jobs.sweeps import run_sweeps
from tests.conftest import NOW
from tracker.models import AgreementChild, AuditEvent, Child, Recipient
from tracker.records import breaches


def test_a_service_manager_exports_a_childs_file_with_redactions(app, people, login, make_agreement):
    agreement = make_agreement(status="active")
    breach = breaches.log(agreement, {"occurred_at": NOW, "description": "Ella was left alone overnight.", "action": 0,
                                      "term": "Supervision", "reported_by": "Jo Bloggs", "immediate_risk": False},
                          NOW, user=people.worker)
    breaches.amend(breach, "It was one evening, not overnight.", people.worker, NOW)
    run_sweeps(NOW)
    login(people.worker).get(f"/agreements/{agreement.id}")  # a view to appear in the audit trail
    child = Child.select().join(AgreementChild).where(AgreementChild.agreement == agreement).first()
    recipient = Recipient.get(Recipient.agreement == agreement)

    assert login(people.manager).get("/subject-access/").status_code == 403
    client = login(people.head)
    found = client.get("/subject-access/?q=ella").get_data(as_text=True)
    assert "Ella Murphy" in found and "Ms Murphy" in client.get("/subject-access/?q=murphy").get_data(as_text=True)
    preview = client.get(f"/subject-access/preview?child={child.id}").get_data(as_text=True)
    assert agreement.reference in preview and "dsl@school.example" in preview

    archive = client.post("/subject-access/export", data={"child": child.id, "format": "zip", "redact": [recipient.id]})
    assert archive.status_code == 200 and archive.mimetype == "application/zip"
    files = zipfile.ZipFile(io.BytesIO(archive.data))
    data = json.loads(files.read("subject.json"))
    record = json.loads(files.read(f"records/{agreement.reference}.json"))
    assert record["children"] == [{"name": "Ella Murphy", "date_of_birth": "2019-05-04"}]
    assert record["versions"][0]["number"] == 1 and record["versions"][0]["snapshot"]["purpose"].startswith("To keep Ella")
    assert record["breaches"][0]["amendments"][0]["text"] == "It was one evening, not overnight."
    assert record["reviews"][0]["scheduled_at"] == "2027-01-15T10:00:00"
    assert record["emails_sent"], "the emails sent about the record"
    assert any(e["action"] == "viewed" and e["who"] == "Sam Worker" for e in record["audit_trail"])
    # The ticked third party's details are withheld everywhere, the emails sent to them included.
    text = json.dumps(data)
    assert "dsl@school.example" not in text and "Jo Bloggs" not in text and "[redacted]" in text

    pdf = client.post("/subject-access/export", data={"child": child.id, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    exports = AuditEvent.select().where(AuditEvent.action == "subject_access_export")
    assert exports.count() == 2 and exports.first().user_id == people.head.id

    # An adult named as a party.
    party = client.post("/subject-access/export", data={"party": "Ms Murphy", "format": "zip"})
    assert json.loads(zipfile.ZipFile(io.BytesIO(party.data)).read("subject.json"))["records"][0]["reference"] == agreement.reference
    assert client.post("/subject-access/export", data={"party": "Nobody", "format": "zip"}).status_code == 404
