"""The quick breach search as a screen-reader user meets it (issue 12, item 10): htmx fills the
live region #breach-results from inside, so the region stays and its new content is announced."""

from __future__ import annotations

import pytest

from tests.browser.conftest import active_record, assert_accessible, sign_in

pytestmark = pytest.mark.browser


def test_search_results_arrive_inside_the_live_region_which_stays(page, live):
    people = live.people
    agreement = active_record(people)
    sign_in(page, live, people.worker)
    page.goto(f"{live.url}/breaches/new")
    page.wait_for_function("window.htmx !== undefined")
    # Mark the region: if htmx replaced it, the new element would not carry the mark.
    page.evaluate("document.getElementById('breach-results').dataset.original = 'yes'")
    page.get_by_label("Child's name or reference").press_sequentially("Ella")
    region = page.locator("#breach-results")
    region.get_by_role("link", name=agreement.reference).wait_for()
    assert page.evaluate("document.getElementById('breach-results').dataset.original") == "yes"
    assert region.get_attribute("aria-live") == "polite"
    assert page.locator("#breach-results").count() == 1  # not nested inside itself
    # The person keeps typing where they were, and the address is one they can share or reload.
    assert page.evaluate("document.activeElement.id") == "q"
    assert "q=Ella" in page.url
    assert_accessible(page, "breach search after htmx")
    page.get_by_label("Child's name or reference").press_sequentially("zzz")
    region.get_by_text('No active agreement or undertaking matches "Ellazzz".').wait_for()
    assert page.evaluate("document.getElementById('breach-results').dataset.original") == "yes"
