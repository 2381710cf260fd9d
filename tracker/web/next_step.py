"""Where to go next from an error or a dead end, fitted to who is asking: a member of
staff is sent to their start page, someone signed out to sign in, and an agency (any
address under /a/, the agency pages' prefix) to its own agreement when its link still
works, else to the front door by email. An agency never gets a staff link, and its
pages never read the staff session to decide."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request, url_for
from flask_login import current_user

from tracker import settings

AGENCY_PREFIX = "/a/"


@dataclass(frozen=True)
class NextStep:
    audience: str  # "staff", "agency" or "signed_out"
    text: str
    href: str


def _agency_step() -> NextStep:
    from tracker.agencies import tokens
    from tracker.clock import utcnow

    token = request.path[len(AGENCY_PREFIX):].split("/", 1)[0]
    try:
        works = bool(token) and tokens.check(token, utcnow()).works
    except Exception:  # noqa: BLE001 - a broken database must not stop the error page itself
        works = False
    if works:
        return NextStep("agency", "Go back to the agreement", url_for("agency.index", token=token))
    contacts = settings.contacts()
    return NextStep("agency", f"Email the {contacts['front_door_term'].lower()}", f"mailto:{contacts['front_door_email']}")


def next_step() -> NextStep:
    if request.path.startswith(AGENCY_PREFIX):
        return _agency_step()
    if not current_user.is_authenticated:
        return NextStep("signed_out", "Sign in", url_for("auth.login"))
    if current_user.role == "administrator":
        return NextStep("staff", "Go to administration", url_for("admin.index"))
    return NextStep("staff", "Go to the register", url_for("agreements.register"))
