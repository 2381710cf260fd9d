"""GOV.UK Frontend fields for WTForms, from govuk-frontend-wtf.

`templates/macros/form.html` renders a form's fields through these widgets (text
inputs, long text boxes with a character count, radios, checkboxes, selects); the
project's own `tracker.web.fields.DateField` keeps its own macro, because the
library's date widget keeps no parts of a date it could not read.
"""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovCheckboxInput,
    GovRadioInput,
    GovSelect,
    GovTextArea,
    GovTextInput,
)
from wtforms.validators import Length

# The widgets put `required` on a field with a required validator; GOV.UK forms
# do not (the message beside the field says what is missing), so the macros pass this.
NOT_REQUIRED = {"value": False, "optional": True}

WIDGETS = {
    "input": GovTextInput(),
    "textarea": GovTextArea(),
    "count": GovCharacterCount(),
    "radios": GovRadioInput(),
    "checkbox": GovCheckboxInput(),
    "select": GovSelect(),
}


def max_length(field) -> int | None:
    """The most characters a field takes, from its Length check (None: no limit)."""
    limits = [v.max for v in getattr(field, "validators", ()) if isinstance(v, Length) and v.max and v.max > 0]
    return min(limits) if limits else None


def init_app(app) -> None:
    app.jinja_env.globals["gov"] = WIDGETS
    app.jinja_env.globals["gov_not_required"] = NOT_REQUIRED
    app.jinja_env.globals["max_length"] = max_length
