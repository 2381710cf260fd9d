"""axe on every page at desktop and phone sizes; keyboard-only walks through two forms."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.conftest import assert_accessible, caseload, pages_of_caseload, screenshot, sign_in
from tracker.agencies import tokens
from tracker.clock import utcnow
from tracker.models import Breach, Recipient, Review

pytestmark = pytest.mark.browser



@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_page_has_no_serious_accessibility_violation(browser, live, size):
    people = live.people
    agreement, undertaking, draft, breach = caseload(people)
    token = tokens.token_for(Recipient.get(Recipient.agreement == agreement))
    viewport = {"width": 1280, "height": 900} if size == "desktop" else {"width": 375, "height": 740}
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    checked = 0
    for who, urls in pages_of_caseload(agreement, undertaking, draft, breach, token).items():
        user = {"manager": people.manager, "head": people.head, "admin": people.admin}.get(who)
        if user is not None:
            sign_in(page, live, user)
        for url in urls:
            if url.endswith("/print") and user is None:
                sign_in(page, live, people.manager)
            response = page.goto(live.url + url)
            assert response.status < 500, url
            assert_accessible(page, f"{url} ({size})")
            checked += 1
        if user is not None:
            page.get_by_role("button", name="Sign out").click()
    context.close()
    assert checked >= 30


def tab_to(page, name: str, most: int = 60) -> None:
    """Press Tab until the field called `name` has the focus, as a keyboard user would."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == name:
            return
    raise AssertionError(f"could not reach {name} by Tab")


def test_breach_form_by_keyboard_alone(page, live):
    people = live.people
    agreement, *_ = caseload(people)
    sign_in(page, live, people.worker)
    page.goto(f"{live.url}/agreements/{agreement.id}/breaches/new")
    page.locator("body").focus()
    # Tab to the first control; arrow keys move between radios, space selects.
    tab_to(page, "immediate_risk")
    page.keyboard.press("ArrowDown")  # to "No"
    assert page.evaluate("document.activeElement.value") == "no"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "description"
    page.keyboard.type("Reported by phone: Ella missed nursery today.")
    tab_to(page, "reported_by")
    page.keyboard.press("Control+A")
    page.keyboard.type("Ms Murphy, by phone")
    page.keyboard.press("Enter")  # submits the form
    page.get_by_role("heading", name="Breach logged").wait_for()
    assert Breach.select().where(Breach.reported_by == "Ms Murphy, by phone").count() == 1
    screenshot(page, "30-breach-by-keyboard")


def test_review_form_by_keyboard_alone(page, live):
    people = live.people
    agreement, *_ = caseload(people)
    sign_in(page, live, people.manager)
    page.goto(f"{live.url}/agreements/{agreement.id}/review")
    page.locator("body").focus()
    tab_to(page, "attendees")
    page.keyboard.type("Ms Murphy, Sam Worker")
    tab_to(page, "outcome")
    page.keyboard.press("Space")  # the first outcome: continue
    assert page.evaluate("document.activeElement.value") == "continue"
    later = utcnow() + dt.timedelta(days=50)
    tab_to(page, "next_review_at-day")
    page.keyboard.type(str(later.day))
    page.keyboard.press("Tab")
    page.keyboard.type(str(later.month))
    page.keyboard.press("Tab")
    page.keyboard.type(str(later.year))
    page.keyboard.press("Tab")
    page.keyboard.type("10:00")
    page.keyboard.press("Enter")
    page.get_by_text("Review recorded").wait_for()
    assert Review.select().where((Review.agreement == agreement) & (Review.status == "held")).count() == 1
    screenshot(page, "31-review-by-keyboard")
