"""Subject access includes the family's own links (R20): when each went and how, what they read, each call back."""

from __future__ import annotations

import io
import json
import zipfile

from flask import render_template

from tests.conftest import NOW, PASSWORD
from tracker.family import links
from tracker.governance import sar
from tracker.models import AgreementChild, Child, Party
from tracker.people.accounts import create_user

EMAIL = "parent@home.example"


def _family_link_used(client, agreement, worker):
    """Ms Murphy is sent her link by email, opens it with her code, says she read it and asks for a call back."""
    mother = next(p for p in Party.select().where(Party.agreement == agreement.id) if p.role == "Mother")
    access, code = links.send_link(agreement, mother, worker, NOW, channel="email", address=EMAIL)
    token = links.token_for(access)
    assert client.post(f"/f/{token}/code", data={"code": code}).status_code == 303
    assert client.post(f"/f/{token}/read").status_code == 303
    assert client.post(f"/f/{token}/call-back", data={"message": "After 3pm please"}).status_code == 303
    return mother


def _zip(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return json.loads(zipfile.ZipFile(io.BytesIO(response.data)).read("subject.json"))


def test_the_export_holds_each_family_link_with_labels(app, client, people, make_agreement):
    agreement = make_agreement(status="active")
    mother = _family_link_used(client, agreement, people.worker)
    [record] = sar.collect("Ms Murphy", [agreement], NOW)["records"]
    [family] = record["family_copies"]
    assert family["party"] == mother.name and family["role"] == "Mother"
    assert family["channel"] == "By email" and family["sent_to"] == EMAIL
    assert family["link_sent_at"] and family["sent_by"] == people.worker.name
    assert family["version_sent"] == agreement.version
    assert [r["version"] for r in family["read_confirmations"]] == [agreement.version]
    assert len(family["call_backs_asked"]) == 1 and len(family["devices"]) == 1
    # The message itself went only in the social worker's email, which the export holds too.
    assert any("After 3pm please" in e["body"] for e in record["emails_sent"])

    html = render_template("sar/pdf.html", data={"subject": "Ms Murphy", "produced_at": NOW.isoformat(),
                                                 "records": [record]}, label=sar.label, plain=sar.plain_value)
    section = html[html.index("The family's own copies"):html.index("Emails sent")]
    for words in ("How the link was sent", "By email", "Sent to", EMAIL, "Link last sent", "Said they had read",
                  f"Version {agreement.version}", "Asked for a call back", "Phones or computers that entered the code"):
        assert words in section, words
    for raw in ("link_sent_at", "read_confirmations", "call_backs_asked", "sent_to", "T0", "None"):
        assert raw not in section, raw


def test_a_childs_export_offers_the_parents_address_for_redaction_and_the_parents_does_not(
        app, client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    _family_link_used(client, agreement, people.worker)
    ella = Child.select().join(AgreementChild).where(AgreementChild.agreement == agreement).first()
    head = login(people.head)
    assert EMAIL in head.get(f"/subject-access/preview?child={ella.id}").get_data(as_text=True)
    born = ella.date_of_birth.isoformat()
    assert EMAIL not in sar.others_named([agreement], "Ms Murphy")

    # The parent's own export, released by a second service manager, holds her link.
    second = create_user("head2@council.example", "Hari Head", PASSWORD, "service_manager", None)
    form = {"party": "Ms Murphy", "born": born, "record": [agreement.id]}
    assert login(second).post("/subject-access/export", data={**form, "format": "approve"}).status_code == 200
    data = _zip(login(people.head).post("/subject-access/export", data={**form, "format": "zip"}))
    [family] = data["records"][0]["family_copies"]
    assert family["sent_to"] == EMAIL and family["call_backs_asked"]
    pdf = login(people.head).post("/subject-access/export", data={**form, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
