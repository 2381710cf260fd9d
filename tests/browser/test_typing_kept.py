"""Issue 22: a half-typed agreement outlives its session; after signing in again the typing is back."""

from __future__ import annotations

import pytest

from tests.browser.conftest import assert_accessible, sign_in
from tracker.models import Agreement, FormDraft

pytestmark = pytest.mark.browser

TYPED = {
    "#children-0-name": "Ella Murphy",
    "#purpose": "To keep Ella safe at home while her mother works with the family centre.",
    "#child_views": "Ella said she likes the park.",
    "#actions-0-what": "Ms Murphy will take Ella to nursery every weekday.",
    "#children-0-date_of_birth-day": "4",
    "#children-0-date_of_birth-month": "5",
    "#children-0-date_of_birth-year": "2019",
    "#completed_on-day": "20",
    "#completed_on-month": "11",
    "#completed_on-year": "2026",
    "#parties-0-name": "Ms Murphy",
}


def _type_half_an_agreement(page, live):
    page.goto(f"{live.url}/agreements/new?kind=partnership")
    for selector, text in TYPED.items():
        page.locator(selector).fill(text)


def _sign_in_again(page, live):
    assert "/login" in page.url
    page.get_by_label("Email address").fill(live.people.worker.email)
    page.get_by_label("Password").fill("correct-horse-battery")
    with page.expect_navigation():  # wait_for_load_state alone can return before the click's navigation starts
        page.get_by_role("button", name="Sign in").click()
    assert "/agreements/new?kind=partnership" in page.url
    for selector, text in TYPED.items():
        assert page.locator(selector).input_value() == text, selector
    assert page.locator("#draft-restored").is_visible()


def test_idle_past_the_limit_then_save_then_sign_in_and_the_typing_is_back(page, live):
    sign_in(page, live, live.people.worker)
    _type_half_an_agreement(page, live)
    page.locator("#draft-status").get_by_text("Draft saved at").wait_for(timeout=6_000)
    # Every autosave answered (the last keystroke's comes 2 s after it) before the server's limit
    # shrinks: an answer after it would say "seconds left: 0" and the page would warn, as it should.
    page.wait_for_timeout(2_500)
    page.wait_for_load_state("networkidle")
    # The laptop lid was closed: the page's own clock stood still while the session ran out on the server.
    live.app.config["SESSION_IDLE_MINUTES"] = 0.05
    page.wait_for_timeout(3_500)
    with page.expect_navigation():  # wait_for_load_state alone returns before the POST has answered
        page.get_by_role("button", name="Save", exact=True).click()
    assert page.get_by_text("What you typed is kept").is_visible()
    assert Agreement.select().count() == 0 and FormDraft.get().state == "pending"
    live.app.config["SESSION_IDLE_MINUTES"] = 60
    _sign_in_again(page, live)
    assert_accessible(page, "agreement form restored from a draft")
    # Saved for real now: the draft is marked used, and kept.
    page.locator("#purpose").fill(TYPED["#purpose"] + " Reviewed.")
    with page.expect_navigation():  # wait_for_load_state alone returns before the POST has answered
        page.get_by_role("button", name="Save", exact=True).click()
    assert page.locator(".govuk-error-summary").count() == 0, page.locator(".govuk-error-summary").inner_text()
    assert FormDraft.get().used_how == "saved"


def test_left_alone_past_the_warning_the_form_keeps_its_draft_for_signing_in_again(page, live):
    live.app.config.update(SESSION_IDLE_MINUTES=0.1, SESSION_WARNING_SECONDS=2)
    sign_in(page, live, live.people.worker)
    _type_half_an_agreement(page, live)
    # Autosave has kept the typing already, by htmx, while the person typed.
    page.locator("#draft-status").get_by_text("Draft saved at").wait_for(timeout=6_000)
    page.get_by_role("dialog").wait_for(timeout=6_000)
    # Nobody answers the warning: the page saves the draft and goes to sign in.
    page.wait_for_url("**/login?next=**", timeout=12_000)
    live.app.config["SESSION_IDLE_MINUTES"] = 60
    _sign_in_again(page, live)
