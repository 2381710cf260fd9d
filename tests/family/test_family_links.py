"""The family's own copy (R20): a link per family party, its code on each new device, what it shows and stops."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.conftest import NOW, family_party
from tracker import settings
from tracker.demo import CHILDREN
from tracker.family import links
from tracker.models import Agreement, FamilyAccess, FamilyRead, Notification, Party

EMAIL = "parent@home.example"


def _send(agreement, user, channel="email", **extra):
    party = family_party(agreement)
    access, code = links.send_link(agreement, party, user, NOW, channel=channel,
                                   address=EMAIL if channel == "email" else "", **extra)
    return access, code, links.token_for(access)


def _open(client, token, code):
    response = client.post(f"/f/{token}/code", data={"code": code})
    assert response.status_code == 303, response.data[:300]
    return client


def test_the_family_flow_by_email(app, client, people, make_agreement):
    agreement = make_agreement(status="active")
    access, code, token = _send(agreement, people.worker)
    email = Notification.get(Notification.key.startswith(f"family-link/{access.id}/"))
    assert f"/f/{token}" in email.body_text and email.to_address == EMAIL

    # A device that has not entered the code is asked for it, and nothing of the record shows.
    first = client.get(f"/f/{token}")
    assert first.status_code == 302 and first.headers["Location"].endswith(f"/f/{token}/code")
    page = client.get(f"/f/{token}/code")
    assert b"Enter your code" in page.data and agreement.purpose.encode() not in page.data
    assert client.post(f"/f/{token}/code", data={"code": "WRONG1"}).status_code == 400

    _open(client, token, code.lower())  # typed in lower case, still the code
    copy = client.get(f"/f/{token}")
    assert copy.status_code == 200
    assert copy.headers["Cache-Control"] == "no-store"
    assert "noindex" in copy.headers["X-Robots-Tag"]
    text = copy.get_data(as_text=True).replace("\u00a0", " ")  # telephone numbers do not break
    for words in ("What this document is", "not a court order", "advocate", agreement.purpose,
                  agreement.if_things_go_wrong, agreement.contingency, "call 999 first", "Exit this page",
                  "govuk-exit-this-page", settings.contacts()["front_door_phone"],
                  settings.contacts()["out_of_hours_phone"], "Riverside Family Centre"):
        assert words in text, words

    # "I have read my copy", against the version in force, shown on the record.
    assert client.post(f"/f/{token}/read").status_code == 303
    assert FamilyRead.get(FamilyRead.access == access.id).version == agreement.version
    assert "You said you have read this version" in client.get(f"/f/{token}").get_data(as_text=True)

    # A call back: an email to the social worker only.
    assert client.post(f"/f/{token}/call-back", data={"message": "After 3pm please"}).status_code == 303
    asked = Notification.get(Notification.kind == "family_callback")
    assert asked.to_address == people.worker.email and "After 3pm please" in asked.body_text
    assert client.post(f"/f/{token}/call-back", data={"message": ""}).status_code == 400

    # The review as a calendar invitation that names nobody.
    invitation = client.get(f"/f/{token}/review.ics")
    assert invitation.status_code == 200 and b"BEGIN:VEVENT" in invitation.data
    assert b"Murphy" not in invitation.data and b"Ella" not in invitation.data


def test_a_new_device_needs_the_code(app, client, people, make_agreement):
    agreement = make_agreement(status="active")
    _access, code, token = _send(agreement, people.worker, channel="paper")
    _open(client, token, code)
    assert client.get(f"/f/{token}").status_code == 200
    other = app.test_client()
    assert other.get(f"/f/{token}").status_code == 302
    # Another link's code does not open this one.
    assert other.post(f"/f/{token}/code", data={"code": "ABCDEF" if code != "ABCDEF" else "BCDEFG"}).status_code == 400


@pytest.mark.parametrize("how", ["stopped", "new link", "party removed", "record ended", "do not send"])
def test_a_stopped_link_opens_nothing(app, client, people, make_agreement, how):
    agreement = make_agreement(status="active")
    access, code, token = _send(agreement, people.worker)
    _open(client, token, code)
    assert client.get(f"/f/{token}").status_code == 200
    if how == "stopped":
        links.stop(access, agreement, people.worker, NOW)
    elif how == "new link":
        _send(agreement, people.worker)
    elif how == "party removed":
        Party.update(removed_at=NOW).where(Party.id == access.party_id).execute()
    elif how == "record ended":
        Agreement.update(status="ended").where(Agreement.id == agreement.id).execute()
    else:
        links.mark_do_not_send(agreement, family_party(agreement), people.worker, NOW, "Lives with the person who harms")
    response = client.get(f"/f/{token}")
    assert response.status_code in (404, 410)
    assert agreement.purpose.encode() not in response.data
    assert b"This link does not work" in response.data
    # Nor is an email carrying the old link sent.
    from tracker.notices.mailings import still_wanted

    row = Notification.get(Notification.key == f"family-link/{access.id}/g1/v{agreement.version}")
    assert still_wanted(row) is not None


def test_do_not_send_needs_a_reason_and_shows_on_the_record(app, client, people, make_agreement, login):
    agreement = make_agreement(status="active")
    party = family_party(agreement)
    with pytest.raises(links.Refused):
        links.mark_do_not_send(agreement, party, people.worker, NOW, "  ")
    links.mark_do_not_send(agreement, party, people.worker, NOW, "Lives with the person who harms")
    with pytest.raises(links.Refused) as refused:
        _send(agreement, people.worker)
    assert "do not send" in refused.value.errors["party"]
    login(people.worker)
    record = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert "Do not send a link" in record and "Lives with the person who harms" in record


def test_a_link_to_the_person_who_harms_needs_a_managers_reason(app, client, people, make_agreement):
    agreement = make_agreement(status="active", domestic_abuse_concern=True, person_at_risk="Ms Murphy",
                               person_who_harms="Mr Murphy",
                               parties=[{"name": "Ms Murphy", "role": "Mother", "signed_on": None},
                                        {"name": "Mr Murphy", "role": "Father", "signed_on": None}])
    mother = family_party(agreement)
    father = Party.get((Party.agreement == agreement.id) & (Party.role == "Father"))
    links.send_link(agreement, mother, people.worker, NOW, channel="paper")  # the person at risk: no reason asked
    for user, reason in ((people.worker, ""), (people.worker, "He asked"), (people.manager, "")):
        with pytest.raises(links.Refused) as refused:
            links.send_link(agreement, father, user, NOW, channel="paper", harms_reason=reason)
        assert "harms_reason" in refused.value.errors
    access, _ = links.send_link(agreement, father, people.manager, NOW, channel="paper",
                                harms_reason="Discussed at MARAC; he lives apart and has his own copy")
    assert access.harms_reason.startswith("Discussed at MARAC")


def test_a_family_link_shows_only_its_own_record(app, client, people, make_agreement):
    one = make_agreement(status="active", purpose="To keep Ella safe: record one.")
    two = make_agreement(status="active", purpose="To keep Ella safe: record two.",
                         children=[{"name": "Ben Carter", "date_of_birth": dt.date(2018, 1, 2)}])
    _a1, code1, token1 = _send(one, people.worker, channel="paper")
    _a2, _code2, token2 = _send(two, people.worker, channel="paper")
    _open(client, token1, code1)
    assert b"record one" in client.get(f"/f/{token1}").data
    assert b"record two" not in client.get(f"/f/{token1}").data
    # The device that entered record one's code is a stranger to record two's link.
    assert client.get(f"/f/{token2}").status_code == 302
    assert client.post(f"/f/{token2}/code", data={"code": code1}).status_code == 400


def test_a_new_version_sends_the_link_again_saying_what_changed(app, client, people, make_agreement):
    from tracker.records import versions

    agreement = make_agreement(status="active")
    access, _code, token = _send(agreement, people.worker)
    data = versions.snapshot(agreement)
    data["contingency"] = "Ella will stay with her aunt."
    versions.save_variation(agreement, data, people.worker, NOW)
    versions.submit_variation(Agreement.get_by_id(agreement.id), people.worker, NOW)
    versions.endorse_variation(Agreement.get_by_id(agreement.id), people.manager, NOW + dt.timedelta(hours=1),
                               override="test")
    again = Notification.get(Notification.key == f"family-link/{access.id}/g1/v2")
    assert f"/f/{token}" in again.body_text and "new version" in again.subject.lower()
    assert "contingency" in again.body_text.lower()


def test_the_worker_hears_who_has_not_read_their_copy(app, people, make_agreement):
    from jobs.sweeps import family_unread

    agreement = make_agreement(status="active")
    access, _code, _token = _send(agreement, people.worker)
    days = settings.get("family_unread_days")
    assert family_unread(NOW + dt.timedelta(days=days) - dt.timedelta(minutes=1)) == 0
    assert family_unread(NOW + dt.timedelta(days=days)) == 1
    assert family_unread(NOW + dt.timedelta(days=days + 1)) == 0  # once
    told = Notification.get(Notification.kind == "family_unread")
    assert told.to_address == people.worker.email
    # A party who said they read it is not chased.
    other = make_agreement(status="active")
    access2, _c, _t = _send(other, people.worker)
    links.confirm_read(access2, Agreement.get_by_id(other.id), NOW)
    assert family_unread(NOW + dt.timedelta(days=days + 2)) == 0


def test_welsh_from_the_catalog_with_english_beside_until_checked(app, client, people, make_agreement):
    agreement = make_agreement(status="active", first_language="Welsh")
    _access, code, token = _send(agreement, people.worker, channel="paper")
    _open(client, token, code)
    text = client.get(f"/f/{token}").get_data(as_text=True)
    assert "Beth yw'r ddogfen hon" in text.replace("&#39;", "'")
    assert 'lang="cy"' in text
    assert "(What this document is)" in text  # English beside: no qualified translator has checked it
    settings.put("family_checked_languages", "cy")
    text = client.get(f"/f/{token}").get_data(as_text=True)
    assert "Gadael y dudalen hon" in text and "(What this document is)" not in text


def test_a_language_without_a_catalog_reads_english():
    from tracker.family.language import locale_for

    assert locale_for("Welsh") == "cy" and locale_for("Cymraeg") == "cy" and locale_for("welsh (reads English)") == "cy"
    assert locale_for("Polish") == "en" and locale_for("") == "en"


@pytest.mark.parametrize("child, age", CHILDREN)
def test_nothing_personal_in_a_link_or_an_email(app, people, make_agreement, child, age):
    surname = child.split()[-1]
    agreement = make_agreement(
        status="active", children=[{"name": child, "date_of_birth": dt.date(2026 - age - 1, 3, 4)}],
        parties=[{"name": f"Ms {surname}", "role": "Mother", "signed_on": None}],
        purpose=f"To keep {child.split()[0]} safe at home.")
    access, code, token = _send(agreement, people.worker)
    email = Notification.get(Notification.key.startswith(f"family-link/{access.id}/"))
    names = {child, *child.split(), f"Ms {surname}"}
    url = links.family_url(access)
    for name in names:
        pattern = re.compile(rf"\b{re.escape(name)}\b", re.IGNORECASE)
        for where in (url, token, email.subject, email.body_text, email.body_html, email.to_label):
            assert not pattern.search(where), (name, where[:200])
    assert re.fullmatch(r"[a-z2-9]{12}", token) and re.fullmatch(r"[A-Z2-9]{6}", code)


def test_the_printable_copy_names_the_social_worker_once(app, client, people, make_agreement, login):
    agreement = make_agreement(status="active", parties=[
        {"name": "Ms Murphy", "role": "Mother", "signed_on": None},
        {"name": people.worker.name, "role": "Social worker", "signed_on": dt.date(2026, 11, 20)}])
    login(people.worker)
    text = client.get(f"/agreements/{agreement.id}/print").get_data(as_text=True)
    signed = text.split('Signed</h2>')[1].split('</h2>')[0]
    assert signed.count(people.worker.name) == 1 and "20 November 2026" in signed
    attend = text.split("Who will attend the review")[1].split("</p>")[0]
    assert attend.count(people.worker.name) == 1


def test_each_compiled_catalog_is_its_po():
    """A .mo is committed beside its .po; this fails when a .po changed and was not compiled."""
    from io import BytesIO
    from pathlib import Path

    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    folder = Path(__file__).resolve().parents[2] / "translations"
    found = list(folder.glob("*/LC_MESSAGES/messages.po"))
    assert found
    for po in found:
        source = {m.id: m.string for m in read_po(po.open("rb")) if m.id and m.string}
        compiled = {m.id: m.string for m in read_mo(BytesIO(po.with_suffix(".mo").read_bytes())) if m.id}
        assert source == compiled, po


def test_guessing_codes_is_limited_per_link(app, client, people, make_agreement):
    agreement = make_agreement(status="active")
    _access, code, token = _send(agreement, people.worker, channel="paper")
    answers = [client.post(f"/f/{token}/code", data={"code": "ZZZZZZ" if code != "ZZZZZZ" else "YYYYYY"}).status_code
               for _ in range(12)]
    assert set(answers[:10]) == {400} and answers[-1] == 429
    # Even the right code waits until the window has passed.
    assert client.post(f"/f/{token}/code", data={"code": code}).status_code == 429


def test_an_error_on_a_family_page_keeps_exit_this_page(app, client, people, make_agreement):
    agreement = make_agreement(status="active", first_language="Cymraeg")
    _access, code, token = _send(agreement, people.worker, channel="paper")
    for _ in range(10):
        client.post(f"/f/{token}/code", data={"code": "nope"})
    refused = client.post(f"/f/{token}/code", data={"code": code})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 429 and "govuk-exit-this-page" in text and "Too many tries" in text
    assert refused.headers["Cache-Control"] == "no-store"
    missing = client.get("/f/abcdefghjkmn")
    assert missing.status_code == 404 and "govuk-exit-this-page" in missing.get_data(as_text=True)


def test_the_printed_copy_is_in_the_records_first_language(app, client, people, make_agreement, login):
    welsh = make_agreement(status="active", first_language="Welsh")
    login(people.worker)
    text = client.get(f"/agreements/{welsh.id}/print").get_data(as_text=True).replace("&#39;", "'")
    assert '<html lang="cy"' in text and "Beth yw'r ddogfen hon" in text and "Cynllun wrth gefn" in text
    assert "(What this document is)" in text  # English beside until a qualified translator checked it
    assert welsh.contingency in text  # the worker's words as typed
    english = make_agreement(status="active")
    text = client.get(f"/agreements/{english.id}/print").get_data(as_text=True)
    assert '<html lang="en"' in text and "Cynllun" not in text and "What this document is" in text


def test_a_translated_copy_the_worker_attached_shows_beside_the_version_it_translates(
        app, client, people, make_agreement, login):
    agreement = make_agreement(status="active", first_language="Polish")
    _access, code, token = _send(agreement, people.worker, channel="paper")
    login(people.worker)
    refused = client.post(f"/agreements/{agreement.id}/family/translation", data={"language": "Polish", "text": ""})
    assert refused.status_code == 400 and "Paste or type the translated copy" in refused.get_data(as_text=True)
    assert client.post(f"/agreements/{agreement.id}/family/translation",
                       data={"language": "Polish", "text": "Aby Ella była bezpieczna w domu."}).status_code == 303
    client.post("/logout")
    _open(client, token, code)
    text = client.get(f"/f/{token}").get_data(as_text=True)
    assert "Aby Ella była bezpieczna w domu." in text and "Your copy in Polish" in text
    assert agreement.purpose in text  # and the worker's own words as typed


def test_the_worker_sends_a_link_from_the_page_and_sees_the_code_once(app, client, people, make_agreement, login):
    agreement = make_agreement(status="active")
    party = family_party(agreement)
    login(people.worker)
    page = client.get(f"/agreements/{agreement.id}/family").get_data(as_text=True)
    assert "Ms Murphy" in page and "Not sent" in page
    refused = client.post(f"/agreements/{agreement.id}/family/{party.id}/send",
                          data={"channel": "email", "address": "not an address"})
    assert refused.status_code == 400 and 'value="not an address"' in refused.get_data(as_text=True)
    sent = client.post(f"/agreements/{agreement.id}/family/{party.id}/send",
                       data={"channel": "email", "address": EMAIL}).get_data(as_text=True)
    code = re.search(r'id="family-code">([A-Z2-9]{6})<', sent).group(1)
    access = FamilyAccess.get(FamilyAccess.party == party.id)
    assert links.code_matches(access, code) and code not in access.code_hash
    assert links.token_for(access) not in str(access.token_hash)
    record = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert "link working; not yet read version 1" in record
    # A colleague who does not hold the record may not send or stop its links.
    login(people.colleague)
    assert client.post(f"/agreements/{agreement.id}/family/{party.id}/stop").status_code == 403
    assert client.post(f"/agreements/{agreement.id}/family/{party.id}/send",
                       data={"channel": "paper"}).status_code == 403


def test_a_family_link_reaches_a_real_mail_server_or_becomes_a_task(app, client, people, make_agreement, login,
                                                                     smtp):
    from jobs.delivery import deliver_pending

    agreement = make_agreement(status="active")
    _access, _code, token = _send(agreement, people.worker)
    deliver_pending(NOW + dt.timedelta(minutes=1))
    [email] = smtp.to(EMAIL)
    assert f"/f/{token}" in email.get_body(("plain",)).get_content()
    assert email["Subject"] == "Your copy is ready to read"
    # Refused by the server: a task on the record for the worker (R18), in words.
    smtp.refuse.add("gone@home.example")
    party = family_party(agreement)
    links.send_link(agreement, party, people.worker, NOW, channel="email", address="gone@home.example")
    deliver_pending(NOW + dt.timedelta(minutes=2))
    login(people.worker)
    record = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert "A family party did not receive the link to their own copy" in record


def test_exit_this_page_forgets_the_device(app, client, people, make_agreement):
    agreement = make_agreement(status="active")
    _access, code, token = _send(agreement, people.worker, channel="paper")
    _open(client, token, code)
    page = client.get(f"/f/{token}").get_data(as_text=True)
    assert 'href="/f/exit"' in page and "govuk-exit-this-page" in page
    left = client.get("/f/exit")
    assert left.status_code == 303 and left.headers["Location"] == settings.get("family_exit_url")
    assert "fdev=;" in left.headers["Set-Cookie"]
    assert client.get(f"/f/{token}").status_code == 302  # the code again
    # A copied cookie is no use either: the device itself was forgotten.
    from tracker.models import FamilyDevice

    assert FamilyDevice.get().ended_at is not None

BOUNDED = hypothesis_settings(max_examples=10, deadline=None, derandomize=True, database=None,
                              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@BOUNDED
@given(typed=st.text(max_size=60), message=st.text(max_size=600))
def test_whatever_a_family_types_is_answered_never_a_500(app, client, people, make_agreement, typed, message):
    from tracker.web import ratelimit

    ratelimit.reset()
    agreement = Agreement.get_or_none(Agreement.status == "active") or make_agreement(status="active")
    access = FamilyAccess.get_or_none(FamilyAccess.agreement == agreement.id)
    if access is None:
        access, code, token = _send(agreement, people.worker, channel="paper")
        _open(client, token, code)
    token = links.token_for(access)
    assert client.post(f"/f/{token}/code", data={"code": typed}).status_code in (303, 400)
    before = Notification.select().where(Notification.kind == "family_callback").count()
    answer = client.post(f"/f/{token}/call-back", data={"message": message})
    kept = message.strip()
    if "\x00" in message:
        assert answer.status_code == 400
    elif kept and len(kept) <= 500:
        assert answer.status_code == 303
        queued = Notification.select().where(Notification.kind == "family_callback").count() - before
        assert queued in (0, 1)  # the same message within the hour is one email
    else:
        assert answer.status_code == 400
        assert Notification.select().where(Notification.kind == "family_callback").count() == before
