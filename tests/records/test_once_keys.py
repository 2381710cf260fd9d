"""A form sent again is the same submission or is shown back; it is never answered "saved" and dropped (R12, R15).

Every create form is walked the same way: send it; send the same page again
(same key) with other words; send it again with the words it first had under
a fresh key, as the browser's Back button does.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import NOW
from tracker.agencies import tokens
from tracker.models import AgencyReport, Agreement, Breach, BreachAmendment, Notification, Recipient
from tracker.records import breaches
from tracker.web.once import new_key


def _breach(**overrides):
    return {"immediate_risk": "no", "description": "Mr Murphy was at the house at 9pm.",
            "occurred_at-day": "23", "occurred_at-month": "11", "occurred_at-year": "2026",
            "occurred_at-time": "08:30", "action": "0", "term": "Contact", "reported_by": "Neighbour, by phone",
            **overrides}


def _staff_breach(agreement, people, _):
    return f"/agreements/{agreement.id}/breaches/new", _breach(), {"description": "Mr Murphy phoned Ella at 11pm."}, Breach


def _agency_breach(agreement, people, _):
    url = "/a/" + tokens.token_for(Recipient.get(Recipient.agreement == agreement)) + "/breach"
    return url, _breach(reported_by="Jo Bloggs"), {"description": "Ella said her father collected her."}, Breach


def _agency_report(agreement, people, _):
    url = "/a/" + tokens.token_for(Recipient.get(Recipient.agreement == agreement)) + "/report"
    return url, {"kind": "report", "body": "Ella is doing well at school."}, {"body": "Ella missed two days."}, AgencyReport


def _amendment(agreement, people, _):
    breach = breaches.log(agreement, {"description": "x", "reported_by": "y"}, NOW, user=people.worker)
    return f"/breaches/{breach.id}/amend", {"text": "It was 10pm, not 9pm."}, \
        {"text": "CORRECTION: the child was taken to hospital."}, BreachAmendment


def _new_record(agreement, people, good_partnership):
    return "/agreements/new?kind=partnership", good_partnership(social_worker=str(people.worker.id)), \
        {"purpose": "To keep Ella and Sam safe at home."}, Agreement


FORMS = [_staff_breach, _agency_breach, _agency_report, _amendment, _new_record]


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.__name__.strip("_"))
def test_a_form_sent_again_is_one_submission_or_is_shown_back(client, people, login, make_agreement, form, good_partnership):
    agreement = make_agreement(status="active", review_at=NOW.replace(year=2027))
    login(people.worker)
    url, first, other, model = form(agreement, people, good_partnership)
    before = model.select().count()
    key = new_key()
    sent = client.post(url, data={**first, "once_key": key})
    assert sent.status_code == 302
    mails = Notification.select().count()

    # The same page again, the same words: the same submission.
    again = client.post(url, data={**first, "once_key": key})
    assert again.status_code == 302 and again.location == sent.location

    # Back in a browser: a fresh key, the same words put back by the browser.
    back = client.post(url, data={**first, "once_key": new_key()})
    assert back.status_code == 302 and back.location == sent.location
    assert model.select().count() == before + 1 and Notification.select().count() == mails

    # The same page with other words: shown back, never "saved" and dropped.
    typed = {**first, **other, "once_key": key}
    stale = client.post(url, data=typed)
    page = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert "This form was already sent" in page and f'href="{sent.location}"' in page
    assert next(iter(other.values())).replace("'", "&#39;") in page
    assert model.select().count() == before + 1
    fresh = re.search(r'name="once_key" type="hidden" value="([^"]+)"', page).group(1)
    assert fresh != key

    # Sent from that page, it is a new one.
    assert client.post(url, data={**typed, "once_key": fresh}).status_code == 302
    assert model.select().count() == before + 2
