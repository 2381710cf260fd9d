"""An administrator imports a real XLSX made by openpyxl: first a file with errors, then a good one (issue 14)."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tracker.governance.imports import NAMES
from tracker.models import Agreement

pytestmark = pytest.mark.browser


def workbook(path, rows: list[dict]) -> str:
    book = Workbook()
    sheet = book.active
    sheet.append(NAMES)
    for r in rows:
        sheet.append([r.get(name, "") for name in NAMES])
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
    assert "3 rows of 4 have errors" in page.content()
    assert "Unknown worker" in page.locator("#row-4").inner_text()
    assert "Duplicate reference" in page.locator("#row-5").inner_text()
    assert page.get_by_role("button", name="Import 4 records").count() == 0
    assert_accessible(page, "import preview with errors")
    screenshot(page, "import-errors")
    assert Agreement.select().count() == 0

    page.get_by_role("link", name="Upload a corrected file").click()
    good = workbook(tmp_path / "good.xlsx", [row(f"OLD-{n}") for n in range(1, 6)])
    page.locator("#file").set_input_files(good)
    page.get_by_role("button", name="Check the file").click()
    assert_accessible(page, "import preview ready")
    page.get_by_role("button", name="Import 5 records").click()
    page.get_by_text("5 records imported from good.xlsx").wait_for()
    assert Agreement.select().where(Agreement.status == "active").count() == 5
