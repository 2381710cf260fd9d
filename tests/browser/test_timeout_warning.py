"""Issue 22 (WCAG 2.2.1): every staff page warns before the idle timeout, and Stay signed in extends it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in

pytestmark = pytest.mark.browser


def test_the_warning_appears_is_announced_and_stay_signed_in_extends_ten_times(page, live):
    # A 15-second idle timeout, warned of 14.5 seconds before: the warning comes half a second after each start.
    live.app.config.update(SESSION_IDLE_MINUTES=0.25, SESSION_WARNING_SECONDS=14.5)
    sign_in(page, live, live.people.worker)
    answers = []
    page.on("response", lambda r: answers.append(r) if r.url.endswith("/session/keep-alive") else None)
    dialog = page.locator("dialog#timeout-warning")
    register = page.get_by_role("link", name="Register", exact=True)
    register.focus()
    for time in range(10):
        dialog.wait_for(state="visible", timeout=5_000)
        # A modal: focus moves into it, and a role="alert" region says what is happening.
        assert page.evaluate("document.activeElement.closest('dialog#timeout-warning') !== null")
        alert = dialog.locator("[role=alert]")
        # expect() polls in Playwright's own world: a wait_for_function string is an eval, which the CSP refuses.
        expect(alert).to_contain_text("about to be signed out")
        assert page.get_by_role("dialog", name="You’re about to be signed out").is_visible()
        if time == 0:
            assert_accessible(page, "timeout warning open")
        page.get_by_role("button", name="Stay signed in").click()
        dialog.wait_for(state="hidden", timeout=5_000)
        # Focus goes back where it was before the warning took it.
        assert page.evaluate("document.activeElement.textContent.trim()") == "Register"
    # Each press asked the server, which started the 15 seconds again each time.
    assert len(answers) == 10 and all(a.status == 200 and a.json()["seconds_left"] == 15 for a in answers)
    page.reload()
    assert "/login" not in page.url
    assert page.get_by_text("Signed in as Sam Worker").is_visible()


def test_left_alone_the_page_goes_to_sign_in_and_says_why(page, live):
    live.app.config.update(SESSION_IDLE_MINUTES=0.05, SESSION_WARNING_SECONDS=2)
    sign_in(page, live, live.people.worker)
    page.wait_for_url("**/login?timed_out=1**", timeout=10_000)
    assert page.locator("#timed-out").is_visible()
    page.get_by_label("Email address").fill(live.people.worker.email)
    page.get_by_label("Password").fill("correct-horse-battery")
    with page.expect_navigation():  # wait_for_load_state alone can return before the click's navigation starts
        page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("Signed in as Sam Worker").is_visible()
