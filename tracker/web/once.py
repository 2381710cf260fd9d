"""One-time keys: a form posted twice creates one row (R12).

Every create form carries a random key in a hidden field (`OnceKey`, made
when the page is drawn and kept when it is shown again with errors). The view
wraps its create in `once(key, create)`: the first post claims the key and runs
`create`, which returns the address of what it made; a second post of the same
form (a double click, a refresh, a retry after a lost response) creates nothing
and gets the first one's address to redirect to.

The claim and the create are one transaction. Two posts at the same moment both
try to insert the key; the unique index lets one through and the other waits for
it, fails, and answers with the winner's address. A create that is refused
(`RuleBroken`) rolls its claim back, so the corrected form can be sent again.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable

import peewee
from flask import has_request_context, request
from wtforms import HiddenField

from tracker.clock import utcnow
from tracker.db import database
from tracker.models import FormSubmission

FIELD = "once_key"
_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_key() -> str:
    return secrets.token_urlsafe(18)


def OnceKey() -> HiddenField:  # noqa: N802 - reads as a field type in a form class
    """The hidden field: `once_key = OnceKey()` in a FlaskForm, `{{ form.once_key() }}` in its template."""
    return HiddenField(default=new_key)


def _stored_key(key: str | None, scope: str) -> str | None:
    if not key or not _SHAPE.fullmatch(key):
        return None
    return hashlib.sha256(f"{scope}|{key}".encode()).hexdigest()


def once(key: str | None, create: Callable[[], str], scope: str | None = None) -> str:
    """Run `create` once for this form's key and return the address of its result.

    `scope` separates forms that could share a key; it defaults to the page's
    path, so the same key on another record's form is another form. A missing or
    malformed key (a client that did not send one) just creates.
    """
    if scope is None:
        scope = request.path if has_request_context() else ""
    stored = _stored_key(key, scope)
    if stored is None:
        return create()
    earlier = FormSubmission.get_or_none(FormSubmission.key == stored)
    if earlier is not None:
        return earlier.result_url
    try:
        with database.atomic():
            claim = FormSubmission.create(key=stored, result_url="", created_at=utcnow())
            url = create()
            FormSubmission.update(result_url=url[:500]).where(FormSubmission.id == claim.id).execute()
        return url
    except peewee.IntegrityError:
        # Another post of the same form won the claim while this one ran; its
        # transaction has committed (the unique index made this one wait for it).
        earlier = FormSubmission.get_or_none(FormSubmission.key == stored)
        if earlier is None:
            raise
        return earlier.result_url
