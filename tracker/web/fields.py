"""WTForms fields for GOV.UK patterns: the three-box date input and date with time.

Each keeps exactly what was typed (`parts`) so a form with an error is shown
again with every value as the user left it, and reports an impossible date
("31 2 2026") beside the field instead of failing later.
"""

from __future__ import annotations

import datetime as dt
import re

from wtforms import Field
from wtforms.utils import unset_value
from wtforms.validators import ValidationError

from tracker.clock import from_london, to_london
from tracker.rules import LINE_BREAKS, MARKUP

TIME = re.compile(r"^\s*([0-9]{1,2})[:.]([0-9]{2})\s*$")
ONE_OR_TWO = re.compile(r"0?[0-9]{1,2}")
FOUR = re.compile(r"[0-9]{4}")
FIRST_YEAR, LAST_YEAR = 1900, 2100




def single_line(form, field) -> None:
    """Refuse line breaks in a one-line answer (a name, a team, an agency): it may reach an email header."""
    if field.data and LINE_BREAKS.search(str(field.data)):
        raise ValidationError(f"{field.label.text} must be on one line - remove the line breaks")


def no_markup(form, field) -> None:
    """Refuse HTML tags in free text; output is escaped anyway, this keeps records clean."""
    if field.data and MARKUP.search(str(field.data)):
        raise ValidationError(f"{field.label.text} must not contain HTML tags such as <script> - remove the < and > characters")


class DateField(Field):
    """A GOV.UK date input: `name-day`, `name-month`, `name-year`."""

    parts_names = ("day", "month", "year")

    def __init__(self, label=None, validators=None, required: bool | str = False, **kwargs):
        super().__init__(label, validators, **kwargs)
        # True asks "Enter the <label>"; a string is the message itself.
        self.required = required
        self.parts: dict[str, str] = {}
        self.parse_error: str | None = None

    def process(self, formdata, data=unset_value, extra_filters=None):
        self.process_errors = []
        self.parse_error = None
        if data is unset_value:
            data = self.default() if callable(self.default) else self.default
        self.object_data = data
        self.data = data
        self.parts = self._parts_from(data)
        if formdata is not None and any(f"{self.name}-{p}" in formdata for p in self.parts_names):
            self.parts = {p: (formdata.get(f"{self.name}-{p}") or "").strip()[:20] for p in self.parts_names}
            self.data = self._parse()

    def _parts_from(self, value) -> dict[str, str]:
        if isinstance(value, dt.datetime):
            local = to_london(value)
            return {"day": str(local.day), "month": str(local.month), "year": str(local.year), "time": local.strftime("%H:%M")}
        if isinstance(value, dt.date):
            return {"day": str(value.day), "month": str(value.month), "year": str(value.year)}
        return {p: "" for p in self.parts_names}

    def _parse_date(self) -> dt.date | None:
        day, month, year = (self.parts.get(p, "") for p in ("day", "month", "year"))
        if not (day or month or year):
            return None
        label = self.label.text
        if not (day and month and year):
            missing = [p for p in ("day", "month", "year") if not self.parts.get(p)]
            self.parse_error = f"{label} must include a {' and '.join(missing)}"
            return None
        # ASCII digits only, and few of them: "²" passes str.isdigit() but not
        # int(), and a day of twenty digits overflows the date arithmetic.
        if not (ONE_OR_TWO.fullmatch(day) and ONE_OR_TWO.fullmatch(month) and FOUR.fullmatch(year)):
            self.parse_error = f"{label} must be a real date, for example 27 3 2026"
            return None
        try:
            value = dt.date(int(year), int(month), int(day))
        except ValueError:
            self.parse_error = f"{label} must be a real date, for example 27 3 2026"
            return None
        if not FIRST_YEAR <= value.year <= LAST_YEAR:
            # Nothing here happens before 1900 or after 2100, and dates far out
            # would overflow the reminder arithmetic.
            self.parse_error = f"{label} must be a real date between {FIRST_YEAR} and {LAST_YEAR}"
            return None
        return value

    def _parse(self):
        return self._parse_date()

    def pre_validate(self, form) -> None:
        if self.parse_error:
            raise ValidationError(self.parse_error)
        if self.required and self.data is None:
            raise ValidationError(self.required if isinstance(self.required, str)
                                  else f"Enter the {self.label.text.lower()}")


class DateTimeField(DateField):
    """A GOV.UK date input followed by a time box; stored as naive UTC."""

    parts_names = ("day", "month", "year", "time")

    def _parse(self):
        date = self._parse_date()
        if self.parse_error:
            return None
        time_text = self.parts.get("time", "")
        if date is None:
            if time_text:
                self.parse_error = f"{self.label.text} must include a date as well as a time"
            return None
        if not time_text:
            self.parse_error = f"{self.label.text} must include a time, for example 14:30"
            return None
        match = TIME.match(time_text)
        if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            self.parse_error = f"{self.label.text} must have a real time, for example 14:30"
            return None
        return from_london(date, dt.time(int(match.group(1)), int(match.group(2))))
