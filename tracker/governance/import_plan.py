"""What one record of an import file becomes before it is recorded.

Both steps read it: checking (tracker.governance.imports) fills a `Plan` in,
recording (tracker.governance.import_writer) writes it, so neither imports the
other's module for it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from tracker.models import User

IMPORTED_ENDORSEMENT = "Imported: endorsed before the tracker was used"


@dataclass
class Plan:
    """One record of the file, as it will be recorded: its rows, values, errors and warnings."""

    line: int
    cells: dict[str, str]
    lines: list[int] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    kind: str = ""
    worker: User | None = None
    values: dict = field(default_factory=dict)  # the record's own fields, as the model stores them
    children: list[dict] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    parties: list[dict] = field(default_factory=list)
    recipients: list[dict] = field(default_factory=list)
    completed_on: dt.date | None = None
    endorsed_on: dt.date | None = None
    issued_on: dt.date | None = None
    review_at: dt.datetime | None = None
    review_venue: str = ""
    window_starts_at: dt.datetime | None = None
    window_ends_at: dt.datetime | None = None

    @property
    def reference(self) -> str:
        return self.cells.get("reference", "")


def error_count(plans: list[Plan]) -> int:
    return sum(1 for plan in plans if plan.errors)
