"""WCAG 2.2 reflow (1.4.10): no page scrolls sideways at 320 or 390 CSS px, and a
record's reference never breaks inside ("PA-/00001")."""

from __future__ import annotations

import pytest

from tests.browser.conftest import caseload, pages_of_caseload, screenshot, sign_in
from tracker.agencies import tokens
from tracker.models import Recipient

pytestmark = pytest.mark.browser

# The widest elements, for the message when a page does scroll sideways.
OVERFLOW = """() => {
  const width = window.innerWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 0.5) {
      wide.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${[...el.classList].join('.')} right=${Math.round(box.right)}`);
    }
  }
  return {scroll: document.documentElement.scrollWidth, inner: width, wide: wide.slice(-6)};
}"""

# Each reference shown (PA-00001, WU-00002) sits on one line.
BROKEN_REFERENCES = """() => {
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    for (const match of node.textContent.matchAll(/\\b(PA|WU)-\\d{5}\\b/g)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
      if (tops.size > 1) broken.push(match[0]);
    }
  }
  return broken;
}"""


WIDTHS = (320, 390)


def test_no_page_scrolls_sideways_on_a_phone(browser, live):
    """Each page is loaded once at 320 px, checked, widened to 390 px and checked again."""
    people = live.people
    agreement, undertaking, draft, breach = caseload(people)
    token = tokens.token_for(Recipient.get(Recipient.agreement == agreement))
    # Not is_mobile: a mobile viewport widens itself to fit wide content, which
    # would hide the very sideways scrolling this test looks for.
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 700}, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    pages = pages_of_caseload(agreement, undertaking, draft, breach, token)
    pages["admin"] = [*pages["admin"], f"/admin/users/{people.worker.id}"]
    pages["manager"] = [*pages["manager"], f"/agreements/{undertaking.id}/history", f"/agreements/{draft.id}"]
    problems, checked = [], 0
    for who, urls in pages.items():
        user = {"manager": people.manager, "head": people.head, "admin": people.admin}.get(who)
        if user is not None:
            sign_in(page, live, user)
        for url in urls:
            if url.endswith("/print") and user is None:
                sign_in(page, live, people.manager)
            page.set_viewport_size({"width": WIDTHS[0], "height": 700})
            response = page.goto(live.url + url)
            assert response.status < 500, url
            for width in WIDTHS:
                if width != WIDTHS[0]:
                    page.set_viewport_size({"width": width, "height": 700})
                found = page.evaluate(OVERFLOW)
                assert found["inner"] == width, url
                name = f"reflow-{width}-{url.strip('/').replace('/', '-') or 'dashboard'}"
                if found["scroll"] > found["inner"]:
                    problems.append(f"{url}: {found['scroll']} px wide at {found['inner']}: {found['wide']}")
                    screenshot(page, name)
                elif width == 320 and url in ("/", f"/agreements/{agreement.id}", "/agreements"):
                    screenshot(page, name)
                broken = page.evaluate(BROKEN_REFERENCES)
                if broken:
                    problems.append(f"{url} at {width} px: reference broken across lines: {broken}")
            checked += 1
        if user is not None:
            page.goto(live.url + "/")
            page.get_by_role("button", name="Sign out").click()
    context.close()
    assert checked >= 30
    assert not problems, "\n".join(problems)


# Words short enough to fit any column ("Name", "Bloggs", "acknowledgement")
# that a table cell or tag breaks across lines ("Nam/e", "Jo Blog/gs").
BROKEN_WORDS = """() => {
  const broken = [];
  for (const cell of document.querySelectorAll('th, td, .govuk-tag, .govuk-summary-list__value')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      for (const match of node.textContent.matchAll(/[A-Za-z]{3,15}/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (tops.size > 1) broken.push(match[0]);
      }
    }
  }
  return [...new Set(broken)];
}"""


def test_words_in_tables_and_tags_never_break_inside(browser, live):
    """Found on a demo record at 1200 px: the distribution list read 'Nam/e' and
    'Jo Blog/gs', the history's 'Maria Manage/r', and a tag 'Awaiting acknowledgeme/nt'."""
    people = live.people
    agreement, undertaking, draft, breach = caseload(people)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, live, people.manager)
    problems = []
    for width in (1200, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for url in (f"/agreements/{agreement.id}", f"/agreements/{agreement.id}/history",
                    f"/agreements/{undertaking.id}", "/"):
            page.goto(live.url + url)
            broken = page.evaluate(BROKEN_WORDS)
            if broken:
                screenshot(page, f"broken-words-{width}-{url.strip('/').replace('/', '-') or 'dashboard'}")
                problems.append(f"{url} at {width} px: {broken}")
    context.close()
    assert not problems, "\n".join(problems)
