"""The pages a council publishes about the service: its accessibility statement,
privacy notice and cookies. No sign-in: staff, agencies and families read them alike,
and they name nobody, so they record no audit event."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, render_template

from tracker import settings

bp = Blueprint("public", __name__)


def _words() -> dict:
    words = settings.published()
    for key in ("accessibility_tested_on", "accessibility_prepared_on", "privacy_updated_on"):
        words[key] = dt.date.fromisoformat(words[key]) if words[key] else None
    return words


def cookies() -> list[dict]:
    """Every cookie the service sets, read from the configuration that names it."""
    from tracker.family import links
    from tracker.web.views.auth import DEVICE_COOKIE, DEVICE_DAYS

    config = current_app.config
    hours = config["PERMANENT_SESSION_LIFETIME"] // 3600
    return [
        {"name": config["SESSION_COOKIE_NAME"],
         "purpose": "Keeps you signed in, and keeps a form's security check, as you move from page to page",
         "expires": f"When you sign out, close the browser, or after {hours} hours"},
        {"name": DEVICE_COOKIE,
         "purpose": "Remembers that this browser has signed in to your account before, so a wrong password typed "
                    "by someone else does not lock you out of it",
         "expires": f"{DEVICE_DAYS} days"},
        {"name": links.DEVICE_COOKIE,
         "purpose": "Families only: remembers that this phone or computer has entered the code for your own copy, "
                    "so you are not asked for it each time. It holds no name, and Exit this page removes it",
         "expires": f"{links.DEVICE_DAYS} days, or when you press Exit this page"},
    ]


@bp.route("/accessibility")
def accessibility():
    return render_template("public/accessibility.html", words=_words())


@bp.route("/privacy")
def privacy():
    return render_template("public/privacy.html", words=_words(),
                           retention_age=settings.get("retention_until_age"))


@bp.route("/cookies")
def cookie_page():
    return render_template("public/cookies.html", words=_words(), cookies=cookies())
