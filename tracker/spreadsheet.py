"""CSV exports that are safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

from flask import Response


def safe(value) -> str:
    """A cell a spreadsheet shows as text: one starting = + - @ tab or CR is not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_response(filename: str, header: list[str], rows, made_by: str = "") -> Response:
    """A CSV download. `made_by`, when given, is a first row saying what the
    export holds and what filter made it, so a file read a week later says so."""
    out = io.StringIO()
    writer = csv.writer(out)
    if made_by:
        writer.writerow([safe(made_by)])
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe(v) for v in row])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})
