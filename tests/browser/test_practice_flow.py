"""The agency directory in the form, with htmx: suggestions as you type fill the entry in."""

from __future__ import annotations

import pytest

from tests.browser.conftest import assert_accessible, sign_in
from tracker.models import Agency

pytestmark = pytest.mark.browser


def test_typing_an_agency_suggests_it_from_the_directory_and_fills_the_entry(page, live):
    Agency.create(name="Riverside Health Visiting Service", kind="health_visiting", email="hv@health.example")
    Agency.create(name="Market Street Surgery", kind="gp", email="gp@example.org")
    sign_in(page, live, live.people.worker)
    page.goto(f"{live.url}/agreements/new?kind=partnership")
    page.locator("#children-0-name").fill("Ella Murphy")
    page.get_by_role("button", name="Add someone to the distribution list").click()
    page.locator("#recipients-0-name").wait_for()
    page.locator("#recipients-0-name").fill("Kim Hale")
    page.locator("#recipients-0-agency_name").press_sequentially("river")
    suggestion = page.get_by_role("button", name="Use Riverside Health Visiting Service (health visiting service)")
    suggestion.wait_for()
    assert page.get_by_role("button", name="Use Market Street Surgery (gp practice)").count() == 0
    assert_accessible(page, "agency suggestions")
    suggestion.click()
    page.locator("#recipients-0-email").wait_for()
    page.wait_for_function("() => document.querySelector('#recipients-0-email').value === 'hv@health.example'")
    assert page.locator("#recipients-0-agency_name").input_value() == "Riverside Health Visiting Service"
    assert page.locator("#recipients-0-agency_kind").input_value() == "health_visiting"
    # What was typed elsewhere is kept: only the distribution list came back.
    assert page.locator("#recipients-0-name").input_value() == "Kim Hale"
    assert page.locator("#children-0-name").input_value() == "Ella Murphy"
