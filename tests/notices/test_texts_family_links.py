"""Text messages through GOV.UK Notify (R20, R10, R18): a family link by text, through a local Notify.

The `notify` fixture is a real HTTP server on 127.0.0.1 speaking Notify's documented
requests (tests/helpers/notifyfake.py); the app reaches it with Notify's own client.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from tests.conftest import NOW
from tracker.family import links
from tracker.models import Child, Notification, Party
from tracker.notices import texts

MOBILE = "07700 900123"
LATER = NOW + dt.timedelta(hours=2)


def _mother(agreement) -> Party:
    return next(p for p in Party.select().where(Party.agreement == agreement.id) if p.role == "Mother")


def _send_by_text(client, login, people, agreement, address=MOBILE):
    login(people.worker)
    return client.post(f"/agreements/{agreement.id}/family/{_mother(agreement).id}/send",
                       data={"channel": "text", "address": address})


def _texts() -> list[Notification]:
    return list(Notification.select().where(Notification.channel == "text").order_by(Notification.id))


def _pass(now):
    from jobs.texting import text_pass

    return text_pass(now)


def test_a_family_link_by_text_arrives_through_notify_with_only_the_link(app, client, people, login,
                                                                          make_agreement, notify):
    agreement = make_agreement(status="active")
    response = _send_by_text(client, login, people, agreement)
    assert response.status_code == 200 and b"Link sent" in response.data
    access = links.access_for(_mother(agreement))
    assert access.channel == "text" and access.address == "+447700900123"

    # Queued in the outbox beside the emails, and not taken by the email delivery.
    (row,) = _texts()
    assert row.key == f"family-link/{access.id}/g1/v{agreement.version}/text" and row.status == "pending"
    from jobs.delivery import deliver_pending

    deliver_pending(LATER)
    assert Notification.get_by_id(row.id).status == "pending" and notify.sent == []

    report = _pass(LATER)
    assert report.sent == 1
    (sent,) = notify.to(MOBILE)
    url = links.family_url(access)
    assert sent["personalisation"] == {"link": url, "changed": ""}
    assert sent["body"] == f"Your own copy is at {url}"
    row = Notification.get_by_id(row.id)
    assert row.status == "sent" and row.notify_id == sent["id"]

    # Nothing personal: no party's or child's name, no initials, no reference, in the text or its reference.
    said = json.dumps(sent)
    for child in Child.select():
        assert child.name not in said and child.name.split()[-1] not in said
        assert child.initials() not in re.sub(r"https?://\S+", "", said)
    for party in Party.select():
        assert party.name not in said
    assert agreement.reference not in said
    assert sent["reference"] == f"outbox-{row.id}"

    # Its status is read back: delivered, and nothing more is asked.
    from jobs.texting import read_statuses

    assert read_statuses(LATER + dt.timedelta(minutes=2)) == 1
    row = Notification.get_by_id(row.id)
    assert row.notify_status == "delivered" and row.status_check_at is None
    asked = len(notify.requests)
    read_statuses(LATER + dt.timedelta(hours=1))
    assert len(notify.requests) == asked


def test_one_text_per_key_across_passes_and_a_new_version_sends_one_more(app, people, make_agreement, notify):
    agreement = make_agreement(status="active")
    access, _code = links.send_link(agreement, _mother(agreement), people.worker, NOW, channel="text", address=MOBILE)
    assert links._text_link(access, agreement, NOW, []) is False  # the same key: nothing more queued
    for minutes in (0, 1, 2, 10):
        _pass(LATER + dt.timedelta(minutes=minutes))
    assert len(notify.to(MOBILE)) == 1 and len(_texts()) == 1
    # A row another runner has claimed is not sent again by this one.
    from jobs.texting import claim

    assert claim(_texts()[0].id, LATER) is False

    # A new version in force re-sends the link once, by text, with the same address.
    agreement.version += 1
    agreement.save()
    assert links.new_version(agreement, LATER, ["Actions"]) == 1
    assert links.new_version(agreement, LATER, ["Actions"]) == 0
    _pass(LATER + dt.timedelta(minutes=20))
    _pass(LATER + dt.timedelta(minutes=21))
    first, again = notify.to(MOBILE)
    url = links.family_url(access)
    assert first["personalisation"] == {"link": url, "changed": ""} and first["body"] == f"Your own copy is at {url}"
    # The new version's text says what changed, in the registry's words, as its email does.
    assert again["personalisation"] == {"link": url, "changed": "What changed: actions."}
    assert again["body"] == f"What changed: actions. Your own copy is at {url}"


def test_a_temporary_failure_is_tried_again_with_backoff(app, people, make_agreement, notify):
    agreement = make_agreement(status="active")
    links.send_link(agreement, _mother(agreement), people.worker, NOW, channel="text", address=MOBILE)
    notify.fail_next = [500, 429]
    first = _pass(LATER)
    assert first.retry == 1 and first.sent == 0
    row = _texts()[0]
    assert row.status == "pending" and row.attempts == 1 and "500" in row.last_error
    assert row.next_attempt_at == LATER + dt.timedelta(minutes=1)
    assert _pass(LATER).sent == 0  # not due yet: nothing asked
    second = _pass(LATER + dt.timedelta(minutes=1))
    assert second.retry == 1
    row = _texts()[0]
    assert row.attempts == 2 and "429" in row.last_error and row.next_attempt_at == LATER + dt.timedelta(minutes=3)
    assert _pass(LATER + dt.timedelta(minutes=3)).sent == 1
    assert len(notify.to(MOBILE)) == 1 and _texts()[0].status == "sent"


def test_notify_out_of_reach_is_not_counted_against_the_text(app, people, make_agreement, notify):
    from tests.conftest import free_port
    from tracker import settings

    agreement = make_agreement(status="active")
    links.send_link(agreement, _mother(agreement), people.worker, NOW, channel="text", address=MOBILE)
    settings.put("notify_base_url", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    report = _pass(LATER)
    row = _texts()[0]
    assert report.retry == 1 and row.status == "pending" and row.attempts == 0
    assert "could not reach GOV.UK Notify" in row.last_error
    settings.put("notify_base_url", notify.url)
    assert _pass(LATER + dt.timedelta(minutes=1)).sent == 1


def test_a_number_notify_refuses_fails_at_once_and_shows_on_the_outbox(app, client, people, login, make_agreement,
                                                                       notify):
    agreement = make_agreement(status="active")
    links.send_link(agreement, _mother(agreement), people.worker, NOW, channel="text", address="07700 900400")
    report = _pass(LATER)
    assert report.failed == 1 and notify.sent == []
    row = _texts()[0]
    assert row.status == "failed" and row.attempts == 1
    assert row.last_error == "Text message refused: 400 Can't send to this recipient using a team-only API key"
    login(people.admin)
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "GOV.UK Notify refused to send the text message to that number" in page
    assert "+447700900400" in page
    assert "Text message: a family party" in page and "Text message: Text" not in page and "Retry<span class=\"govuk-visually-hidden\"> text message to +447700900400" in page
    # Retrying says what it retries: a text, not an email.
    follow = client.post(f"/admin/outbox/{row.id}/retry", follow_redirects=True).get_data(as_text=True)
    assert "The text message will be sent again within a minute" in follow


def test_a_permanent_failure_read_back_is_a_task_on_the_workers_dashboard(app, client, people, login,
                                                                         make_agreement, notify):
    agreement = make_agreement(status="active")
    links.send_link(agreement, _mother(agreement), people.worker, NOW, channel="text", address="07700 900500")
    assert _pass(LATER).sent == 1
    from jobs.texting import read_statuses

    read_statuses(LATER + dt.timedelta(minutes=1))
    row = _texts()[0]
    assert row.status == "failed" and row.notify_status == "permanent-failure"
    words = "A family party did not receive the link to their own copy: the mobile number does not exist or cannot take text messages"
    login(people.worker)
    dashboard = client.get("/").get_data(as_text=True)
    assert words in dashboard and agreement.reference in dashboard
    assert words in client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    login(people.admin)
    assert "the mobile number does not exist or cannot take text messages" in client.get("/admin/outbox").get_data(
        as_text=True).lower()


def test_a_temporary_failure_read_back_is_a_task_and_a_technical_one_is_sent_again(app, people, make_agreement,
                                                                                  notify):
    from jobs.texting import read_statuses

    first = make_agreement(status="active")
    links.send_link(first, _mother(first), people.worker, NOW, channel="text", address="07700 900600")
    second = make_agreement(status="active")
    links.send_link(second, _mother(second), people.worker, NOW, channel="text", address=MOBILE)
    assert _pass(LATER).sent == 2
    off, fault = _texts()
    notify.statuses[fault.notify_id] = "technical-failure"
    read_statuses(LATER + dt.timedelta(minutes=1))
    off, fault = _texts()
    assert off.status == "failed" and off.notify_status == "temporary-failure" and "72 hours" in off.last_error
    assert fault.status == "pending" and "sending it again" in fault.last_error
    assert _pass(LATER + dt.timedelta(minutes=5)).sent == 1
    assert len(notify.to(MOBILE)) == 2


def test_a_text_still_on_its_way_is_asked_about_again_later(app, people, make_agreement, notify):
    from jobs.texting import read_statuses

    agreement = make_agreement(status="active")
    links.send_link(agreement, _mother(agreement), people.worker, NOW, channel="text", address=MOBILE)
    _pass(LATER)
    row = _texts()[0]
    notify.statuses[row.notify_id] = "sending"
    assert read_statuses(LATER + dt.timedelta(minutes=1)) == 0
    row = _texts()[0]
    assert row.status == "sent" and row.notify_status == "sending"
    assert row.status_check_at == LATER + dt.timedelta(minutes=2)
    del notify.statuses[row.notify_id]
    assert read_statuses(LATER + dt.timedelta(minutes=2)) == 1


def test_a_stopped_link_is_not_texted(app, people, make_agreement, notify):
    agreement = make_agreement(status="active")
    access, _ = links.send_link(agreement, _mother(agreement), people.worker, NOW, channel="text", address=MOBILE)
    links.stop(access, agreement, people.worker, NOW)
    assert _pass(LATER).cancelled == 1
    assert notify.sent == [] and _texts()[0].status == "cancelled"


def test_a_bad_mobile_number_is_refused_beside_the_field_with_the_typing_kept(app, client, people, login,
                                                                              make_agreement, notify):
    agreement = make_agreement(status="active")
    for typed, message in (("01632 960001", "a landline cannot receive a text message"),
                           ("07700 9001", "Enter a UK mobile number with 11 digits"),
                           ("", "Enter the mobile number to send the text message to")):
        response = _send_by_text(client, login, people, agreement, address=typed)
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        field = page[page.index('for="address-'):]
        field = field[:field.index(">", field.index('name="address"'))]  # the label, hint, message and input
        assert "Email address or mobile number" in field and message in field
        assert f'value="{typed}"' in field
    assert _texts() == [] and links.access_for(_mother(agreement)).generation == 0


def test_without_notify_set_up_a_text_is_not_offered_as_working(app, client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    assert texts.available("family_link") is False
    assert "By text message" not in client.get(f"/agreements/{agreement.id}/family").get_data(as_text=True)
    response = _send_by_text(client, login, people, agreement)  # a page from before it was switched off
    assert response.status_code == 400
    assert "Text messages are not set up for this service" in response.get_data(as_text=True)
    assert _texts() == []


def test_with_notify_set_up_the_worker_is_offered_a_text(app, client, people, login, make_agreement, notify):
    agreement = make_agreement(status="active")
    login(people.worker)
    page = client.get(f"/agreements/{agreement.id}/family").get_data(as_text=True)
    assert "By text message" in page and "Email address or mobile number" in page


def test_a_text_notify_took_before_its_answer_was_lost_is_not_sent_twice(app, people, make_agreement, notify):
    agreement = make_agreement(status="active")
    links.send_link(agreement, _mother(agreement), people.worker, NOW, channel="text", address=MOBILE)
    notify.lose_answer_next = True  # Notify takes it, then the answer is a 500
    assert _pass(LATER).retry == 1
    assert len(notify.to(MOBILE)) == 1 and _texts()[0].status == "pending"
    assert _pass(LATER + dt.timedelta(minutes=1)).sent == 1
    (sent,) = notify.to(MOBILE)  # asked by its reference, found, not sent again
    row = _texts()[0]
    assert row.status == "sent" and row.notify_id == sent["id"]


def test_a_text_whose_answer_timed_out_is_not_sent_twice(app, people, make_agreement, notify):
    agreement = make_agreement(status="active")
    links.send_link(agreement, _mother(agreement), people.worker, NOW, channel="text", address=MOBILE)
    app.config["NOTIFY_TIMEOUT"] = 0.5
    notify.slow_answer_next = 1.5  # Notify takes it, but answers after the runner has stopped waiting
    report = _pass(LATER)
    row = _texts()[0]
    assert report.retry == 1 and row.status == "pending" and row.attempts == 0  # an outage is not the text's fault
    assert _pass(LATER + dt.timedelta(minutes=1)).sent == 1
    assert len(notify.to(MOBILE)) == 1 and _texts()[0].notify_id == notify.to(MOBILE)[0]["id"]


def test_a_wrong_api_key_is_refused_by_notify_and_the_text_fails_for_a_person_to_see(app, people, make_agreement,
                                                                                     notify):
    import uuid

    agreement = make_agreement(status="active")
    links.send_link(agreement, _mother(agreement), people.worker, NOW, channel="text", address=MOBILE)
    app.config["NOTIFY_API_KEY"] = f"tracker_tests-{notify.service_id}-{uuid.uuid4()}"  # another secret
    assert _pass(LATER).failed == 1
    row = _texts()[0]
    assert row.status == "failed" and row.last_error == (
        "Text message refused: 403 Invalid token: signature, api token not found")
    assert notify.sent == [] and notify.requests[-1][2] == 403
    from tracker.notices import undeliverable

    assert undeliverable.words(row.to_label, row.kind, row.last_error).endswith(
        "GOV.UK Notify did not accept the service's API key (NOTIFY_API_KEY)")


def test_a_welsh_familys_text_says_what_changed_in_welsh(app, people, make_agreement, notify):
    agreement = make_agreement(status="active", first_language="Welsh")
    access, _code = links.send_link(agreement, _mother(agreement), people.worker, NOW, channel="text", address=MOBILE)
    agreement.version += 1
    agreement.save()
    assert links.new_version(agreement, LATER, ["Contingency plan"]) == 1
    _pass(LATER)
    _first, again = notify.to(MOBILE)
    assert again["personalisation"]["changed"] == "Beth sydd wedi newid: contingency plan."
