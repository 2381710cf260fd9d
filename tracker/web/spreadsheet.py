"""CSV exports that are safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

from flask import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe(value) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula.

    Neutralised (a leading apostrophe) when its first non-blank character is
    = + - @, a tab, CR or LF: spreadsheets skip leading spaces before a formula.
    """
    text = "" if value is None else str(value)
    first = text.lstrip(" \u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\ufeff")[:1]
    return "'" + text if first and first in FORMULA_STARTS else text


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
