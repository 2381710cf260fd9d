"""An administrator imports a real XLSX made by openpyxl: first a file with errors, then a good one, whose
progress page (htmx polling every 2 s) shows the job runner's result without a reload."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from jobs.imports import run_imports
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tracker.clock import utcnow
from tracker.governance.imports import NAMES
from tracker.models import Agreement, ImportJob

pytestmark = pytest.mark.browser


def workbook(path, rows: list[dict], extra: dict | None = None) -> str:
    book = Workbook()
    sheet = book.active
    sheet.append(NAMES + list(extra or {}))
    for n, r in enumerate(rows):
        sheet.append([r.get(name, "") for name in NAMES] + [v if n == 0 else "" for v in (extra or {}).values()])
    out = io.BytesIO()
    book.save(out)
    path.write_bytes(out.getvalue())
    return str(path)


def row(reference: str, **overrides) -> dict:
    data = {"reference": reference, "kind": "partnership", "social_worker_email": "worker@council.example",
            "child_name": f"Child {reference}", "child_date_of_birth": "04/05/2019", "completed_on": "20/10/2026",
            "purpose": "To keep the child safe at home.", "actions": "Mother will take the child to nursery",
            "next_review_date": "15/01/2027", "next_review_time": "10:00"}
    data.update(overrides)
    return data


def test_administrator_imports_a_spreadsheet_after_fixing_its_errors(page, live, tmp_path):
    sign_in(page, live, live.people.admin)
    page.get_by_role("link", name="Import records from a spreadsheet").click()
    assert_accessible(page, "import page")

    bad = workbook(tmp_path / "bad.xlsx", [row("OLD-1"), row("OLD-2", child_date_of_birth="31/02/2019"),
                                           row("OLD-3", social_worker_email="nobody@council.example"),
                                           row("OLD-1")])
    page.locator("#file").set_input_files(bad)
    page.get_by_role("button", name="Check the file").click()
    page.get_by_role("heading", name="Check the import of bad.xlsx").wait_for()
    assert "3 records of 4 have errors" in page.content()
    assert "Unknown worker" in page.locator("#row-4").inner_text()
    assert "Duplicate reference" in page.locator("#row-5").inner_text()
    assert page.get_by_role("button", name="Import 4 records").count() == 0
    assert_accessible(page, "import preview with errors")
    screenshot(page, "import-errors")
    assert Agreement.select().count() == 0

    page.get_by_role("link", name="Upload a corrected file").click()
    # OLD-1 has a second child on a row of its own; a column the template does not have is warned about.
    good = workbook(tmp_path / "good.xlsx", [row(f"OLD-{n}") for n in range(1, 6)]
                    + [{"reference": "OLD-1", "child_name": "Second Child", "child_date_of_birth": "01/02/2017"}],
                    extra={"Notes": "kept in the old sheet"})
    page.locator("#file").set_input_files(good)
    page.get_by_role("button", name="Check the file").click()
    assert "Notes" in page.locator("#import-warnings").inner_text()
    assert "Second Child" in page.locator("#row-2").inner_text()
    assert_accessible(page, "import preview ready")
    page.get_by_role("button", name="Import 5 records").click()
    page.get_by_role("heading", name="Importing good.xlsx").wait_for()
    assert "Waiting to start" in page.locator("#import-progress").inner_text()
    assert_accessible(page, "import progress")
    assert Agreement.select().count() == 0  # the request returned before anything was recorded
    assert run_imports(utcnow()) == 1  # the job runner's pass
    # htmx polls the progress panel: the result appears without a reload or a click.
    page.get_by_text("5 records imported from good.xlsx").wait_for(timeout=8_000)
    assert page.locator("#import-progress").get_attribute("data-hx-trigger") is None  # finished: polling stops
    assert Agreement.select().where(Agreement.status == "active").count() == 5
    assert ImportJob.get().status == "done"


def test_without_javascript_the_progress_page_is_checked_by_a_link(browser, live, tmp_path):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live, live.people.admin)
        page.goto(live.url + "/import/")
        page.locator("#file").set_input_files(workbook(tmp_path / "one.xlsx", [row("OLD-9")]))
        page.get_by_role("button", name="Check the file").click()
        page.get_by_role("button", name="Import 1 record", exact=True).click()
        assert "Waiting to start" in page.locator("#import-progress").inner_text()
        run_imports(utcnow())
        page.get_by_role("link", name="Check progress").click()
        assert "1 record imported from one.xlsx" in page.locator("#import-progress").inner_text()
    finally:
        context.close()
