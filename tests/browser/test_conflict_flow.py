"""The 409 page in a real browser (R15): two people edit one active record; the
first changes the child's views, the second the contingency; saving from the
conflict page keeps both."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import active_record, assert_accessible, sign_in
from tracker import models
from tracker.models import Agreement

pytestmark = pytest.mark.browser

VIEWS = "Ella says she wants to see her dad at weekends."
CONTINGENCY = "Ella will stay with her aunt."


def test_saving_from_the_conflict_page_never_undoes_the_other_persons_change(browser, live):
    people = live.people
    agreement = active_record(people)
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(2)]
    first, second = (c.new_page() for c in contexts)
    sign_in(first, live, people.worker)
    sign_in(second, live, people.manager)
    for p in (first, second):
        p.goto(f"{live.url}/agreements/{agreement.id}/edit")
    first.locator("#child_views").fill(VIEWS)
    first.get_by_role("button", name="Save", exact=True).click()
    first.get_by_text("saved as a draft of version 2").wait_for()

    second.locator("#contingency").fill(CONTINGENCY)
    # The form's own post, not htmx's autosave of a draft (issue 22).
    with second.expect_response(lambda r: r.request.method == "POST" and "/drafts" not in r.url) as answer:
        second.get_by_role("button", name="Save", exact=True).click()
    assert answer.value.status == 409
    notice = second.locator("#changed-since").inner_text()
    assert "The child's views changed" in notice and "Sam Worker" in notice
    for noise in ("Viewed", "2026-", "no change yet", "(blank)"):
        assert noise not in notice
    assert second.locator("#child_views").input_value() == VIEWS
    assert second.locator("#contingency").input_value() == CONTINGENCY
    assert_accessible(second, "409 on an active record")
    second.get_by_role("button", name="Save", exact=True).click()
    second.get_by_text("draft of version 2").wait_for()
    held = json.loads(models.in_progress(Agreement.get_by_id(agreement.id)).data)
    assert held["child_views"] == VIEWS and held["contingency"] == CONTINGENCY
    for c in contexts:
        c.close()
