"""What the independent checkers found (issue 12, item 10): landmarks, table captions,
h1 in emails and htmx attributes written so the Nu Html Checker accepts them."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tracker.agencies import tokens

# The markup does not depend on the database; SQLite keeps these quick.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
LANDMARKS = {"header", "nav", "main", "footer", "aside", "section", "form"}


class Tree(HTMLParser):
    """Each element with the chain of elements it sits inside."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict]] = []
        self.elements: list[tuple[str, dict, list[tuple[str, dict]]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.elements.append((tag, attributes, list(self.stack)))
        if tag not in VOID:
            self.stack.append((tag, attributes))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), list(self.stack)))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def with_class(self, name: str):
        return [e for e in self.elements if name in (e[1].get("class") or "").split()]


def _in_landmark(ancestors) -> str | None:
    for tag, attributes in reversed(ancestors):
        if tag in ("header", "nav", "main", "footer", "aside") or attributes.get("role") in (
                "banner", "navigation", "main", "contentinfo", "complementary", "region"):
            return tag
    return None


@sqlite_only
def test_the_header_and_the_user_bar_sit_inside_the_banner_landmark(client, people, login):
    login(people.worker)
    page = client.get("/").get_data(as_text=True)
    tree = Tree(page)
    (header,) = tree.with_class("govuk-generic-header")
    (bar,) = tree.with_class("app-user-bar")
    assert _in_landmark(header[2]) == "header"
    assert _in_landmark(bar[2]) == "header"
    assert "Sign out" in page and "Signed in as Sam Worker" in page
    # One banner, at the top level (not inside main), as GOV.UK's page template has it.
    assert [e for e in tree.elements if e[0] == "header"] == [
        e for e in tree.elements if e[0] == "header" and not any(a[0] == "main" for a in e[2])]
    assert len([e for e in tree.elements if e[0] == "header"]) == 1


@sqlite_only
def test_signed_out_the_header_is_still_inside_the_banner(client):
    tree = Tree(client.get("/login").get_data(as_text=True))
    (header,) = tree.with_class("govuk-generic-header")
    assert _in_landmark(header[2]) == "header"
    assert not tree.with_class("app-user-bar")


