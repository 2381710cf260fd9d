"""Every error page, for each kind of visitor (staff signed in, an agency on its link, someone
signed out), names the front door's and the out-of-hours team's telephone numbers and links to
a next step that works for that visitor; an agency's page has no staff link."""

from __future__ import annotations

import re

import pytest
from flask import abort

from tracker import settings
from tracker.agencies import tokens
from tracker.models import Recipient
from tracker.web import ratelimit

LINK = re.compile(r'href="([^"]+)"')
PUBLIC = ("/static/", "/accessibility", "/privacy", "/cookies", "#", "mailto:", "tel:")


@pytest.fixture
def statuses(app):
    """Every status the app has its own error page for, read from its handlers, each reached
    through an address that aborts with it: one for staff pages, one under an agency's link."""
    codes = sorted(code for code in app.error_handler_spec[None] if isinstance(code, int))
    assert {400, 403, 404, 409, 410, 413, 429, 500} <= set(codes)

    def fail(code, token=None):
        abort(code)

    app.add_url_rule("/test-status/<int:code>", "test_status", fail)
    app.add_url_rule("/a/<token>/test-status/<int:code>", "test_agency_status", fail)
    ratelimit.reset()
    yield codes
    ratelimit.reset()


def _assert_next_steps(client, response, audience, working_token=None):
    page = response.get_data(as_text=True).replace("\u00a0", " ")  # numbers are kept on one line
    contacts = settings.contacts()
    assert contacts["front_door_phone"] in page and contacts["out_of_hours_phone"] in page, page[-2000:]
    main = page.split('id="main-content"', 1)[1].split("</main>", 1)[0]
    step = re.search(r'<h2 class="govuk-heading-m">What you can do now</h2>\s*<p class="govuk-body"><a class="govuk-link" href="([^"]+)"', main)
    assert step, main
    href = step.group(1).replace("&amp;", "&")
    if href.startswith("mailto:"):
        assert audience == "agency" and not working_token
        assert href == f"mailto:{contacts['front_door_email']}"
    else:
        ratelimit.reset()  # the link's own rate limit counts every use, and this test uses it often
        assert client.get(href).status_code == 200, href
    if audience == "agency":
        assert (href == f"/a/{working_token}") if working_token else href.startswith("mailto:")
        staff = [h for h in LINK.findall(page) if not h.startswith(PUBLIC) and not h.startswith("/a/")]
        assert not staff, staff
    elif audience == "signed_out":
        assert href == "/login"
    else:
        assert href not in ("/login",) and not href.startswith("/a/")


def test_every_error_page_names_the_numbers_and_a_next_step(client, statuses, people, login, make_agreement):
    agreement = make_agreement(status="active")
    recipient = Recipient.get(Recipient.agreement == agreement)
    token = tokens.token_for(recipient)
    checked = 0
    for code in statuses:
        _assert_next_steps(client, client.get(f"/test-status/{code}"), "signed_out")
        response = client.get(f"/a/{token}/test-status/{code}")
        assert response.status_code == code
        _assert_next_steps(client, response, "agency", working_token=token)
        _assert_next_steps(client, client.get(f"/a/not-a-link/test-status/{code}"), "agency")
        checked += 3
    for user in (people.worker, people.manager, people.head, people.admin):
        login(user)
        for code in statuses:
            response = client.get(f"/test-status/{code}")
            assert response.status_code == code
            _assert_next_steps(client, response, "staff")
            # Signed in on the same browser, an agency's address still shows no staff link.
            _assert_next_steps(client, client.get(f"/a/{token}/test-status/{code}"), "agency", working_token=token)
            checked += 2
    assert checked == len(statuses) * 11


def test_refused_and_stopped_links_and_a_missing_page(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    recipient = Recipient.get(Recipient.agreement == agreement)
    old = tokens.token_for(recipient)
    refused = client.get("/a/garbage")
    assert refused.status_code == 404 and "This link does not work" in refused.get_data(as_text=True)
    _assert_next_steps(client, refused, "agency")
    missing = client.get(f"/a/{old}/no-such-page")
    assert missing.status_code == 404
    _assert_next_steps(client, missing, "agency", working_token=old)
    _assert_next_steps(client, client.get("/no-such-page"), "signed_out")
    login(people.worker)
    found = client.get("/no-such-page")
    _assert_next_steps(client, found, "staff")
    assert 'href="/agreements"' in found.get_data(as_text=True)  # "go to the register" is a link
    client.post(f"/agreements/{agreement.id}/recipients/{recipient.id}/link", data={"what": "revoke"})
    client.post("/logout")
    stopped = client.get(f"/a/{old}")
    assert stopped.status_code == 410 and "This link has stopped working" in stopped.get_data(as_text=True)
    _assert_next_steps(client, stopped, "agency")


def test_a_breach_search_with_no_match_says_what_to_try_and_whom_to_call(client, people, login, make_agreement):
    make_agreement(status="active")
    login(people.worker)
    for response in (client.get("/breaches/new?q=Nobody+Here"),
                     client.get("/breaches/new?q=Nobody+Here", headers={"HX-Request": "true", "HX-Target": "breach-results"})):
        page = response.get_data(as_text=True).replace("\u00a0", " ")
        contacts = settings.contacts()
        assert 'No active agreement or undertaking matches "Nobody Here"' in page
        assert "check the spelling" in page and contacts["front_door_phone"] in page and contacts["out_of_hours_phone"] in page
        [register] = re.findall(r'href="(/agreements\?q=[^"]+)"', page)
        assert client.get(register.replace("&amp;", "&")).status_code == 200
    # A search that finds the child lists it, without the advice.
    found = client.get("/breaches/new?q=Ella").get_data(as_text=True)
    assert "check the spelling" not in found
