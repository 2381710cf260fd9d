"""Security: headers, cookies, sign-in limits, CSRF on every form, inert markup everywhere."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from tests.conftest import NOW, PASSWORD
from tracker.agencies import tokens
from tracker.models import Action, Agreement, AuditEvent, Breach, Child, Notification, Party, Recipient
from tracker.records import breaches
from tracker.web import ratelimit

PAYLOAD = '"><script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(autouse=True)
def _fresh_limits():
    ratelimit.reset()
    yield
    ratelimit.reset()


def test_pages_carry_a_strict_content_security_policy(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    login(people.manager)
    for url in ("/", "/agreements", f"/agreements/{agreement.id}", f"/agreements/{agreement.id}/edit",
                f"/agreements/{agreement.id}/print", "/breaches/new", "/login"):
        response = client.get(url)
        csp = response.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp and "script-src 'self'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"
        page = response.get_data(as_text=True)
        # The only inline script is GOV.UK's body-class line, allowed by its hash alone.
        for script in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", page, re.S):
            digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in csp, url
        assert " style=" not in page, url
        assert " onclick=" not in page and " hx-on" not in page, url


def test_session_cookie_is_secure_httponly_and_samesite(app, client, people):
    app.config["SESSION_COOKIE_SECURE"] = True
    response = client.post("/login", data={"email": people.worker.email, "password": PASSWORD},
                           base_url="https://tracker.test")
    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie" and "tracker_session=" in v)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" in client.get("/login", base_url="https://tracker.test").headers
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_behind_a_proxy_https_is_believed_only_when_trusted(tmp_path, monkeypatch, database_url):
    from tracker import create_app

    monkeypatch.setenv("TRACKER_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("TRUST_PROXY", "1")
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "SECRET_KEY": "k"})
    response = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in response.headers


def test_sign_in_is_rate_limited_per_address(app, client, people):
    app.config["LOGIN_RATE_LIMIT"] = 3
    codes = [client.post("/login", data={"email": people.worker.email, "password": "wrong"}).status_code
             for _ in range(4)]
    assert codes == [400, 400, 400, 429]
    assert "Too many attempts" in client.post("/login", data={"email": "x", "password": "y"}).get_data(as_text=True)


# --- CSRF on every form ------------------------------------------------------------

def _csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_every_post_is_refused_without_its_csrf_token(app, people, make_agreement):
    app.config["WTF_CSRF_ENABLED"] = True
    agreement = make_agreement(status="active")
    breach = breaches.log(agreement, {"description": "x", "reported_by": "y"}, NOW, user=people.worker)
    recipient = Recipient.get(Recipient.agreement == agreement)
    notification = Notification.get()
    token = tokens.token_for(recipient)
    values = {"agreement_id": agreement.id, "breach_id": breach.id, "recipient_id": recipient.id,
              "notification_id": notification.id, "user_id": people.worker.id, "agency_id": 1, "token": token,
              "child_id": agreement.child_links.get().child_id, "party_id": agreement.parties.get().id, "name": "why"}

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"email": people.head.email, "password": PASSWORD, "csrf_token": _csrf_token(page)})
    assert response.status_code == 302

    before = AuditEvent.select().count()
    checked = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        url = rule.rule
        for name, value in values.items():
            url = re.sub(rf"<(?:int:)?{name}>", str(value), url)
        assert "<" not in url, f"no test value for {rule.rule}"
        if rule.endpoint == "agreements.new":
            url += "?kind=partnership"
        response = client.post(url, data={"reason": "expired", "what": "revoke", "response": "other",
                                          "text": "t", "description": "d", "reported_by": "r",
                                          "immediate_risk": "no", "kind": "nothing"})
        assert response.status_code == 400, f"POST {url} without a CSRF token answered {response.status_code}"
        assert "Your form has expired" in response.get_data(as_text=True)
        checked.append(rule.endpoint)
    assert AuditEvent.select().count() == before  # nothing changed
    assert len(checked) >= 15, checked


# --- markup stored by other means is inert everywhere -----------------------------

def test_markup_in_every_free_text_field_is_inert_on_every_page(client, people, login, make_agreement, app):
    from jobs.sweeps import run_all

    agreement = make_agreement(status="active")
    Agreement.update(purpose=PAYLOAD, child_views=PAYLOAD, family_views=PAYLOAD, if_things_go_wrong=PAYLOAD,
                     contingency=PAYLOAD, duration=PAYLOAD, interpreter=PAYLOAD, end_notes=PAYLOAD,
                     first_language=PAYLOAD).where(Agreement.id == agreement.id).execute()
    Action.update(what=PAYLOAD, who=PAYLOAD, timescale=PAYLOAD).execute()
    Party.update(name=PAYLOAD, role=PAYLOAD).execute()
    Recipient.update(name=PAYLOAD, agency_name=PAYLOAD, role=PAYLOAD).execute()
    Child.update(name=PAYLOAD).execute()
    breach = breaches.log(agreement, {"description": PAYLOAD, "reported_by": PAYLOAD, "term": PAYLOAD}, NOW,
                          user=people.worker)
    recipient = Recipient.get()
    login(people.manager)
    pages = ["/", "/agreements", f"/agreements?q={PAYLOAD}", f"/agreements/{agreement.id}",
             f"/agreements/{agreement.id}/print", f"/agreements/{agreement.id}/history",
             f"/agreements/{agreement.id}/edit", f"/breaches/{breach.id}", f"/breaches/{breach.id}/acknowledge",
             f"/breaches/new?q={PAYLOAD}", f"/agreements/{agreement.id}/breaches/new"]
    for url in pages:
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in page and "<img src=x" not in page, url
    client.post("/logout")
    agency = client.get(f"/a/{tokens.token_for(recipient)}").get_data(as_text=True)
    assert "<script>alert" not in agency and "<img src=x" not in agency

    login(people.manager)
    export = client.get("/dashboard/breaches.csv")
    # A CSV is served as a download of data, never as a page a browser would run.
    assert export.mimetype == "text/csv" and export.headers["Content-Disposition"].startswith("attachment")
    assert export.headers["X-Content-Type-Options"] == "nosniff"

    run_all(NOW)
    for email in Notification.select():
        assert "<script>alert" not in email.body_html and "<img src=x" not in email.body_html, email.kind
        assert "\n" not in email.subject


def test_breach_csv_does_not_start_cells_with_a_formula(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    Breach.create(agreement=agreement, occurred_at=NOW, description="@SUM(1+1)*cmd|' /C calc'!A0",
                  reported_by="x", created_at=NOW)
    login(people.manager)
    text = client.get("/dashboard/breaches.csv").get_data(as_text=True)
    assert ",@SUM" not in text and "'@SUM" in text
