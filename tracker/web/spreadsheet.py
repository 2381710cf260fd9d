"""CSV exports that are safe to open in a spreadsheet.

defusedcsv's writer neutralises a cell that starts with = + - @ | or % (a leading
apostrophe; a pipe in it is written \\|), leaving plain numbers alone. Two ways in
that it does not know are closed here first: a cell starting with a tab, CR or LF,
and a formula behind leading blanks (spreadsheets skip spaces before a formula).
"""

from __future__ import annotations

import io
from numbers import Number

from defusedcsv import csv as defused
from flask import Response

BLANKS = " \t\r\n\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\ufeff"
STARTS = ("=", "+", "-", "@", "|", "%")


def _guarded(value):
    """A cell defusedcsv would let through unguarded, given its apostrophe."""
    if value is None:
        return ""
    if isinstance(value, Number) and not isinstance(value, bool):
        return value
    text = str(value)
    if text[:1] in ("\t", "\r", "\n") or (text[:1] in BLANKS and text.lstrip(BLANKS)[:1] in STARTS):
        return "'" + text
    return text


def csv_text(rows) -> str:
    """The CSV of these rows, each cell shown as text and never run as a formula."""
    out = io.StringIO()
    writer = defused.writer(out)
    for row in rows:
        writer.writerow([_guarded(v) for v in row])
    return out.getvalue()


def csv_response(filename: str, header: list[str], rows, made_by: str = "") -> Response:
    """A CSV download. `made_by`, when given, is a first row saying what the
    export holds and what filter made it, so a file read a week later says so."""
    lead = [[made_by]] if made_by else []
    return Response(csv_text([*lead, header, *rows]), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})
