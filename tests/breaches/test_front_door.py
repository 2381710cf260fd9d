"""Issue 10, items 1-4: urgent breaches never refused, office hours and the
out-of-hours team, the front door role, and the two kinds of undertaking with
the case-closure workflow. Each behaviour has a case that triggers and one
that must not."""

from __future__ import annotations

import datetime as dt
import html

import pytest
import time_machine

from jobs import sweeps
from jobs.delivery import deliver_pending
from tests.conftest import NOW, PASSWORD
from tracker import models, rules, settings
from tracker.agencies import tokens
from tracker.models import Agreement, AuditEvent, Breach, Child, Notification, User
from tracker.people.accounts import create_user
from tracker.records import breaches, closure, lifecycle, quality
from tracker.settings import role_label

HOUR = dt.timedelta(hours=1)
# NOW is 09:00 on Monday 23 November 2026 (GMT): inside "Mon-Fri 09:00-17:00".
EVENING = NOW + 11 * HOUR  # 20:00 London, Monday
OOH = "out-of-hours@example.org"  # the setting's default (tracker/settings.py)




def queued(kind: str) -> list[Notification]:
    return list(Notification.select().where(Notification.kind == kind).order_by(Notification.id))


def office_hours(value: str = "Mon-Fri 09:00-17:00") -> None:
    settings.put("office_hours", value)


@pytest.fixture
def front_door(people):
    return create_user("frontdoor@council.example", "Fran Front", PASSWORD, "front_door", None)


# --- 1. an urgent breach is never refused (R5) ------------------------------------

def test_urgent_breach_with_only_what_happened_is_saved_and_alerted(client, people, login, make_agreement, breach_form):
    agreement = make_agreement(status="active")
    login(people.worker)
    blank = {"reported_by": "", "occurred_at-day": "", "occurred_at-month": "", "occurred_at-year": "",
             "occurred_at-time": "", "action": ""}
    with time_machine.travel(NOW + HOUR, tick=False):
        response = client.post(f"/agreements/{agreement.id}/breaches/new",
                               data=breach_form(immediate_risk="yes", description="Dad is at the house now.", **blank))
        assert response.status_code == 302
        page = client.get(response.location).get_data(as_text=True)
    assert "Call 999 now" in page and "Add the missing details" in page
    breach = Breach.get()
    assert breach.immediate_risk and breach.description == "Dad is at the house now."
    assert set(breach.not_given.split(",")) == {"reported_by", "occurred_at"}
    assert breach.occurred_at == NOW + HOUR and breach.escalate_at == NOW + 2 * HOUR
    assert {n.to_address for n in queued("breach_alert")} == {people.worker.email, people.manager.email}
    shown = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert "Not given" in shown and "when it happened: not given" in shown
    # The missing details are added as an amendment; the original stays as it was.
    assert client.post(f"/breaches/{breach.id}/amend", data={"text": "Reported by Mrs Lee, next door."}).status_code == 302
    assert Breach.get_by_id(breach.id).reported_by == "" and breach.amendments.count() == 1


def test_urgent_breach_with_nothing_but_yes_or_an_unreadable_time_is_still_saved(client, people, login,
                                                                                 make_agreement, breach_form):
    agreement = make_agreement(status="active")
    login(people.worker)
    response = client.post(f"/agreements/{agreement.id}/breaches/new", data={"immediate_risk": "yes"})
    assert response.status_code == 302
    assert Breach.get().not_given.split(",") == ["description", "reported_by", "occurred_at"]
    assert len(queued("breach_alert")) == 2
    response = client.post(f"/agreements/{agreement.id}/breaches/new",
                           data=breach_form(immediate_risk="yes", reported_by="", **{"occurred_at-time": "25:99"}))
    assert response.status_code == 302
    breach = Breach.select().order_by(Breach.id.desc()).get()
    assert "(When it happened, as typed: 23 11 2026 25:99)" in breach.description
    assert "occurred_at" in breach.not_given


