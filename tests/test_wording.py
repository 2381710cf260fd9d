"""Wording found wrong (issue 12, item 8), and email timing and subjects (item 9)."""

from __future__ import annotations

import datetime as dt
import html

from tracker.models import Agreement


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_an_action_dated_in_its_timescale_is_not_dated_twice(client, people, login, make_agreement):
    agreement = make_agreement(actions=[
        {"what": "Ms Murphy will register Ella with a dentist.", "who": "Ms Murphy", "side": "family",
         "timescale": "By 15 December 2026", "due_on": dt.date(2026, 12, 15)},
    ])
    login(people.worker)
    page = _text(client.get(f"/agreements/{agreement.id}"))
    assert "By 15 December 2026" in page
    assert "15 December 2026, by 15 December 2026" not in page
    printable = _text(client.get(f"/agreements/{agreement.id}/print"))
    assert "15 December 2026, by 15 December 2026" not in printable


def test_the_extend_page_asks_for_the_new_end_in_plain_words(client, people, login, make_agreement):
    agreement = make_agreement(kind="undertaking", status="active")
    login(people.manager)
    response = client.post(f"/agreements/{agreement.id}/extend",
                           data={"revision": agreement.revision, "reason": "Court hearing moved"})
    page = _text(response)
    assert response.status_code == 400
    assert "Enter the undertaking must now end by" not in page
    assert "Enter the date and time the undertaking must now end by" in page


def test_the_written_check_names_what_is_missing_in_plain_words(client, people, login, make_agreement):
    agreement = make_agreement(if_things_go_wrong="", contingency="")
    login(people.worker)
    page = _text(client.get(f"/agreements/{agreement.id}"))
    assert "Write the if things go wrong" not in page
    assert "Write what happens if things go wrong, and the contingency plan" in page


def test_the_undertaking_form_labels_the_breach_box_as_a_breach(client, people, login, make_agreement):
    agreement = make_agreement(kind="undertaking")
    login(people.worker)
    for url in ("/agreements/new?kind=undertaking", f"/agreements/{agreement.id}/edit"):
        page = _text(client.get(url))
        assert "If the undertaking is breached" in page
        assert "If things go wrong" not in page, url
    partnership = _text(client.get("/agreements/new?kind=partnership"))
    assert "If things go wrong" in partnership


def test_a_draft_has_no_red_end_button_only_a_link_to_the_end_page(client, people, login, make_agreement):
    agreement = make_agreement()
    login(people.worker)
    page = _text(client.get(f"/agreements/{agreement.id}"))
    assert "Send for endorsement" in page
    assert "govuk-button--warning" not in page
    assert f'href="/agreements/{agreement.id}/end"' in page
    assert client.get(f"/agreements/{agreement.id}/end").status_code == 200


def test_endorsing_with_nobody_on_the_list_does_not_claim_copies_were_sent(client, people, login, make_agreement):
    agreement = make_agreement(recipients=[], status="awaiting_endorsement")
    login(people.manager)
    response = client.post(f"/agreements/{agreement.id}/endorse", data={"override": "No agencies involved yet."})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    page = _text(client.get(response.location))
    assert Agreement.get_by_id(agreement.id).status == "active"
    assert "Copies have been sent to the distribution list" not in page
    assert "Nobody is on the distribution list, so no copies were sent" in page


def test_the_social_worker_dropdown_lists_social_workers_only(client, people, login):
    login(people.worker)
    page = _text(client.get("/agreements/new?kind=partnership"))
    assert "Sam Worker" in page and "Priya Colleague" in page
    assert "Maria Manager" not in page
