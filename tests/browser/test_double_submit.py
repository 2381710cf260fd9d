"""A double click on the breach form logs one breach and sends one set of alerts (R12)."""

from __future__ import annotations

import time

import pytest
from flask import request

from tests.browser.conftest import active_record, assert_accessible, sign_in
from tracker.agencies import tokens
from tracker.models import Breach, Notification, Recipient

pytestmark = pytest.mark.browser


def _fill(page) -> None:
    page.get_by_role("radio", name="No", exact=True).check()
    page.locator("#description").fill("Mr Murphy was at the house at 9pm; the neighbour saw him.")
    page.get_by_role("radio", name="Something else").check()
    page.locator("#term").fill("Contact arrangements")


def _slow_line(app) -> None:
    """Breach posts take half a second to answer, so a second click lands while the first is on its way."""

    @app.before_request
    def wait():
        if request.method == "POST" and "breach" in request.path:
            time.sleep(0.5)


def _click_twice(page, name: str) -> None:
    """Two real mouse clicks, the second while the first answer is still on its way."""
    box = page.get_by_role("button", name=name).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x, y)
    page.wait_for_timeout(150)
    page.mouse.click(x, y)


def test_double_clicking_log_the_breach_logs_one(page, live):
    _slow_line(live.app)
    agreement = active_record(live.people)
    sign_in(page, live, live.people.worker)
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(f"{live.url}/agreements/{agreement.id}/breaches/new")
    _fill(page)
    page.locator("#reported_by").fill("Neighbour, by phone")
    _click_twice(page, "Log the breach")
    page.get_by_role("heading", name="Breach logged").wait_for()
    assert len(posts) == 2, posts  # the browser did send the form twice
    assert Breach.select().count() == 1
    assert Notification.select().where(Notification.kind == "breach_alert").count() == 2  # worker and manager, once
    assert_accessible(page, "breach logged after a double click")

    # The agency's form too: a double click, then a refresh of the page it lands on.
    recipient = Recipient.get(Recipient.agreement == agreement)
    page.goto(f"{live.url}/a/{tokens.token_for(recipient)}/breach")
    _fill(page)
    _click_twice(page, "Report the breach")
    page.get_by_role("heading", name="Breach reported").wait_for()
    page.reload()
    page.get_by_role("heading", name="Breach reported").wait_for()
    assert Breach.select().count() == 2


def test_back_and_send_again_neither_drops_nor_duplicates(page, live):
    """The browser's Back draws the page afresh (no-store) and puts the typing back: the same words
    sent again are the breach already logged; other words are shown back, then logged as a new one."""
    agreement = active_record(live.people)
    sign_in(page, live, live.people.worker)
    form_url = f"{live.url}/agreements/{agreement.id}/breaches/new"
    page.goto(form_url)
    key = page.locator("input[name=once_key]").input_value()
    _fill(page)
    page.locator("#reported_by").fill("Neighbour, by phone")
    page.get_by_role("button", name="Log the breach").click()
    page.get_by_role("heading", name="Breach logged").wait_for()
    first = page.url
    alerts = Notification.select().where(Notification.kind == "breach_alert").count()

    page.go_back()
    assert page.locator("#description").input_value().startswith("Mr Murphy")  # the browser's form restore
    page.get_by_role("button", name="Log the breach").click()
    page.get_by_role("heading", name="Breach logged").wait_for()
    assert page.url == first and Breach.select().count() == 1
    assert Notification.select().where(Notification.kind == "breach_alert").count() == alerts

    # A second tab kept open on the first page (its key): other words are never "saved" and dropped.
    second = page.context.new_page()
    second.goto(form_url)
    second.evaluate("key => document.querySelector('input[name=once_key]').value = key", key)
    second.locator("#description").fill("Mr Murphy phoned Ella at 11pm.")
    second.get_by_role("radio", name="No", exact=True).check()
    second.get_by_role("radio", name="Something else").check()
    second.locator("#term").fill("Contact arrangements")
    second.locator("#reported_by").fill("Ms Murphy")
    second.get_by_role("button", name="Log the breach").click()
    second.get_by_role("heading", name="This form was already sent").wait_for()
    assert second.locator("#description").input_value() == "Mr Murphy phoned Ella at 11pm."
    assert Breach.select().count() == 1
    assert_accessible(second, "breach form already sent")
    second.get_by_role("button", name="Log the breach").click()
    second.get_by_role("heading", name="Breach logged").wait_for()
    assert Breach.select().count() == 2