def test_a_breach_without_urgency_still_needs_who_reported_it(client, people, login, make_agreement, breach_form):
    agreement = make_agreement(status="active")
    login(people.worker)
    response = client.post(f"/agreements/{agreement.id}/breaches/new", data=breach_form(reported_by=""))
    assert response.status_code == 400
    assert "Enter who reported it" in response.get_data(as_text=True)
    assert Breach.select().count() == 0 and queued("breach_alert") == []


def test_agency_urgent_breach_with_only_yes_is_saved_with_the_link_as_reporter(client, people, make_agreement):
    from tracker.models import Recipient

    agreement = make_agreement(status="active")
    recipient = Recipient.get(Recipient.agreement == agreement)
    response = client.post(f"/a/{tokens.token_for(recipient)}/breach", data={"immediate_risk": "yes", "reported_by": ""},
                           follow_redirects=True)
    assert response.status_code == 200 and "Call 999 now" in response.get_data(as_text=True)
    breach = Breach.get()
    assert breach.reported_by == "Jo Bloggs, Riverside Primary School" and breach.not_given == "description,occurred_at"
    assert len(queued("breach_alert")) == 2


def test_urgent_breach_escalates_after_one_hour_and_a_routine_one_after_24(app, people, make_agreement):
    agreement = make_agreement(status="active")
    urgent = breaches.log(agreement, {"description": "At the house", "immediate_risk": True}, NOW, user=people.worker)
    routine = breaches.log(agreement, {"description": "Late to school", "reported_by": "School"}, NOW, user=people.worker)
    assert sweeps.breach_escalations(NOW + HOUR - dt.timedelta(minutes=1)) == 0
    assert sweeps.breach_escalations(NOW + HOUR) == 2  # the team and service managers, for the urgent one
    assert {n.key.split("/")[1] for n in queued("breach_escalation")} == {str(urgent.id)}
    assert Breach.get_by_id(routine.id).escalated_at is None
    assert sweeps.breach_escalations(NOW + 24 * HOUR) == 2
    settings.put("urgent_breach_escalation_hours", "3")
    later = breaches.log(agreement, {"description": "Again", "immediate_risk": True}, NOW, user=people.worker)
    assert later.escalate_at == NOW + 3 * HOUR


@pytest.mark.parametrize(("text", "moment", "inside"), [
    ("Mon-Fri 09:00-17:00", NOW, True),
    ("Mon-Fri 09:00-17:00", NOW - dt.timedelta(minutes=1), False),
    ("Mon-Fri 09:00-17:00", EVENING, False),
    ("Mon-Fri 09:00-17:00", NOW + 5 * 24 * HOUR, False),  # Saturday
    ("Mon-Thu 09:00-17:00; Fri 09:00-16:30", dt.datetime(2026, 11, 27, 16, 45), False),
    ("Mon,Wed 08:00-18:00", dt.datetime(2026, 7, 6, 7, 30), True),  # 08:30 BST on a Monday
    ("Mon-Sun 00:00-24:00", dt.datetime(2026, 11, 29, 23, 59, 59), True),
])
def test_office_hours_are_read_in_london_time(text, moment, inside):
    assert rules.in_office_hours(rules.parse_office_hours(text), moment) is inside


@pytest.mark.parametrize("text", ["", "9-5", "Mon-Fri 9:00-17:00", "Fri-Mon 09:00-17:00", "Mon-Fri 17:00-09:00",
                                  "Mon-Fry 09:00-17:00", "Mon-Fri 24:30-25:00", "Mon-Fri 09:00-17:00;"[:-1] + "x"])
def test_office_hours_refuse_what_they_cannot_read(text):
    with pytest.raises(ValueError):
        rules.parse_office_hours(text)


