"""An urgent breach out of hours also texts the out-of-hours team, where a setting gives its mobile (R5, R20)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tracker import settings
from tracker.models import Child, Notification
from tracker.records import breaches

SATURDAY = dt.datetime(2026, 11, 28, 22, 0)  # 10pm, outside Mon-Fri 09:00-17:00
MONDAY = dt.datetime(2026, 11, 23, 11, 0)
OOH_MOBILE = "07700 900777"


def _breach(agreement, now, urgent=True):
    return breaches.log(agreement, {"description": "Dad came to the house at 9pm.", "immediate_risk": urgent,
                                    "reported_by": "Neighbour", "occurred_at": now}, now)


def _texts() -> list[Notification]:
    return list(Notification.select().where(Notification.channel == "text"))


@pytest.fixture
def out_of_hours_mobile(app):
    settings.put("office_hours", "Mon-Fri 09:00-17:00")
    settings.put("out_of_hours_mobile", OOH_MOBILE)


def test_an_urgent_breach_out_of_hours_texts_the_reference_and_link_only(app, people, make_agreement, notify,
                                                                        out_of_hours_mobile):
    from jobs.texting import text_pass

    agreement = make_agreement(status="active")
    breach = _breach(agreement, SATURDAY)
    (row,) = _texts()
    assert row.kind == "breach_alert" and row.to_address == "+447700900777" and row.to_label == "Out-of-hours team"
    assert Notification.select().where((Notification.channel == "email") & (Notification.kind == "breach_alert")
                                       & (Notification.to_label == "Out-of-hours team")).count() == 1
    # Logging it again (a form posted twice reaches the same breach) queues no second text.
    from tracker.notices import mailings

    assert mailings.out_of_hours_text(breach, agreement, SATURDAY) == 0
    assert text_pass(SATURDAY + dt.timedelta(minutes=1)).sent == 1
    (sent,) = notify.to(OOH_MOBILE)
    assert sent["personalisation"] == {"reference": agreement.reference,
                                       "link": f"http://tracker.test/agreements/{agreement.id}"}
    said = json.dumps(sent)
    assert "Dad came" not in said and "Neighbour" not in said
    for child in Child.select():
        assert child.name not in said and child.name.split()[-1] not in said


@pytest.mark.parametrize("when, urgent, mobile", [(MONDAY, True, OOH_MOBILE), (SATURDAY, False, OOH_MOBILE),
                                                  (SATURDAY, True, "")])
def test_no_text_in_office_hours_for_a_breach_that_is_not_urgent_or_without_the_setting(
        app, people, make_agreement, notify, out_of_hours_mobile, when, urgent, mobile):
    settings.put("out_of_hours_mobile", mobile)
    _breach(make_agreement(status="active"), when, urgent=urgent)
    assert _texts() == []


def test_the_text_settings_are_refused_beside_the_field_and_saved_as_typed(client, people, login):
    login(people.admin)
    every = {d.key: settings.raw(d.key) for d in settings.DEFINITIONS}
    for key, typed, message in (("out_of_hours_mobile", "0100 000 0999", "a landline cannot receive a text message"),
                                ("notify_template_family_link", "not-an-id", "must be a Notify template id"),
                                ("notify_base_url", "http://notify.example.org", "must be an address starting https://")):
        response = client.post("/admin/settings", data={**every, key: typed})
        page = response.get_data(as_text=True)
        assert response.status_code == 400 and message in page and f'value="{typed}"' in page
        assert settings.raw(key) == every[key]
    response = client.post("/admin/settings", data={**every, "out_of_hours_mobile": "07700 900777",
                                                    "notify_template_breach_alert": "5b2e7c44-8d0a-4f6b-b1c3-9e4d2a6f8b02"})
    assert response.status_code in (200, 302)
    assert settings.raw("out_of_hours_mobile") == "07700 900777"  # what was typed; read as +447700900777
    assert settings.get("out_of_hours_mobile") == "+447700900777"


def test_the_api_key_comes_from_the_environment_and_a_malformed_one_stops_start_up(monkeypatch):
    from tracker.config import ConfigError, env_notify_key

    monkeypatch.setenv("NOTIFY_API_KEY", "not a key")
    with pytest.raises(ConfigError, match="NOTIFY_API_KEY"):
        env_notify_key("NOTIFY_API_KEY")
    key = "tracker-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0"
    monkeypatch.setenv("NOTIFY_API_KEY", key)
    assert env_notify_key("NOTIFY_API_KEY") == key
