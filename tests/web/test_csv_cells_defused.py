"""Every cell of a CSV export opens in a spreadsheet as the text it holds (defusedcsv).

For any text at all: the file reads back as the same rows, and a cell that a
spreadsheet would run (its first character, or its first after blanks, one of
= + - @ | % or a tab, CR or LF) comes back behind one apostrophe, with the text
otherwise kept.
"""

from __future__ import annotations

import csv
import io
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.web.spreadsheet import BLANKS, csv_text

RUNS = ("=", "+", "-", "@", "|", "%")
cell = st.one_of(
    st.text(alphabet=st.one_of(st.characters(blacklist_categories=("Cs",)),
                               st.sampled_from(["=", "+", "-", "@", "|", "%", "\t", "\r", "\n", " ", "\u00a0", "'", '"', ","])),
             max_size=40),
    st.integers(-10**6, 10**6),
    st.none(),
)
BOUNDED = settings(max_examples=150, deadline=None, derandomize=True, database=None)


def _could_run(text: str) -> bool:
    return text[:1] in (*RUNS, "\t", "\r", "\n") or (text[:1] in BLANKS and text.lstrip(BLANKS)[:1] in RUNS)


def _a_number(text: str) -> bool:
    return re.fullmatch(r"-?[0-9,.]+", text) is not None


@BOUNDED
@given(st.lists(st.lists(cell, min_size=1, max_size=5), min_size=1, max_size=5))
def test_no_cell_can_run_and_every_cell_keeps_its_text(rows):
    read = list(csv.reader(io.StringIO(csv_text(rows), newline="")))
    assert len(read) == len(rows)
    for typed_row, read_row in zip(rows, read, strict=True):
        assert len(read_row) == len(typed_row)
        for typed, got in zip(typed_row, read_row, strict=True):
            text = "" if typed is None else str(typed)
            if _could_run(got):
                assert _a_number(got), got  # a plain number such as -5 is not a formula
            if _could_run(text) and not _a_number(text):
                assert got[:1] == "'" and got[1:].replace("\\|", "|") == text, (text, got)
            else:
                assert got == text