def test_a_bad_office_hours_setting_is_refused_beside_the_field(client, people, login):
    login(people.admin)
    response = client.post("/admin/settings", data={"office_hours": "weekdays nine to five"})
    assert response.status_code == 400 and "must look like Mon-Fri 09:00-17:00" in response.get_data(as_text=True)
    response = client.post("/admin/settings", data={**{d.key: settings.raw(d.key) for d in settings.DEFINITIONS},
                                                    "office_hours": "Mon-Thu 09:00-17:00; Fri 09:00-16:30"})
    assert response.status_code in (200, 302)
    assert settings.raw("office_hours") == "Mon-Thu 09:00-17:00; Fri 09:00-16:30"


def test_a_bad_office_hours_environment_value_stops_start_up(monkeypatch):
    from pathlib import Path

    from tracker.config import ConfigError, from_environment

    monkeypatch.setenv("OFFICE_HOURS", "all day")
    with pytest.raises(ConfigError, match="OFFICE_HOURS"):
        from_environment(Path("/nonexistent-instance"))


def test_breach_alert_outside_office_hours_reaches_the_out_of_hours_team_with_the_numbers(
        app, people, make_agreement, smtp):
    office_hours()
    agreement = make_agreement(status="active")
    breaches.log(agreement, {"description": "Dad at the house", "reported_by": "Neighbour", "immediate_risk": True},
                 EVENING, user=people.worker)
    deliver_pending(EVENING)
    (mail,) = smtp.to(OOH)
    body = mail.get_body(("plain",)).get_content()
    assert "URGENT" in mail["Subject"] and "0100 000 0000" in body and "0100 000 0999" in body
    assert "outside office hours" in body
    assert smtp.to(people.worker.email) and smtp.to(people.manager.email)
    # In office hours, the team only, with the numbers all the same.
    breaches.log(agreement, {"description": "Dad at the house again", "reported_by": "Neighbour"}, NOW + HOUR,
                 user=people.worker)
    deliver_pending(NOW + HOUR)
    assert len(smtp.to(OOH)) == 1 and len(smtp.to(people.worker.email)) == 2
    body = smtp.to(people.worker.email)[1].get_body(("plain",)).get_content()
    assert "Front door: 0100 000 0000" in body and "24 hours" in body and "outside office hours" not in body


def test_undertaking_escalation_out_of_hours_goes_to_the_out_of_hours_team_but_the_warning_does_not(
        app, people, make_agreement):
    office_hours()
    undertaking = make_agreement(kind="undertaking", status="active", window_starts_at=NOW,
                                 window_ends_at=EVENING)  # ends 20:00 London
    assert sweeps.undertaking_ladder(EVENING - 2 * HOUR) == 2  # the warning at 18:00: worker and manager
    assert sweeps.undertaking_ladder(EVENING) == 3
    assert OOH in {n.to_address for n in queued("undertaking_escalation")}
    assert OOH not in {n.to_address for n in queued("undertaking_warning")}
    assert Agreement.get_by_id(undertaking.id).escalation_level == 1
    # In office hours the escalation stays with the team.
    make_agreement(kind="undertaking", status="active", window_starts_at=NOW - 48 * HOUR, window_ends_at=NOW + HOUR)
    assert sweeps.undertaking_ladder(NOW + HOUR) == 2


def test_one_configurable_term_and_the_number_on_pages_and_emails(client, people, login, make_agreement, breach_form):
    assert settings.contacts()["front_door_email"] == "front-door@council.example"  # FRONT_DOOR_EMAIL, the default
    settings.put("front_door_email", "hub@council.example")  # an administrator's value wins
    settings.put("front_door_term", "Children's Hub")
    settings.put("front_door_phone", "0300 123 4567")
    undertaking = make_agreement(kind="undertaking", status="active")
    Agreement.update(social_worker=None).where(Agreement.id == undertaking.id).execute()
    login(people.manager)
    page = html.unescape(client.get(f"/agreements/{undertaking.id}").get_data(as_text=True))
    assert "the children's hub is contacted on 0300 123 4567" in page
    response = client.post(f"/agreements/{undertaking.id}/breaches/new", data=breach_form(), follow_redirects=True)
    page = html.unescape(response.get_data(as_text=True))
    assert "(the children's hub, as no social worker is named)" in page and "0300 123 4567" in page
    alert = Notification.get((Notification.kind == "breach_alert") & (Notification.to_address == "hub@council.example"))
    assert alert.to_label == "Children's Hub"
    assert "Children's Hub: 0300 123 4567" in alert.body_text
    for text in (page, alert.body_text, html.unescape(alert.body_html)):
        assert "front door" not in text.lower() and "duty team" not in text.lower()


