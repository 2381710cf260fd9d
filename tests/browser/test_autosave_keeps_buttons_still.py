"""The autosave's answer never moves a form's buttons.

Leaving a text box to press Save fires the box's change event, so htmx saves a draft
while the mouse button is still down. When that answer came back before the button
was released and its line appeared above the buttons, the Save moved from under the
pointer: the press ended on the status line, no click happened, and the work was not
saved (how CI's character-count test failed). The status line sits after the buttons.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

FORMS = {
    "new undertaking": ("/agreements/new?kind=undertaking", "#purpose", "Save"),
    "new agreement": ("/agreements/new?kind=partnership", "#purpose", "Save"),
}


def _boxes(page):
    """Where the form's groups of buttons are on the page: not in the viewport, which scrolls, and
    the groups, not the buttons: a pressed GOV.UK button is drawn 2 px lower (`:active`, `top`)."""
    return page.locator("form[data-draft] .govuk-button-group").evaluate_all(
        "groups => groups.map(g => { const r = g.getBoundingClientRect();"
        " return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height] })"
    )


@pytest.mark.parametrize("name", FORMS)
def test_a_press_on_save_that_outlasts_the_autosave_still_submits(page, live, name):
    path, box, button = FORMS[name]
    sign_in(page, live, live.people.worker)
    page.goto(live.url + path)
    page.locator(box).fill("Grandmother will keep Ben safe.")
    before = _boxes(page)
    save = page.get_by_role("button", name=button, exact=True)
    save.scroll_into_view_if_needed()
    where = save.bounding_box()
    page.mouse.move(where["x"] + where["width"] / 2, where["y"] + where["height"] / 2)
    with page.expect_response(lambda r: r.url.endswith("/drafts")):
        page.mouse.down()  # the box loses focus: change, and htmx saves a draft
    page.locator("#draft-status").get_by_text("Draft saved at").wait_for()
    assert _boxes(page) == before, "the status line moved the buttons"
    with page.expect_navigation():
        page.mouse.up()
    assert page.locator(".govuk-error-summary").count() == 1  # the Save was pressed: the form answered
