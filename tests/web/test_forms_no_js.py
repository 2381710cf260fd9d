"""Forms without JavaScript land where the person was; htmx decisions go through flask-htmx."""

from __future__ import annotations

import re
from pathlib import Path

from tracker.models import Agreement

VIEWS = Path(__file__).resolve().parents[2] / "tracker" / "views"


def _row_form(people, good_partnership) -> dict[str, str]:
    data = good_partnership(social_worker=str(people.worker.id))
    data.pop("save")
    return data


def test_add_another_returns_the_page_at_the_row_just_added(client, people, login, good_partnership):
    login(people.worker)
    response = client.post("/agreements/new?kind=partnership", data={**_row_form(people, good_partnership), "add": "actions"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and Agreement.select().count() == 0
    # The new row takes focus, so the browser shows it, not the top of the form.
    assert re.search(r'<fieldset class="govuk-fieldset app-repeatable-row" id="actions-2" tabindex="-1" autofocus>', page)
    assert page.count("autofocus") == 1
    # The next "Add another" posts to an address that ends at the row it will add.
    assert re.search(r'formaction="/agreements/new\?kind=partnership#actions-3"', page)


def test_after_a_removal_the_next_row_is_anchored_after_the_last_one_shown(client, people, login, good_partnership):
    login(people.worker)
    page = client.post("/agreements/new?kind=partnership",
                       data={**_row_form(people, good_partnership), "remove": "actions-1"}).get_data(as_text=True)
    assert 'id="actions-1"' not in page
    assert 'formaction="/agreements/new?kind=partnership#actions-1"' in page
    # The page lands where the person was: at the row before the one removed (it was the last).
    assert page.count("autofocus") == 1 and 'id="actions-0" tabindex="-1" autofocus' in page


def test_removing_a_row_from_the_middle_twice_removes_the_rows_asked_for(client, people, login, good_partnership):
    """WTForms numbers posted rows afresh, so the page's row names and the form's differ after a
    removal in the middle; the buttons still remove the row they are on."""
    login(people.worker)
    data = _row_form(people, good_partnership)
    third = {k.replace("actions-1-", "actions-2-"): v for k, v in data.items() if k.startswith("actions-1-")}
    third["actions-2-what"] = "Third action"
    page = client.post("/agreements/new?kind=partnership", data={**data, **third, "remove": "actions-1"},
                       headers={"HX-Request": "true", "HX-Target": "section-actions"}).get_data(as_text=True)
    assert "Third action" in page and 'id="actions-2" tabindex="-1" autofocus' in page
    # The page now has rows 0 and 2; removing "2" removes the third action, not nothing.
    left = {k: v for k, v in data.items() if not k.startswith("actions-1-")}
    page = client.post("/agreements/new?kind=partnership", data={**left, **third, "remove": "actions-2"},
                       headers={"HX-Request": "true", "HX-Target": "section-actions"}).get_data(as_text=True)
    assert "Third action" not in page and page.count('class="govuk-fieldset app-repeatable-row"') == 1
    assert 'id="actions-0" tabindex="-1" autofocus' in page


def test_with_htmx_the_section_comes_back_with_the_new_row_focused(client, people, login, good_partnership):
    login(people.worker)
    response = client.post("/agreements/new?kind=partnership", data={**_row_form(people, good_partnership), "add": "parties"},
                           headers={"HX-Request": "true", "HX-Target": "section-parties"})
    page = response.get_data(as_text=True)
    assert page.lstrip().startswith('<div id="section-parties">') and "<html" not in page
    assert 'id="parties-1" tabindex="-1" autofocus' in page


def test_the_register_returns_its_table_only_to_htmx_aiming_at_it(client, people, login, make_agreement):
    make_agreement()
    login(people.worker)
    fragment = client.get("/agreements", headers={"HX-Request": "true", "HX-Target": "register-results"})
    assert "<html" not in fragment.get_data(as_text=True)
    elsewhere = client.get("/agreements", headers={"HX-Request": "true", "HX-Target": "main-content"})
    assert "<html" in elsewhere.get_data(as_text=True)


def test_no_view_reads_an_htmx_header_by_hand():
    for path in VIEWS.glob("*.py"):
        source = path.read_text()
        assert "HX-" not in source, f"{path.name} reads an HX-* header; use flask_htmx's htmx"
