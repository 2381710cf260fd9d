"""The quick breach search as a screen-reader user meets it (issue 12, item 10): htmx fills the
live region #breach-results from inside, so the region stays and its new content is announced."""

from __future__ import annotations

import pytest

from tests.browser.conftest import active_record, assert_accessible, every_page, sign_in

pytestmark = pytest.mark.browser


def test_search_results_arrive_inside_the_live_region_which_stays(page, live):
    people = live.people
    agreement = active_record(people)
    sign_in(page, live, people.worker)
    page.goto(f"{live.url}/breaches/new")
    page.wait_for_function("() => window.htmx !== undefined")
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


def _layout_shift(page, url: str) -> tuple[float, list]:
    response = page.goto(url, wait_until="load")
    assert response.status < 500 and "/login" not in page.url.removeprefix(url), (url, page.url)  # not sent to sign in
    # GOV.UK Frontend's script runs once the module has loaded; give it a moment after that.
    page.wait_for_function("() => document.body.classList.contains('govuk-frontend-supported')")
    page.wait_for_timeout(200)
    shifts = page.evaluate("window.__shifts")
    # Nothing held still by being hidden: the menu's items, or the button that opens them, are on the screen.
    reachable = page.evaluate("""() => {
      const list = document.querySelector('.govuk-service-navigation__list');
      const toggle = document.querySelector('.govuk-service-navigation__toggle');
      return !list || list.offsetHeight > 0 || (toggle && !toggle.hidden && toggle.offsetHeight > 0);
    }""")
    assert reachable, f"{url}: the service navigation's menu cannot be reached"
    return round(sum(s["value"] for s in shifts), 4), shifts


def test_no_page_shifts_its_layout_at_phone_size(browser, live):
    """Lighthouse's cumulative layout shift at phone size, at most 0.05 on every page of the url_map
    (tests/browser/conftest.py every_page): staff pages as a manager, the administration pages as
    an administrator (whose one-item menu once appeared late and moved the page 50 px), the
    agency's and the published pages signed out. Each page is loaded with an empty cache over a
    network as slow as Lighthouse's phone (150 ms a round trip), so a script that arrives late and
    moves the page is caught."""
    people = live.people
    pages = every_page(live)
    admin = [u for u in pages["staff"] if u.startswith("/admin")]
    visits = [(None, pages["signed_out"] + pages["agency"], []),
              (people.manager, [u for u in pages["staff"] if u not in admin], ["/", "/agreements"]),
              (people.admin, admin, ["/admin/"])]
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    context.add_init_script(SHIFTS)
    page = context.new_page()
    page.set_default_timeout(15_000)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    measured = {}
    try:
        for user, urls, narrow in visits:
            cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                          "uploadThroughput": -1})
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
            if user is not None:
                page.goto(live.url + "/")
                if page.get_by_role("button", name="Sign out", exact=True).count():
                    page.get_by_role("button", name="Sign out", exact=True).click()
                sign_in(page, live, user)
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
            cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 150,
                                                          "downloadThroughput": 1_600_000 / 8,
                                                          "uploadThroughput": 750_000 / 8})
            for url in urls:
                if url.endswith("/print"):
                    continue  # the printable copy runs no script: nothing arrives late to move it
                measured[f"{url} ({user.role if user else 'signed out'})"] = _layout_shift(page, live.url + url)
            # The narrowest phone too, on the pages with the most above the fold.
            page.set_viewport_size({"width": 320, "height": 640})
            for url in narrow:
                measured[f"{url} at 320"] = _layout_shift(page, live.url + url)
            page.set_viewport_size({"width": 390, "height": 844})
    finally:
        context.close()
    too_much = {url: shifts for url, (total, shifts) in measured.items() if total > MOST_SHIFT}
    assert not too_much, too_much
    assert any(url.startswith("/admin/outbox") for url in measured) and len(measured) >= 40


