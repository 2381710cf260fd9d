"""The page as first painted is laid out as GOV.UK Frontend's script will leave it, so nothing moves when it runs.

The layout-shift gate (test_checkers_flow.py) measures shifts over a slow network, where a late
script may or may not land inside the measured window. Here the page is drawn twice at phone size:
once with the scripts refused (what the browser paints before they arrive) and once after GOV.UK
Frontend has started its service navigation. The main content starts at the same height in both,
for a manager's many-item menu (collapsed to a "Menu" button) and an administrator's one-item menu
(no button, so it stays open: hiding it until the script ran moved the admin pages 50 px)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

MAIN_TOP = "() => Math.round(document.querySelector('#main-content').getBoundingClientRect().top + window.scrollY)"
MENU = """() => {
  const list = document.querySelector('.govuk-service-navigation__list');
  const toggle = document.querySelector('.govuk-service-navigation__toggle');
  return {list: list ? list.offsetHeight > 0 : null, toggle: toggle ? toggle.offsetHeight > 0 : null};
}"""


def _refuse_scripts(route):
    return route.abort() if "/js/app" in route.request.url or "govuk-frontend" in route.request.url else route.continue_()


@pytest.mark.parametrize("who, url", [("admin", "/admin/"), ("admin", "/admin/outbox"), ("manager", "/")])
def test_the_menu_is_laid_out_before_the_script_as_after_it(browser, live, who, url):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, live, getattr(live.people, who))
        page.goto(live.url + url, wait_until="load")
        page.wait_for_selector("[data-govuk-service-navigation-init]", state="attached")
        after, menu_after = page.evaluate(MAIN_TOP), page.evaluate(MENU)

        page.route("**/*.js", _refuse_scripts)
        page.goto(live.url + url, wait_until="load")
        assert page.evaluate("() => document.body.classList.contains('govuk-frontend-supported')")
        assert not page.locator("[data-govuk-service-navigation-init]").count()  # the script did not run
        before, menu_before = page.evaluate(MAIN_TOP), page.evaluate(MENU)
    finally:
        context.close()
    assert before == after, f"{url} as {who}: the main content starts at {before} px before the script, {after} px after"
    assert menu_after["list"] or menu_after["toggle"], menu_after  # the menu can be reached once the script ran
    if who == "admin":
        assert menu_before["list"] and menu_after["list"], (menu_before, menu_after)  # one item: always open