# --- 3. the front door role ---------------------------------------------------------

def test_front_door_reads_every_teams_active_records_but_changes_nothing(client, people, login, make_agreement,
                                                                          front_door):
    north = make_agreement(status="active")
    south = make_agreement(status="active", worker=people.other_worker)
    ended = make_agreement(status="ended")
    draft = make_agreement()
    login(front_door)
    assert client.get(f"/agreements/{north.id}").status_code == 200
    assert client.get(f"/agreements/{south.id}").status_code == 200
    assert client.get(f"/agreements/{ended.id}").status_code == 403
    assert client.get(f"/agreements/{draft.id}").status_code == 403
    for path in ("edit", "end", "endorse", "history", "review"):
        assert client.get(f"/agreements/{north.id}/{path}").status_code == 403, path
    register = client.get("/agreements").get_data(as_text=True)
    assert north.reference in register and south.reference in register and draft.reference not in register
    assert client.get(f"/agreements/{south.id}/breaches/new").status_code == 200
    assert client.get("/agreements/new?kind=undertaking").status_code == 403
    # Its dashboard is its own work: records with no social worker, in any team.
    Agreement.update(social_worker=None).where(Agreement.id == south.id).execute()
    page = client.get("/").get_data(as_text=True)
    assert south.reference in page and north.reference not in page


def test_links_in_the_front_doors_emails_open_pages_it_can_see(client, people, login, make_agreement, front_door):
    left = make_agreement(kind="undertaking", status="active")
    Agreement.update(social_worker=None).where(Agreement.id == left.id).execute()
    breach = breaches.log(left, {"description": "x", "reported_by": "School"}, NOW, user=people.manager)
    lifecycle.end(Agreement.get_by_id(left.id), people.manager, NOW + HOUR, "breached")
    sweeps.breach_escalations(NOW + 25 * HOUR)
    mails = [n for n in Notification.select() if n.to_address == "front-door@council.example"]
    assert {n.kind for n in mails} == {"breach_alert", "breach_escalation"}
    login(front_door)
    for mail in mails:
        path = mail.body_text.split("http://tracker.test", 1)[1].split()[0]
        assert client.get(path).status_code == 200, (mail.kind, path)
    # It acknowledges breaches where no social worker is named, and no others.
    owned = make_agreement(status="active")
    on_owned = breaches.log(owned, {"description": "x", "reported_by": "School"}, NOW, user=people.manager)
    assert client.get(f"/breaches/{on_owned.id}/acknowledge").status_code == 403
    response = client.post(f"/breaches/{breach.id}/acknowledge", data={"response": "strategy", "response_notes": "Rang"})
    assert response.status_code == 302
    assert Breach.get_by_id(breach.id).acknowledged_by_id == front_door.id


def test_administrators_create_front_door_users(client, people, login, app):
    login(people.admin)
    response = client.post("/admin/users/new", data={"name": "Fran Front", "email": "fran@council.example",
                                                     "role": "front_door", "team": "0", "password": "a-long-password-1",
                                                     "active": "y"})
    assert response.status_code == 302
    assert User.get(User.email == "fran@council.example").role == "front_door"
    result = app.test_cli_runner().invoke(args=["create-user", "--email", "door2@council.example", "--name", "D Two",
                                                "--role", "front_door", "--password", "a-long-password-2"])
    assert result.exit_code == 0, result.output
    assert role_label(User.get(User.email == "door2@council.example")) == "Front door"