# Where the focus is, and whether a sighted keyboard user can see it: on the screen, with
# GOV.UK's focus style (a yellow outline or box shadow) drawn.
FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || !document.contains(el)) return {where: 'nowhere'};
  const box = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  const legend = el.querySelector && el.querySelector('legend');
  return {
    where: el.id || el.name || el.tagName,
    text: (legend ? legend.textContent : (el.textContent || '')).trim().slice(0, 60),
    onScreen: box.width > 0 && box.height > 0 && box.bottom > 0 && box.top < innerHeight,
    ring: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== 'none',
  };
}"""


def _swap(page, action) -> dict:
    """Do something that makes htmx swap part of the page; where the focus is once it has settled."""
    before = page.evaluate("window.__settled")
    action()
    page.wait_for_function("(n) => window.__settled > n", arg=before)
    page.wait_for_timeout(50)
    return page.evaluate(FOCUS)


def _watch_swaps(page) -> None:
    page.wait_for_function("() => window.htmx !== undefined")
    # The draft's autosave (a change, or 2 s after typing) swaps only its status line: not the swap awaited.
    page.evaluate("window.__settled = 0; document.body.addEventListener('htmx:afterSettle', (e) => {"
                  " if (!e.detail.target || e.detail.target.id !== 'draft-status') window.__settled++; })")


def _press(page, locator, key="Enter") -> None:
    locator.focus()
    page.keyboard.press(key)


def test_after_every_htmx_swap_the_focus_stays_where_the_keyboard_user_can_see_it(page, live):
    from tracker.models import Agency

    people = live.people
    Agency.create(name="Riverside Health Visiting Service", kind="health_visiting", email="hv@health.example")
    agreement = active_record(people)
    sign_in(page, live, people.manager)

    # Dashboard filters: a keyboard user changes a filter; the tables change, the focus stays on it.
    page.goto(f"{live.url}/")
    _watch_swaps(page)
    focus = _swap(page, lambda: _press(page, page.get_by_label("Kind"), "ArrowDown"))
    assert focus["where"] == "kind" and focus["onScreen"] and focus["ring"], focus
    assert "kind=partnership" in page.url

    # The register's search: typing narrows the list; the focus stays in the box.
    page.goto(f"{live.url}/agreements")
    _watch_swaps(page)
    focus = _swap(page, lambda: page.get_by_label("Child's name or reference").press_sequentially("Ella"))
    assert focus["where"] == "q" and focus["onScreen"] and focus["ring"], focus
    page.locator("#register-results").get_by_text(agreement.reference).wait_for()

    # The quick breach search: the same.
    page.goto(f"{live.url}/breaches/new")
    _watch_swaps(page)
    focus = _swap(page, lambda: page.get_by_label("Child's name or reference").press_sequentially("Ella"))
    assert focus["where"] == "q" and focus["onScreen"] and focus["ring"], focus

    # The long form's rows: added, removed, filled from the directory, each by keyboard.
    page.goto(f"{live.url}/agreements/new?kind=partnership")
    _watch_swaps(page)
    focus = _swap(page, lambda: _press(page, page.get_by_role("button", name="Add another action")))
    assert focus == {"where": "actions-1", "text": "Action 2", "onScreen": True, "ring": True}, focus
    focus = _swap(page, lambda: _press(page, page.get_by_role("button", name="Add another action")))
    assert focus["where"] == "actions-2" and focus["text"] == "Action 3", focus
    # Removing action 2: the focus goes to the action that took its place (now "Action 2").
    focus = _swap(page, lambda: _press(page, page.get_by_role("button", name="Remove action 2")))
    assert focus == {"where": "actions-2", "text": "Action 2", "onScreen": True, "ring": True}, focus
    # Removing the last: to the one before it.
    focus = _swap(page, lambda: _press(page, page.get_by_role("button", name="Remove action 2")))
    assert focus["where"] == "actions-0" and focus["text"] == "Action 1" and focus["onScreen"], focus
    # It was removed (an earlier removal had left the page's rows numbered 0 and 2).
    assert page.locator("#section-actions > fieldset").count() == 1

    for button, first in (("Add another party", "parties-"), ("Add another child", "children-"),
                          ("Add someone to the distribution list", "recipients-")):
        focus = _swap(page, lambda b=button: _press(page, page.get_by_role("button", name=b)))
        assert focus["where"].startswith(first) and focus["onScreen"] and focus["ring"], (button, focus)

    # Suggestions as the agency is typed: the focus stays in the field while they arrive.
    row = focus["where"]
    focus = _swap(page, lambda: page.locator(f"#{row}-agency_name").press_sequentially("river"))
    assert focus["where"] == f"{row}-agency_name" and focus["onScreen"], focus
    # Choosing one fills the row in; its button went with the old list, so the row takes the focus.
    focus = _swap(page, lambda: _press(page, page.get_by_role(
        "button", name="Use Riverside Health Visiting Service (health visiting service)")))
    assert focus["where"] == row and focus["onScreen"] and focus["ring"], focus
    assert page.locator(f"#{row}-email").input_value() == "hv@health.example"
    # The directory's own picker and its button: the same.
    page.locator(f"#{row}-directory").select_option(label="Riverside Health Visiting Service (health visiting service)")
    focus = _swap(page, lambda: _press(page, page.locator(f"#{row}").get_by_role(
        "button", name="Fill in from the directory")))
    assert focus["where"] == row and focus["onScreen"] and focus["ring"], focus
