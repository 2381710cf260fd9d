"""Nothing typed is lost (issue 22): a long form's typing, kept on the server as a draft.

A draft belongs to one person and one form page: the page's address names the form
and the record it changes (/agreements/new?kind=partnership, /agreements/12/edit).
While the person is signed in, autosave and "Save and come back later" keep it
("open"); a form posted after their session had ended is kept for them too
("pending"), so after signing in again the page comes back with what they typed.
Saving the form for real marks the draft used; nothing here deletes a row (a
record's drafts go with the record at retention, by their foreign key; drafts of
records never created are cleared by the monthly retention review once untouched
for `draft_keep_days`: tracker.governance.retention.clear_abandoned_drafts).
"""

from __future__ import annotations

import datetime as dt
import json

from tracker import audit
from tracker.db import database
from tracker.models import FormDraft, User

STATES = ("open", "pending")
# What a draft never keeps: the CSRF token, the owner's signed name, and which button was pressed.
NOT_KEPT = frozenset(("csrf_token", "draft_owner", "save", "later", "discard", "add", "remove", "fill"))


def _live(user_id: int, path: str):
    return FormDraft.select().where((FormDraft.user == user_id) & (FormDraft.path == path)
                                    & FormDraft.used_at.is_null())


def keep(user_id: int, path: str, fields: list[tuple[str, str]], now: dt.datetime, *, state: str = "open",
         agreement_id: int | None = None) -> FormDraft:
    """Keep what was typed in the form at `path` as this person's one live draft of it."""
    if state not in STATES:
        raise ValueError(state)
    body = json.dumps([[name, value] for name, value in fields if name not in NOT_KEPT])
    with database.atomic():
        draft = _live(user_id, path).order_by(FormDraft.saved_at.desc(), FormDraft.id.desc()).first()
        if draft is None:
            draft = FormDraft.create(user=user_id, agreement=agreement_id, path=path[:300], state=state, body=body,
                                     saved_at=now)
        else:
            # The same draft, typed further: its row is updated rather than a row added per keystroke.
            FormDraft.update(body=body, state=state, saved_at=now).where(FormDraft.id == draft.id).execute()
        audit.record("draft_saved", user=User.get_by_id(user_id), agreement=agreement_id, entity="form_draft",
                     entity_id=draft.id, changes={"form": [None, path], "state": [None, state]}, at=now)
    return FormDraft.get_by_id(draft.id)


def latest(user_id: int, path: str) -> FormDraft | None:
    """This person's live draft of the form at `path`, if they have one."""
    return _live(user_id, path).order_by(FormDraft.saved_at.desc(), FormDraft.id.desc()).first()


def fields(draft: FormDraft) -> list[tuple[str, str]]:
    """The draft's fields as they were posted, in their order (repeated names kept)."""
    return [(name, value) for name, value in json.loads(draft.body)]


def use(user_id: int, path: str, now: dt.datetime, how: str = "saved") -> int:
    """Mark this person's live drafts of the form used: saved to the record, or set aside ("discarded")."""
    with database.atomic():
        ids = [d.id for d in _live(user_id, path)]
        if not ids:
            return 0
        used = FormDraft.update(used_at=now, used_how=how).where(
            FormDraft.id.in_(ids) & FormDraft.used_at.is_null()).execute()
        audit.record(f"draft_{how}", user=User.get_by_id(user_id), entity="form_draft", entity_id=ids[-1],
                     changes={"form": [None, path]}, at=now)
    return used