# --- 4. two kinds of undertaking, and closing a child's case ----------------------

def test_closure_undertaking_from_the_form_lasts_its_weeks_up_to_the_setting(people, make_agreement):
    ok = make_agreement(kind="undertaking", undertaking_kind="closure", closure_weeks="8", window_ends_at=None)
    assert ok.is_closure_undertaking and ok.window_ends_at == ok.window_starts_at + dt.timedelta(weeks=8)
    with pytest.raises(rules.RuleBroken) as refused:
        make_agreement(kind="undertaking", undertaking_kind="closure", closure_weeks="13")
    assert "from 1 to 12" in refused.value.errors["closure_weeks"]
    settings.put("closure_undertaking_max_weeks", "16")
    assert make_agreement(kind="undertaking", undertaking_kind="closure", closure_weeks="13").closure_weeks == 13


def test_emergency_undertaking_keeps_its_hours_ceiling(people, make_agreement):
    with pytest.raises(rules.RuleBroken) as refused:
        make_agreement(kind="undertaking", window_starts_at=NOW, window_ends_at=NOW + dt.timedelta(weeks=8))
    assert "at most 72 hours" in refused.value.errors["window_ends_at"]


def test_closure_undertaking_is_reminded_and_escalated_once_with_no_ladder(app, people, make_agreement):
    undertaking = make_agreement(kind="undertaking", status="active", undertaking_kind="closure", closure_weeks="4",
                                 window_starts_at=NOW)
    ends = undertaking.window_ends_at
    assert sweeps.undertaking_ladder(ends - dt.timedelta(days=7, minutes=1)) == 0
    assert sweeps.undertaking_ladder(ends - dt.timedelta(days=7)) == 3  # front door, worker, manager
    reminder = queued("closure_reminder")
    assert reminder[0].to_address == "front-door@council.example" and "0100 000 0000" in reminder[0].body_text
    assert sweeps.undertaking_ladder(ends) == 3
    assert len(queued("closure_escalation")) == 3
    for later in (4 * HOUR, 8 * HOUR, 24 * 7 * HOUR):
        assert sweeps.undertaking_ladder(ends + later) == 0
    assert Agreement.get_by_id(undertaking.id).next_escalation_at is None
    assert queued("undertaking_escalation") == []
    # An emergency undertaking still climbs the ladder every four hours.
    emergency = make_agreement(kind="undertaking", status="active", window_starts_at=ends, window_ends_at=ends + HOUR)
    assert sweeps.undertaking_ladder(ends + HOUR) == 2 and sweeps.undertaking_ladder(ends + 5 * HOUR) == 3
    assert Agreement.get_by_id(emergency.id).escalation_level == 2


def _child(agreement) -> Child:
    return Child.get_by_id(agreement.child_links.get().child_id)


