"""A parent on a 320 px phone: opens their link, enters their code, reads, confirms, exits (R20);
the same without JavaScript; Exit this page by its button and by pressing Shift three times."""

from __future__ import annotations

import pytest

from tests.browser.conftest import active_record, assert_accessible, screenshot
from tracker.clock import utcnow
from tracker.db import database
from tracker.family import links
from tracker.models import FamilyRead, Party
from tracker.web import ratelimit

pytestmark = pytest.mark.browser
EXIT = "https://www.bbc.co.uk/weather"


def _link(live):
    agreement = active_record(live.people)
    party = Party.get((Party.agreement == agreement.id) & (Party.role == "Mother"))
    with database.atomic():
        access, code = links.send_link(agreement, party, live.people.worker, utcnow(), channel="paper")
    return agreement, access, code, links.family_url(access)


@pytest.fixture
def small(browser):
    def make(javascript=True):
        context = browser.new_context(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True,
                                      java_script_enabled=javascript)
        # Exit this page leaves for a neutral site; here it answers locally (a redirect's next hop may
        # not be routed, so the tests wait for the browser's request for it, not its answer).
        context.route(f"{EXIT}**", lambda route: route.fulfill(status=200, body="<title>Weather</title>Weather",
                                                               content_type="text/html"))
        page = context.new_page()
        page.set_default_timeout(10_000)
        made.append(context)
        return page

    made: list = []
    yield make
    for context in made:
        context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_parent_reads_and_confirms_on_a_small_phone(live, small, javascript):
    ratelimit.reset()
    agreement, access, code, url = _link(live)
    page = small(javascript)
    page.goto(url)
    page.get_by_role("heading", name="Enter your code").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    if javascript:
        assert_accessible(page, "family code (320 px)")
    page.get_by_label("Enter your code").fill(code)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Your copy of the agreement").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320, "scrolls sideways at 320 px"
    assert agreement.purpose in page.inner_text("main")
    if javascript:
        assert_accessible(page, "family copy (320 px)")
        screenshot(page, "60-family-copy-320")
    page.get_by_role("button", name="I have read my copy").click()
    page.get_by_text("Your social worker can see you have read your copy").wait_for()
    assert FamilyRead.get(FamilyRead.access == access.id).version == agreement.version
    page.get_by_role("link", name="Ask your social worker to call you back").click()
    page.get_by_role("button", name="Send").click()  # empty: the error beside the field
    page.get_by_text("Write a short message, such as when to call you").first.wait_for()
    if javascript:
        assert_accessible(page, "family call back with its error (320 px)")
    page.get_by_label("Ask for a call back").fill("Any weekday after 3pm, on my mobile.")
    page.get_by_role("button", name="Send").click()
    page.get_by_text("Your message was sent to your social worker").wait_for()
    # Exit this page: a plain link without JavaScript; with it, the component leaves at once.
    # Our /f/exit forgets this phone, then redirects to the neutral site: the browser asks for it.
    with page.expect_request(lambda request: request.url.startswith(EXIT)):
        page.get_by_role("button", name="Exit this page").first.click()  # a link styled as a button
    # Back, or the address typed again: this phone asks for the code again and shows nothing of the record.
    page.goto(url)
    page.get_by_role("heading", name="Enter your code").wait_for()
    assert agreement.purpose not in page.content()


def test_exit_this_page_by_pressing_shift_three_times(live, small):
    ratelimit.reset()
    _agreement, _access, code, url = _link(live)
    page = small(True)
    page.goto(url)
    page.get_by_label("Enter your code").fill(code)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Your copy of the agreement").wait_for()
    # GOV.UK Frontend has started the component (it marks it so): presses before that go unheard.
    page.locator("[data-govuk-exit-this-page-init]").wait_for(state="attached")
    page.get_by_role("heading", name="Your copy of the agreement").click()
    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    assert page.url == url, "two presses do not leave"
    page.get_by_text("Shift, press 1 more time to exit.").wait_for(state="attached")
    with page.expect_request(lambda request: request.url.startswith(EXIT)):
        page.keyboard.press("Shift")
