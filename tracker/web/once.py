"""One-time keys that know what they were: a form posted twice creates one row (R12, R15).

Every create form carries a random key in a hidden field (`OnceKey`, made
when the page is drawn and kept when it is shown again with errors). The view
wraps its create in `once(key, create)`: the first post claims the key, keeps a
digest of what was posted, and runs `create`, which returns the address of what
it made. Then:

- the same key with the same content (a double click, a refresh, a retry after
  a lost response) creates nothing and gets the first one's address;
- the same key with other content (a second tab, or the page kept open and
  typed over) is never dropped: `AlreadySent` tells the view, which shows the
  form again with "This form was already sent", a link to what was saved, the
  new typing kept and a fresh key, so it can be sent as a new one;
- a fresh key with the content this person already sent from this page within
  `WINDOW` is the same submission too. That is the browser's Back button: the
  page is not cached (no-store), so Back draws it again with a new key, and the
  browser puts the typing back into it. Matching the content rather than
  trusting the browser to restore a hidden field holds in every browser.

The claim and the create are one transaction. Two posts at the same moment both
try to insert the key; the unique index lets one through and the other waits for
it, fails, and answers with the winner's address. A create that is refused
(`RuleBroken`) rolls its claim back, so the corrected form can be sent again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Callable

import peewee
from flask import has_request_context, request
from flask_login import current_user
from wtforms import HiddenField

from tracker.clock import utcnow
from tracker.db import database
from tracker.models import FormSubmission

FIELD = "once_key"
_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")
# How long the same typing from the same person on the same page is taken as the
# submission already made, whatever its key. Long enough for Back and a re-send;
# short enough that a real second incident, typed the same hours later, is logged.
WINDOW = dt.timedelta(minutes=30)
# Posted fields that say nothing about what was typed: the CSRF token changes
# with the session, the revision and opening moment with each drawing of the page.
_NOT_CONTENT = {"csrf_token", FIELD, "revision", "opened_at"}


class AlreadySent(Exception):
    """This form's key was used for other content: show the form again, with a link to what was saved."""

    def __init__(self, url: str):
        super().__init__("This form was already sent")
        self.url = url


def new_key() -> str:
    return secrets.token_urlsafe(18)


def OnceKey() -> HiddenField:  # noqa: N802 - reads as a field type in a form class
    """The hidden field: `once_key = OnceKey()` in a FlaskForm, `{{ form.once_key() }}` in its template."""
    return HiddenField(default=new_key)


def digest_of(form: dict[str, list[str]]) -> str:
    """What was typed, as a digest: every posted field but the ones that change with each drawing of the page."""
    lines = [f"{name}={value.strip()}" for name in sorted(form) if name not in _NOT_CONTENT
             for value in form[name]]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _posted() -> dict[str, list[str]]:
    return {name: request.form.getlist(name) for name in request.form} if has_request_context() else {}


def _actor() -> str:
    if has_request_context() and getattr(current_user, "is_authenticated", False):
        return f"user:{current_user.id}"
    return ""  # an agency: its signed link is in the page's path, so the scope already names it


def _stored_key(key: str | None, scope: str) -> str | None:
    if not key or not _SHAPE.fullmatch(key):
        return None
    return hashlib.sha256(f"{scope}|{key}".encode()).hexdigest()


def _answer(earlier: FormSubmission, digest: str) -> str:
    if earlier.digest and earlier.digest != digest:
        raise AlreadySent(earlier.result_url)
    return earlier.result_url


def once(key: str | None, create: Callable[[], str], scope: str | None = None,
         content: dict[str, list[str]] | None = None) -> str:
    """Run `create` once for this form's key and content; return the address of its result.

    `scope` separates forms that could share a key; it defaults to the page's
    path, so the same key on another record's form is another form. `content`
    defaults to the posted form. A missing or malformed key (a client that did
    not send one) is matched by its content alone. Raises `AlreadySent` when
    the key was used for other content.
    """
    if scope is None:
        scope = request.path if has_request_context() else ""
    digest = digest_of(_posted() if content is None else content)
    content_key = hashlib.sha256(f"{scope}|{_actor()}|{digest}".encode()).hexdigest()
    stored = _stored_key(key, scope)
    if stored is not None:
        earlier = FormSubmission.get_or_none(FormSubmission.key == stored)
        if earlier is not None:
            return _answer(earlier, digest)
    now = utcnow()
    same = (FormSubmission.select().where((FormSubmission.content_key == content_key)
                                          & (FormSubmission.created_at >= now - WINDOW))
            .order_by(FormSubmission.id.desc()).first())
    if same is not None:
        return same.result_url
    stored = stored or hashlib.sha256(f"{scope}|content|{content_key}|{new_key()}".encode()).hexdigest()
    try:
        with database.atomic():
            claim = FormSubmission.create(key=stored, result_url="", created_at=now, digest=digest,
                                          content_key=content_key)
            url = create()
            FormSubmission.update(result_url=url[:500]).where(FormSubmission.id == claim.id).execute()
        return url
    except peewee.IntegrityError:
        # Another post of the same form won the claim while this one ran; its
        # transaction has committed (the unique index made this one wait for it).
        earlier = FormSubmission.get_or_none(FormSubmission.key == stored)
        if earlier is None:
            raise
        return _answer(earlier, digest)
