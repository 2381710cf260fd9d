"""Import sheets for the tests: a record's first row and a CSV of rows in the template's columns."""

from __future__ import annotations

import csv
import io

from tracker.governance import imports


def record_row(reference: str, **cells) -> dict:
    """A good partnership agreement's first row, for the `worker` of tests/conftest.py."""
    row = {"reference": reference, "kind": "partnership", "social_worker_email": "worker@council.example",
           "completed_on": "20/10/2026", "purpose": "To keep the child safe at home.",
           "actions": "Mother will take the child to school", "next_review_date": "15/01/2027"}
    row.update(cells)
    return row


def sheet_csv(rows: list[dict], extra: list[str] = ()) -> bytes:
    """The rows as a CSV in the template's columns, and `extra` columns the template does not have."""
    out = io.StringIO()
    writer = csv.writer(out)
    header = imports.NAMES + list(extra)
    writer.writerow(header)
    for r in rows:
        writer.writerow([r.get(name, "") for name in header])
    return out.getvalue().encode()