def _tables_and_captions(page: str) -> list[str | None]:
    """For each table on the page, the text of its caption (None when it has none)."""

    class Captions(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.tables: list[str | None] = []
            self.in_caption = False
            self.expect_caption = False

        def handle_starttag(self, tag, attrs):
            if tag == "table":
                self.tables.append(None)
                self.expect_caption = True
            elif tag == "caption" and self.expect_caption:
                self.in_caption = True
                self.tables[-1] = ""
                assert "govuk-table__caption" in (dict(attrs).get("class") or "")
            elif self.expect_caption and not self.in_caption:
                self.expect_caption = False  # a caption must be the table's first child

        def handle_endtag(self, tag):
            if tag == "caption":
                self.in_caption = self.expect_caption = False

        def handle_data(self, data):
            if self.in_caption:
                self.tables[-1] += data

    parser = Captions()
    parser.feed(page)
    return [" ".join(c.split()) if c is not None else None for c in parser.tables]


@sqlite_only
def test_every_table_on_the_record_the_printable_copy_and_the_agency_page_is_named(client, people, login,
                                                                                  make_agreement):
    from tracker.models import Recipient
    agreement = make_agreement(status="active")
    login(people.worker)
    record = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    captions = _tables_and_captions(record)
    # Actions, reviews, parties, the distribution list, readiness for the review and the emails.
    assert len(captions) == 6 and all(captions), captions
    assert {"Actions agreed", "Parties", "Distribution list", "Reviews", "Emails about this record"} <= set(captions)
    assert "Ready for the review: each agency's copy and report" in captions

    printable = _tables_and_captions(client.get(f"/agreements/{agreement.id}/print").get_data(as_text=True))
    assert len(printable) == 2 and all(printable), printable
    assert "A copy of this agreement will be given to" in printable

    directory = _tables_and_captions(client.get("/agreements/agency-suggestions?row=recipients-0")
                                     .get_data(as_text=True))
    assert directory == ["Agencies"]

    client.post("/logout")
    recipient = Recipient.get(Recipient.agreement == agreement)
    agency = _tables_and_captions(client.get("/a/" + tokens.token_for(recipient)).get_data(as_text=True))
    assert agency and all(agency), agency
    assert "Who has a copy" in agency

    # The PDF of the same copy shows each heading once: its captions are for screen readers only.
    import io

    from pypdf import PdfReader
    pdf = client.get("/a/" + tokens.token_for(recipient) + "/copy.pdf")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert text.count("Who has a copy") == 1


@sqlite_only
def test_without_javascript_the_breach_search_fills_the_same_live_region(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    login(people.worker)
    page = client.get("/breaches/new?q=ella").get_data(as_text=True)
    region = page[page.index('<div id="breach-results" aria-live="polite">'):]
    assert agreement.reference in region[:region.index("</div>")]
    # htmx asks for the region's inside (flask-htmx reads HX-Target) and swaps only that.
    assert 'data-hx-target="#breach-results" data-hx-swap="innerHTML"' in page
    inside = client.get("/breaches/new?q=ella", headers={"HX-Request": "true", "HX-Target": "breach-results"})
    assert agreement.reference in inside.get_data(as_text=True) and "breach-results" not in inside.get_data(as_text=True)
    other = client.get("/breaches/new?q=ella", headers={"HX-Request": "true", "HX-Target": "elsewhere"})
    assert '<div id="breach-results" aria-live="polite">' in other.get_data(as_text=True)


@sqlite_only
def test_the_report_summary_and_the_digest_emails_have_one_h1(make_agreement, every_kind):

    rows = {n.kind: n for n in every_kind(make_agreement)}
    summary, digest = rows["report_summary"], rows["digest"]
    assert summary.body_html.count("<h1") == 1
    assert f'<h1 style="font-size: 24px;">Agency reports for the review of {summary.agreement.reference}</h1>' \
        in summary.body_html
    assert digest.body_html.count("<h1") == 1
    assert '<h1 style="font-size: 24px;">North team: what needs action today</h1>' in digest.body_html
    # The heading comes before the first h2, so the outline reads from the top.
    for n in (summary, digest):
        assert n.body_html.index("<h1") < n.body_html.index("<h2")


TEMPLATES = __import__("pathlib").Path(__file__).resolve().parents[2] / "templates"


def test_no_template_writes_a_bare_hx_attribute():
    """The Nu Html Checker refuses hx-*; htmx 2 reads data-hx-* just the same."""
    import re
    bare = re.compile(r"(?<![\w-])hx-[a-z]")
    found = [f"{p.relative_to(TEMPLATES)}:{i}" for p in TEMPLATES.rglob("*.html")
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if bare.search(line)]
    assert not found, found


@sqlite_only
def test_every_page_uses_data_hx_and_keeps_header_and_user_bar_in_the_banner(app, client, people, login,
                                                                             make_agreement):
    from tracker.models import Recipient
    agreement = make_agreement(status="active")
    draft = make_agreement()
    simple = sorted(rule.rule for rule in app.url_map.iter_rules()
                    if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith("/static")
                    and rule.rule not in ("/logout",))
    record_pages = [f"/agreements/{agreement.id}", f"/agreements/{agreement.id}/print",
                    f"/agreements/{draft.id}/edit", f"/agreements/{agreement.id}/breaches/new",
                    "/agreements/new?kind=partnership", "/agreements/new?kind=undertaking", "/breaches/new?q=ella"]
    seen = with_htmx = 0
    for user in (people.worker, people.admin):
        login(user)
        for url in simple + record_pages:
            response = client.get(url)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            page = response.get_data(as_text=True)
            tree = Tree(page)
            names = {name for _, attributes, _ in tree.elements for name in attributes}
            assert not [n for n in names if n.startswith("hx-")], url
            with_htmx += any(n.startswith("data-hx-") for n in names)
            if "<html" in page and 'class="govuk-template"' in page:
                for name in ("govuk-generic-header", "app-user-bar"):
                    for element in tree.with_class(name):
                        assert _in_landmark(element[2]) == "header", (url, name)
            seen += 1
    client.post("/logout")
    recipient = Recipient.get(Recipient.agreement == agreement)
    agency = Tree(client.get("/a/" + tokens.token_for(recipient)).get_data(as_text=True))
    assert not [n for _, attributes, _ in agency.elements for n in attributes if n.startswith("hx-")]
    assert seen >= 18 and with_htmx >= 4, (seen, with_htmx)


@sqlite_only
def test_static_files_come_compressed_under_hashed_names_cached_for_ever(client):
    """WhiteNoise serves the stylesheet the page links: named by its content, gzip or
    brotli when the browser accepts it, and cached for ten years as immutable."""
    import gzip
    import re
    from pathlib import Path

    import brotli
    page = client.get("/login").get_data(as_text=True)
    (css,) = re.findall(r'<link rel="stylesheet" href="(/static/css/app\.[0-9a-f]{12}\.css)">', page)
    plain = (Path(__file__).resolve().parents[2] / "static" / "css" / "app.css").read_bytes()

    zipped = client.get(css, headers={"Accept-Encoding": "gzip"})
    assert zipped.status_code == 200 and zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain and len(zipped.data) < len(plain) / 4
    assert "immutable" in zipped.headers["Cache-Control"]
    assert int(re.search(r"max-age=(\d+)", zipped.headers["Cache-Control"]).group(1)) >= 365 * 24 * 3600
    assert zipped.headers["Vary"] == "Accept-Encoding" and zipped.headers["Content-Type"].startswith("text/css")
    assert zipped.headers["X-Content-Type-Options"] == "nosniff"

    squeezed = client.get(css, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert squeezed.headers["Content-Encoding"] == "br" and brotli.decompress(squeezed.data) == plain
    raw = client.get(css)
    assert "Content-Encoding" not in raw.headers and raw.data == plain

    # The page's module imports GOV.UK Frontend by its hashed name too, so nothing it loads is stale.
    (script,) = re.findall(r'<script type="module" src="(/static/js/app\.[0-9a-f]{12}\.js)">', page)
    imported = re.search(r"from '\./(govuk-frontend\.min\.[0-9a-f]{12}\.js)'", client.get(script).get_data(as_text=True))
    module = client.get("/static/js/" + imported.group(1))
    assert module.status_code == 200 and "immutable" in module.headers["Cache-Control"]
    # The plain name still answers, but only for a minute.
    assert client.get("/static/css/app.css").headers["Cache-Control"] == "max-age=60, public"
    # Pages themselves are never cached, and keep their CSP without 'unsafe-inline'.
    response = client.get("/login")
    assert response.headers["Cache-Control"] == "no-store"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_a_changed_file_gets_a_new_name_on_a_fresh_build(tmp_path):
    from tracker.web import assets
    static, out = tmp_path / "static", tmp_path / "build"
    (static / "css").mkdir(parents=True)
    (static / "js").mkdir()
    (static / "css" / "app.css").write_text("body { color: black; }" * 50)
    (static / "js" / "lib.js").write_text("export const x = 1;" * 50)
    (static / "js" / "app.js").write_text("import { x } from './lib.js'\nconsole.log(x)\n")
    first = assets.build(static, out)
    assert (out / first["css/app.css"]).read_bytes() == (static / "css" / "app.css").read_bytes()
    assert (out / (first["css/app.css"] + ".gz")).exists()
    assert f"from './{first['js/lib.js'].rpartition('/')[2]}'" in (out / first["js/app.js"]).read_text()
    (static / "js" / "lib.js").write_text("export const x = 2;" * 50)
    second = assets.build(static, out)
    assert second["css/app.css"] == first["css/app.css"]
    # A changed module renames the module that imports it as well.
    assert second["js/lib.js"] != first["js/lib.js"] and second["js/app.js"] != first["js/app.js"]


def test_every_dashboard_table_becomes_cards_on_a_phone():
    """At phone width a five-column table squeezes its headings to a letter a line; each of the
    dashboard's tables stacks into cards instead, every cell under its column's name."""
    import re
    for path in sorted((TEMPLATES / "dashboard").glob("*.html")):
        text = path.read_text(encoding="utf-8")
        for table in re.findall(r'<table class="([^"]*)"', text):
            assert "app-table--stack" in table.split(), path.name
        assert not re.search(r'<td class="govuk-table__cell"(?![^>]*data-label=)', text), path.name
