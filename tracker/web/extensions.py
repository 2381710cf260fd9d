"""The web layer's Flask extensions, made once and bound to the app by `create_app`."""

import hashlib

from flask import request
from flask_htmx import HTMX
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
htmx = HTMX()  # every htmx decision reads the request through this (htmx, htmx.target)


def browser_identifier() -> str:
    """What binds a session to its browser: the user agent alone, not the address.

    Flask-Login's own identifier hashes the remote address with the user agent,
    so with session protection "strong" a phone moving from Wi-Fi to mobile data
    (a new address) is signed out mid-form and its typing lost (issue 22). The
    user agent still changes when the cookie is copied into another browser.
    """
    agent = request.headers.get("User-Agent", "")
    return hashlib.sha512(agent.encode("utf8", "replace")).hexdigest()


class BrowserBoundLoginManager(LoginManager):
    """Flask-Login, with a session tied to the browser rather than to its address."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._session_identifier_generator = browser_identifier


login_manager = BrowserBoundLoginManager()
