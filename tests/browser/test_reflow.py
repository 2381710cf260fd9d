"""WCAG 2.2 reflow (1.4.10): no page scrolls sideways at 320 or 390 CSS px, and a
record's reference never breaks inside ("PA-/00001")."""

from __future__ import annotations

import pytest

from tests.browser.conftest import caseload, every_page, pages_of_caseload, screenshot, sign_in
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


# Every link, button and form control smaller than 24 by 24 CSS px (WCAG 2.2 2.5.8), except
# the criterion's own exceptions: a link inside a sentence (its line of text sets its size),
# and controls hidden until focused (the skip link) or drawn by their label (GOV.UK's radios
# and checkboxes are 40 px labels over a hidden input).
SMALL_TARGETS = """() => {
  const targets = [];
  for (const el of document.querySelectorAll('a[href], button, select, input:not([type=hidden]), textarea, summary')) {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility === 'hidden' || el.closest('.govuk-visually-hidden, .govuk-skip-link')) continue;
    if (['radio', 'checkbox'].includes(el.type)) continue;  // the 40 px label is the target
    const block = el.parentElement.closest('p, li, dd, td, th, div');
    const around = block ? block.textContent.replace(/\\s+/g, ' ').trim().length : 0;
    const own = el.textContent.replace(/\\s+/g, ' ').trim().length;
    const inSentence = style.display.startsWith('inline') && !style.display.includes('block') && around > own + 3;
    targets.push({el, box, small: (box.width < 24 || box.height < 24) && !inSentence,
                  x: box.left + box.width / 2, y: box.top + box.height / 2});
  }
  // The spacing exception: a 24 px circle on an undersized target's centre touches no other
  // target, nor another undersized target's circle.
  const gap = (t, o) => Math.hypot(Math.max(o.box.left - t.x, 0, t.x - o.box.right), Math.max(o.box.top - t.y, 0, t.y - o.box.bottom));
  const small = [];
  for (const t of targets.filter((t) => t.small)) {
    const near = targets.filter((o) => o !== t && !o.el.contains(t.el) && !t.el.contains(o.el) && (o.small ? Math.hypot(o.x - t.x, o.y - t.y) < 24 : gap(t, o) < 12));
    if (near.length) small.push(`${t.el.tagName.toLowerCase()} "${t.el.textContent.trim().slice(0, 30)}" ${Math.round(t.box.width)}x${Math.round(t.box.height)} near "${near[0].el.textContent.trim().slice(0, 20)}"`);
  }
  return small;
}"""


def test_every_page_reflows_at_320_with_targets_of_24_px(browser, live):
    """Every GET page in the url_map (tests/browser/conftest.py every_page), as each kind of
    visitor sees it: staff pages for a manager and an administrator (a page one may not open
    shows its error page, which must reflow too), the agency's pages, the published ones
    signed out. At 320 px none scrolls sideways and no control is under 24 by 24 px."""
    people = live.people
    pages = every_page(live)
    context = browser.new_context(viewport={"width": 320, "height": 640}, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems, checked = [], set()
    visits = [(None, pages["signed_out"] + pages["agency"]), (people.manager, pages["staff"]),
              (people.admin, [u for u in pages["staff"] if u.startswith("/admin") or u == "/"])]
    for user, urls in visits:
        if user is not None:
            sign_in(page, live, user)
        for url in urls:
            response = page.goto(live.url + url)
            assert response.status < 500, url
            found = page.evaluate(OVERFLOW)
            if found["scroll"] > found["inner"]:
                problems.append(f"{url}: {found['scroll']} px wide at 320: {found['wide']}")
                screenshot(page, f"reflow-all-{url.strip('/').replace('/', '-') or 'home'}")
            small = page.evaluate(SMALL_TARGETS)
            if small:
                problems.append(f"{url}: targets under 24 px: {small}")
            checked.add(url)
        if user is not None:
            page.get_by_role("button", name="Sign out", exact=True).click()
    context.close()
    assert {"/admin/outbox", "/retention/", "/account/sessions", "/import/", "/accessibility"} <= checked
    assert len(checked) >= 40
    assert not problems, "\n".join(problems)
