"""Numbers that arrive from outside: ids in addresses, query strings and hidden fields.

A number is ASCII digits only and within the range a database id can hold.
`str.isdigit()` is not enough: it says yes to "²" and "٣", which `int()` then
refuses or reads, and an id of 2^63 overflows SQLite (2^31 PostgreSQL's
integer). Anything else is "no such id", so a page answers 404, never 500.
"""

from __future__ import annotations

import re
import unicodedata

from werkzeug.routing import IntegerConverter

# peewee's AutoField is a 32-bit integer on PostgreSQL; the smaller bound holds on both.
MAX_ID = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")


def parse_id(value) -> int | None:
    """The id written in `value`, or None when it is not one."""
    text = str(value if value is not None else "").strip()
    if not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def parse_page(value, default: int = 1) -> int:
    """A page number from a query string; anything odd is page 1, huge ones the last page."""
    text = str(value if value is not None else "").strip()
    if not re.fullmatch(r"[0-9]{1,12}", text):
        return default
    return max(1, min(int(text), 1_000_000))


class IdConverter(IntegerConverter):
    """`<int:…>` in a route: ASCII digits within MAX_ID, else the route does not match (404)."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=1 if min is None else min,
                         max=MAX_ID if max is None else max, signed=signed)


def parse_number(value, low: int = 0, high: int = MAX_ID) -> int | None:
    """A whole number written in ASCII digits within [low, high] (a form's revision, weeks, a row's
    position), or None. "²", "٣" and full-width digits are not numbers here; nor is a sign or a space inside."""
    text = str(value if value is not None else "").strip()
    if not re.fullmatch(r"[0-9]{1,12}", text):
        return None
    number = int(text)
    return number if low <= number <= high else None


def ascii_digits(text: str) -> str:
    """`text` with every decimal digit of any script ("٣", "３") written as its ASCII digit.

    For identity numbers typed on another keyboard (an NHS number, a person ID):
    stored and compared in one form. Other characters stay, for the caller to
    refuse; a superscript "²" is not a decimal digit and stays too.
    """
    return "".join(str(unicodedata.decimal(c)) if not c.isascii() and unicodedata.decimal(c, None) is not None
                   else c for c in text or "")


def safe_filename(text: str) -> str:
    """A download's file name built only from checked characters: a header value never carries CR, LF or quotes."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text or "")).strip("-.")[:80] or "download"
