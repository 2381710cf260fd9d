"""Response headers that keep pages safe: CSP without 'unsafe-inline', and friends."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from flask import Flask, abort, request, url_for
from markupsafe import Markup

# GOV.UK Frontend's page template marks the body as soon as it opens, so the
# page first paints in its JavaScript layout (the navigation already collapsed
# to "Menu" on a phone) and nothing jumps when app.js runs (layout shift). It
# is the one inline script, allowed by its hash alone.
BODY_CLASSES_SCRIPT = (
    "document.body.className += ' js-enabled' + "
    "('noModule' in HTMLScriptElement.prototype ? ' govuk-frontend-supported' : '');"
)
BODY_CLASSES_HASH = "sha256-" + base64.b64encode(hashlib.sha256(BODY_CLASSES_SCRIPT.encode()).digest()).decode()

CSP = "; ".join(
    [
        "default-src 'self'",
        f"script-src 'self' '{BODY_CLASSES_HASH}'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\\]")


def safe_next(target: str | None) -> str:
    """Only a path on this site; a control character (CR/LF) or a backslash is refused."""
    if (target and target.startswith("/") and not target.startswith("//") and not _UNSAFE.search(target)
            and not urlsplit(target).netloc and len(target) < 2000):
        return target
    return url_for("home.index")



def init_app(app: Flask) -> None:
    @app.before_request
    def refuse_nul():
        # No keyboard types a NUL, and PostgreSQL text cannot hold one: a request
        # carrying one (in the address or a form) is refused whole, before any
        # query sees it, instead of failing as a 500 halfway through.
        if any("\x00" in v for v in request.args.values()) or (
                request.method == "POST" and any("\x00" in v for v in request.form.values())):
            abort(400)
    app.jinja_env.globals["body_classes_script"] = Markup(f"<script>{BODY_CLASSES_SCRIPT}</script>")

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if not request.path.startswith("/static/"):
            # Pages hold children's details: never keep them in a shared cache.
            response.headers.setdefault("Cache-Control", "no-store")
        return response
