"""Every page a person can reach (tests/conftest.py collect_pages: each role's pages from the
url_map, the agency's, the published and the error pages): its title is
"<page> – Agreement tracker – <council>" with the page part saying what its h1 says, and its
headings never skip a level (an h1, then h2s, never an h1 straight to an h3)."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import collect_pages
from tracker import settings
from tracker.clock import time_words, utcnow

# The one agreed short form: a printed copy's title is its record, as the paper's own header says.
PRINTED = ("Partnership agreement PA-", "Written undertaking WU-")
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class Outline(HTMLParser):
    """The page's title and its headings' levels and texts, in order."""

    def __init__(self):
        super().__init__()
        self.title, self.headings, self._in = "", [], None

    def handle_starttag(self, tag, attrs):
        if (tag == "title" and not self.title) or re.fullmatch(r"h[1-6]", tag):  # the page's, not an SVG's
            self._in = tag
            if tag != "title":
                self.headings.append([int(tag[1]), ""])

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "title":
            self.title += data
        elif self._in:
            self.headings[-1][1] += data


def _words(text: str) -> str:
    return " ".join(text.split())


def _outline(page: str) -> Outline:
    outline = Outline()
    outline.feed(page)
    return outline


def skipped_levels(levels: list[int]) -> list[str]:
    """Levels that skip one. Before the h1 only h2s may come: GOV.UK's error summary and
    notification banners sit above the page's heading."""
    found, previous = [], 0
    before = levels[:levels.index(1)] if 1 in levels else []
    found += [f"h{level} before the h1" for level in before if level != 2]
    for level in levels[len(before):]:
        if level > previous + 1:
            found.append(f"h{previous or '(none)'} to h{level}")
        previous = level
    return found


def test_skipped_levels_are_found():
    assert skipped_levels([1, 3]) == ["h1 to h3"]
    assert skipped_levels([2]) == ["h(none) to h2"]
    assert skipped_levels([2, 1, 2]) == []
    assert skipped_levels([3, 1]) == ["h3 before the h1"]
    assert skipped_levels([1, 2, 3, 2, 2, 3]) == []


@sqlite_only
def test_every_page_title_says_its_h1_and_headings_never_skip(app, client, people, login, make_agreement):
    pages = collect_pages(app, client, people, login, make_agreement, utcnow())
    suffix = f" – Agreement tracker – {settings.contacts()['council_name']}"
    problems = []
    for what, page in pages.items():
        outline = _outline(page)
        title = _words(outline.title)
        if not title.endswith(suffix):
            problems.append(f"{what}: title {title!r} does not end {suffix!r}")
            continue
        short = title.removesuffix(suffix).removeprefix("Error: ")
        if short.startswith(PRINTED):
            continue  # the printed copy's h1 is the model form's own heading, naming the family
        for published in ("/accessibility", "/privacy", "/cookies"):
            if f'class="govuk-footer__link" href="{published}"' not in page:
                problems.append(f"{what}: no footer link to {published}")
        h1s = [_words(text) for level, text in outline.headings if level == 1]
        if len(h1s) != 1:
            problems.append(f"{what}: {len(h1s)} h1s")
        # The title says what the h1 says: the same words, or the h1's first words (its agreed short form).
        elif not (h1s[0].startswith(short) or short.startswith(h1s[0])):
            problems.append(f"{what}: title {short!r}, h1 {h1s[0]!r}")
        skips = skipped_levels([level for level, _ in outline.headings])
        if skips:
            problems.append(f"{what}: headings skip {skips}")
    assert len(pages) > 60
    assert not problems, "\n".join(problems)


@given(st.times())
def test_times_read_the_govuk_way(value):
    words = time_words(value)
    if (value.hour, value.minute) == (0, 0):
        assert words == "midnight"
    elif (value.hour, value.minute) == (12, 0):
        assert words == "midday"
    else:
        match = re.fullmatch(r"(1[0-2]|[1-9])(?::([0-5][0-9]))?(am|pm)", words)
        assert match, words
        hour = int(match.group(1)) % 12 + (12 if match.group(3) == "pm" else 0)
        assert (hour, int(match.group(2) or 0)) == (value.hour, value.minute)
        assert match.group(2) != "00"
        # The same moment read back through the datetime the filter is given.
        assert time_words(dt.datetime.combine(dt.date(2026, 1, 5), value)) == words


@sqlite_only
def test_no_page_shows_markup_as_text(app, client, people, login, make_agreement):
    """Markup the templates wrote, escaped into visible text (a string joined to a translated
    Markup is escaped whole): `&lt;span` where a <span> was meant."""
    pages = collect_pages(app, client, people, login, make_agreement, utcnow())
    shown = {what: page[max(0, page.find("&lt;") - 60):page.find("&lt;") + 60]
             for what, page in pages.items() if re.search(r"&lt;/?[a-z]+[ >]", page)}
    assert len(pages) > 60
    assert not shown, shown