def test_closing_a_case_ends_one_record_and_hands_another_to_the_front_door(client, people, login, make_agreement):
    partnership = make_agreement(status="active")
    undertaking = make_agreement(kind="undertaking", status="active")
    child = _child(partnership)
    for outsider in (people.worker, people.other_manager):  # managers of every record only
        login(outsider)
        assert client.get(f"/children/{child.id}/close").status_code == 403
    login(people.manager)
    page = client.get(f"/children/{child.id}/close").get_data(as_text=True)
    assert partnership.reference in page and undertaking.reference in page
    response = client.post(f"/children/{child.id}/close", data={f"decision-{partnership.id}": "end",
                                                                f"weeks-{partnership.id}": "8"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f"Select why {partnership.reference} is ending" in page
    assert f"Choose what happens to {undertaking.reference}" in page
    assert 'value="8"' in page  # what was typed is kept
    assert Agreement.select().where(Agreement.status == "active").count() == 2
    assert Child.get_by_id(child.id).case_closed_at is None
    with time_machine.travel(NOW + HOUR, tick=False):
        response = client.post(f"/children/{child.id}/close", data={
            f"decision-{partnership.id}": "closure", f"weeks-{partnership.id}": "6",
            f"decision-{undertaking.id}": "end", f"reason-{undertaking.id}": "reviewed_closed",
            "notes": "Concerns resolved."})
    assert response.status_code == 302
    assert Agreement.get_by_id(partnership.id).end_reason == "replaced"
    assert Agreement.get_by_id(undertaking.id).end_reason == "reviewed_closed"
    made = Agreement.get(Agreement.undertaking_kind == "closure")
    # A draft of its own, sent for endorsement: the manager who closed the case made it,
    # so another manager reads it and endorses it (R16); nothing goes to the agencies before.
    assert made.status == "awaiting_endorsement" and made.social_worker_id is None and made.endorsed_by_id is None
    assert not Notification.select().where(Notification.agreement == made, Notification.kind == "copy_issued").count()
    assert client.get(f"/agreements/{made.id}/endorse").status_code == 403
    failing = {c.key for c in quality.failing_checks(made, NOW + HOUR)}
    assert "social_worker_named" in failing  # "The social worker will visit every two weeks", and none is named
    lifecycle.endorse(made, people.head, NOW + HOUR, override="The front door will visit instead")
    made = Agreement.get_by_id(made.id)
    # Version 1 is in force, with its snapshot, like any endorsed record (R11).
    assert made.version == 1 and [v.number for v in made.versions] == [1]
    assert made.window_ends_at == NOW + HOUR + dt.timedelta(weeks=6)
    assert made.next_escalation_at == made.window_ends_at - dt.timedelta(days=7)
    assert "Contact the front door on 0100 000 0000" in made.if_things_go_wrong
    assert [a.what for a in models.live_actions(made)] == [a.what for a in models.live_actions(partnership)]
    assert Child.get_by_id(child.id).case_closed_at == NOW + HOUR
    assert AuditEvent.select().where(AuditEvent.action == "case_closed").count() == 2
    (copy,) = Notification.select().where(Notification.agreement == made, Notification.kind == "copy_issued")
    assert "No social worker is named: contact the front door on 0100 000 0000" in copy.body_text
    page = client.get(response.location).get_data(as_text=True)
    assert "Closure undertaking" in page and "Front door: 0100 000 0000" in page
    assert Agreement.select().where((Agreement.status == "active") & (Agreement.kind == "partnership")).count() == 0


def test_a_new_partnership_agreement_reopens_a_closed_case(app, people, make_agreement):
    first = make_agreement(status="active")
    child = _child(first)
    second = make_agreement(status="active")  # the same child: a record the page did not show
    with pytest.raises(rules.RuleBroken):
        closure.close_case(child, {first.id: closure.Decision(choice="end", reason="reviewed_closed")},
                           people.manager, NOW)
    assert Agreement.select().where(Agreement.status == "active").count() == 2  # nothing half-done
    lifecycle.end(second, people.manager, NOW, "reviewed_closed")
    closure.close_case(child, {first.id: closure.Decision(choice="end", reason="reviewed_closed")}, people.manager, NOW)
    assert Child.get_by_id(child.id).case_closed_at == NOW
    make_agreement(status="active")
    assert Child.get_by_id(child.id).case_closed_at is None
    assert AuditEvent.select().where(AuditEvent.action == "case_reopened").count() == 1


def test_the_front_doors_dashboard_has_no_endorsing_or_issuing_tables(client, people, login, make_agreement,
                                                                      front_door):
    """Endorsing and issuing are a team's work: the front door's dashboard links to nothing it cannot open."""
    make_agreement(kind="undertaking")
    lifecycle.submit(Agreement.get(), people.worker, NOW)
    login(front_door)
    page = client.get("/").get_data(as_text=True)
    assert "Undertakings past their end" in page
    assert "Waiting for your endorsement" not in page and "not yet issued" not in page
    login(people.manager)
    assert "Waiting for your endorsement" in client.get("/").get_data(as_text=True)
