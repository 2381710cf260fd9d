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


# Registered before any of the page's own scripts (Playwright injects it through
# the browser, so the page's CSP does not apply): every layout shift the page
# makes. Nothing is typed or clicked while a page is measured, so every shift
# counts: Chrome's touch emulation marks the shifts of a page load as "after
# input" (hadRecentInput), and Lighthouse does not trust that flag either.
SHIFTS = """
window.__shifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    window.__shifts.push({value: entry.value, at: Math.round(entry.startTime), nodes: entry.sources.map(
      (s) => s.node ? (s.node.id || s.node.className || s.node.nodeName) : '?')});
  }
}).observe({type: 'layout-shift', buffered: true});
"""
MOST_SHIFT = 0.05


def _staff_pages(live):
    from tracker import breaches
    from tracker.models import utcnow

    people = live.people
    agreement = active_record(people)
    undertaking = active_record(people, kind="undertaking")
    breach = breaches.log(agreement, {"description": "Missed nursery.", "reported_by": "Nursery"}, utcnow(),
                          user=people.worker)
    a = agreement.id
    return ["/", "/agreements", f"/agreements/{a}", f"/agreements/{a}/edit", f"/agreements/{a}/history",
            f"/agreements/{a}/review", f"/agreements/{undertaking.id}", "/agreements/new?kind=partnership",
            "/agreements/new?kind=undertaking", "/breaches/new", "/breaches/new?q=Ella",
            f"/agreements/{a}/breaches/new", f"/breaches/{breach.id}", "/retention/", "/import/"]


def _layout_shift(page, url: str) -> tuple[float, list]:
    response = page.goto(url, wait_until="load")
    assert response.status == 200 and page.url == url, (url, page.url)  # not sent to sign in
    # GOV.UK Frontend's script runs once the module has loaded; give it a moment after that.
    page.wait_for_function("document.body.classList.contains('govuk-frontend-supported')")
    page.wait_for_timeout(200)
    shifts = page.evaluate("window.__shifts")
    return round(sum(s["value"] for s in shifts), 4), shifts


def test_no_staff_page_shifts_its_layout_at_phone_size(browser, live):
    """Lighthouse's cumulative layout shift at phone size, at most 0.05 on each staff page: each
    page loaded with an empty cache over a network as slow as Lighthouse's phone (150 ms a round
    trip), so a script that arrives late and moves the page is caught."""
    pages = _staff_pages(live)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    context.add_init_script(SHIFTS)
    page = context.new_page()
    page.set_default_timeout(15_000)
    cdp = context.new_cdp_session(page)
    sign_in(page, live, live.people.manager)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 150,
                                                  "downloadThroughput": 1_600_000 / 8,
                                                  "uploadThroughput": 750_000 / 8})
    measured = {}
    try:
        for url in pages:
            measured[url] = _layout_shift(page, live.url + url)
        # The narrowest phone too, on the pages with the most above the fold.
        page.set_viewport_size({"width": 320, "height": 640})
        for url in pages[:2]:
            measured[f"{url} at 320"] = _layout_shift(page, live.url + url)
    finally:
        context.close()
    too_much = {url: shifts for url, (total, shifts) in measured.items() if total > MOST_SHIFT}
    assert not too_much, too_much
    assert len(measured) == len(pages) + 2
