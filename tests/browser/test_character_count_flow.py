"""A long text box counts as the worker types (GOV.UK character count, under the app's CSP),
and a box typed past its limit comes back with the message beside it and every character kept."""

from __future__ import annotations

import pytest

from tests.browser.conftest import assert_accessible, sign_in
from tracker.records.fields import LONG_TEXT

pytestmark = pytest.mark.browser


def test_the_count_is_live_and_too_much_is_refused_with_the_typing_kept(page, live):
    sign_in(page, live, live.people.worker)
    page.goto(f"{live.url}/agreements/new?kind=undertaking")
    status = page.locator(".govuk-character-count", has=page.locator("#purpose")).locator(".govuk-character-count__status")
    page.locator("#purpose").fill("Grandmother will keep Ben safe.")
    status.wait_for()  # GOV.UK Frontend's script ran: the live count is shown
    assert f"You have {LONG_TEXT - 31:,} characters remaining" in status.inner_text()

    typed = ("Ben, his sister; the school \u00e9 " * 400)[: LONG_TEXT + 3]
    page.locator("#purpose").fill(typed)
    assert "You have 3 characters too many" in status.inner_text()
    page.get_by_role("button", name="Save", exact=True).click()
    page.locator(".govuk-error-summary").wait_for()
    group = page.locator(".govuk-form-group", has=page.locator("#purpose"))
    assert f"Purpose must be {LONG_TEXT:,} characters or fewer" in group.locator("#purpose-error").inner_text()
    assert page.locator("#purpose").input_value() == typed
    assert_accessible(page, "a long text box over its limit")
