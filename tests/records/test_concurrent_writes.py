"""A transaction that reads and then writes, while another connection writes in between.

On SQLite a deferred transaction (plain BEGIN) in that position fails at once with "database
is locked", past the busy timeout: an autosave racing the form's Save answered 500 in CI
(tests/browser/test_typing_kept.py). Every transaction now begins by taking the write lock
(tracker.db, BEGIN IMMEDIATE), so the second writer waits for the first. On PostgreSQL both
commit: rows, not the database, are locked.
"""

from __future__ import annotations

import threading

from tests.conftest import NOW
from tracker.db import database
from tracker.models import FormDraft
from tracker.records import form_drafts


def test_a_write_in_between_waits_instead_of_failing(app, people):
    form_drafts.keep(people.worker.id, "/agreements/new", [("purpose", "first")], NOW)
    database.close()  # each thread opens its own connection
    read = threading.Event()
    errors: list[BaseException] = []

    def read_then_write():
        try:
            with app.app_context():
                database.connect(reuse_if_open=True)
                with database.atomic():
                    draft = form_drafts.latest(people.worker.id, "/agreements/new")
                    read.set()
                    other.join(timeout=1)  # the other writer has its turn now, or is waiting for ours
                    FormDraft.update(body='[["purpose", "read then written"]]').where(
                        FormDraft.id == draft.id).execute()
                database.close()
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
            read.set()

    def write_in_between():
        try:
            read.wait(timeout=5)
            with app.app_context():
                database.connect(reuse_if_open=True)
                form_drafts.keep(people.worker.id, "/agreements/new", [("purpose", "in between")], NOW)
                database.close()
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    other = threading.Thread(target=write_in_between)
    first = threading.Thread(target=read_then_write)
    other.start()
    first.start()
    first.join(timeout=20)
    other.join(timeout=20)
    assert not errors, errors
    database.connect(reuse_if_open=True)
    assert form_drafts.latest(people.worker.id, "/agreements/new") is not None
