"""Single sign-on against a real OpenID provider (oidc-provider from npm) on 127.0.0.1 (issue 14, item 1).

`make test` installs the provider into tests/oidc/node_modules. The flow runs
over real HTTP: the tracker (Flask's test client) talks to the provider for
discovery, keys and the code exchange, and the test plays the browser between
them with `requests`. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import pytest
import requests

from tests.conftest import PASSWORD
from tracker import settings
from tracker.models import AuditEvent, User

TRACKER = "http://tracker.test"


@pytest.fixture(scope="module")
def provider(oidc):
    with oidc.provider(TRACKER, groups={"new.worker@council.example": ["tracker-north-workers"]}) as issuer:
        yield issuer


@pytest.fixture
def database_url(tmp_path):
    return f"sqlite:///{tmp_path / 'sso.db'}"  # the protocol does not depend on the database


@pytest.fixture
def client(app):
    # On the real clock, not the suite's fixed Monday: the provider signs its
    # tokens with the real time, and a token "issued in the future" is refused.
    return app.test_client()


@pytest.fixture
def sso_app(app, provider, oidc):
    oidc.configure(app, provider)
    requests.get(f"{provider}/test-mode", params={"mode": "normal"}, timeout=5)
    yield app
    requests.get(f"{provider}/test-mode", params={"mode": "normal"}, timeout=5)


class Browser:
    """The person's browser: the tracker's test client on one side, the provider over HTTP on the other."""

    def __init__(self, client):
        self.client = client
        self.at_provider = requests.Session()

    def to_provider(self, email: str) -> str:
        """Start at the tracker's button; sign in at the provider; return the callback path it sends back."""
        start = self.client.get("/sso/login")
        assert start.status_code == 302
        url = start.headers["Location"] + "&login_hint=" + quote(email)
        for _ in range(10):
            response = self.at_provider.get(url, allow_redirects=False, timeout=10)
            assert response.status_code in (302, 303), response.text[:300]
            url = urljoin(url, response.headers["Location"])
            if url.startswith(TRACKER):
                return url[len(TRACKER):]
        raise AssertionError("the provider never sent the browser back")

    def sign_in(self, email: str):
        path = self.to_provider(email)
        return self.client.get(path), path


def signed_in_as(client) -> str:
    return client.get("/").get_data(as_text=True)


def test_discovery_pkce_state_and_nonce_are_in_the_request(sso_app, people, client, provider, oidc):
    response = client.get("/sso/login")
    url = urlsplit(response.headers["Location"])
    params = parse_qs(url.query)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{provider}/auth"  # from the discovery document
    assert params["client_id"] == [oidc.CLIENT_ID]
    assert params["code_challenge_method"] == ["S256"] and len(params["code_challenge"][0]) >= 43
    assert params["state"][0] and params["nonce"][0]
    assert params["redirect_uri"] == [f"{TRACKER}/sso/callback"]


def test_a_staff_member_signs_in_and_out_through_the_provider(sso_app, people, client, provider):
    browser = Browser(client)
    response, _ = browser.sign_in(people.worker.email)
    assert response.status_code == 302
    assert "Signed in as Sam Worker" in signed_in_as(client)
    event = AuditEvent.select().where(AuditEvent.action == "signed_in").order_by(AuditEvent.id.desc()).first()
    assert event.user_id == people.worker.id and "single sign-on" in event.changes

    # Logout ends the session here and answers with a page of this site that moves on by itself
    # (a redirect after the POST would be blocked by the CSP's form-action), then to the provider.
    out = client.post("/logout")
    assert out.status_code == 200 and 'http-equiv="refresh"' in out.get_data(as_text=True)
    assert client.get("/").status_code == 302  # signed out here
    onward = client.get("/sso/end-session")
    end = urlsplit(onward.headers["Location"])
    assert f"{end.scheme}://{end.netloc}{end.path}" == f"{provider}/session/end"
    query = parse_qs(end.query)
    assert query["post_logout_redirect_uri"] == [f"{TRACKER}/login"] and query["id_token_hint"][0]
    assert client.get("/sso/end-session").headers["Location"] == "/login"  # the ID token is read once
    page = browser.at_provider.get(onward.headers["Location"], timeout=10)
    assert page.status_code == 200 and "xsrf" in page.text  # the provider asks to confirm the sign-out
    xsrf = page.text.split('name="xsrf" value="')[1].split('"')[0]
    done = browser.at_provider.post(f"{provider}/session/end/confirm", data={"xsrf": xsrf, "logout": "yes"},
                                    allow_redirects=False, timeout=10)
    assert done.headers["Location"].startswith(f"{TRACKER}/login")
    # The provider's session has gone: without a login hint it asks who you are again.
    again = client.get("/sso/login").headers["Location"]
    step = browser.at_provider.get(again, allow_redirects=False, timeout=10)
    interaction = browser.at_provider.get(urljoin(again, step.headers["Location"]), allow_redirects=False, timeout=10)
    assert interaction.status_code == 200 and 'type="password"' in interaction.text


def test_replayed_state_is_refused(sso_app, people, client):
    browser = Browser(client)
    response, path = browser.sign_in(people.worker.email)
    assert response.status_code == 302
    client.post("/logout")
    replay = client.get(path)
    assert replay.status_code == 400
    assert "did not work" in replay.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_wrong_audience_is_refused(sso_app, people, client, provider):
    requests.get(f"{provider}/test-mode", params={"mode": "wrong-audience"}, timeout=5)
    response, _ = Browser(client).sign_in(people.worker.email)
    assert response.status_code == 400
    assert client.get("/").status_code == 302
    refused = AuditEvent.select().where(AuditEvent.action == "sso_refused").first()
    assert "aud" in refused.changes.lower()


def test_expired_token_is_refused(sso_app, people, client, provider):
    requests.get(f"{provider}/test-mode", params={"mode": "expired"}, timeout=5)
    response, _ = Browser(client).sign_in(people.worker.email)
    assert response.status_code == 400
    assert client.get("/").status_code == 302
    assert "exp" in AuditEvent.select().where(AuditEvent.action == "sso_refused").first().changes.lower()


def test_a_token_not_signed_by_the_provider_is_refused(sso_app, people, client, provider):
    requests.get(f"{provider}/test-mode", params={"mode": "forged"}, timeout=5)
    response, _ = Browser(client).sign_in(people.worker.email)
    assert response.status_code == 400
    assert client.get("/").status_code == 302
    assert "signature" in AuditEvent.select().where(AuditEvent.action == "sso_refused").first().changes.lower()


def test_unknown_user_is_refused_unless_a_group_gives_a_role(sso_app, people, client):
    response, _ = Browser(client).sign_in("stranger@council.example")
    assert response.status_code == 400
    assert "There is no account here for stranger@council.example" in response.get_data(as_text=True)
    assert User.get_or_none(User.email == "stranger@council.example") is None

    settings.put("sso_group_roles", "tracker-north-workers = social_worker / North team")
    response, _ = Browser(client).sign_in("stranger@council.example")
    assert response.status_code == 400  # not in a mapped group
    response, _ = Browser(client).sign_in("new.worker@council.example")
    assert response.status_code == 302
    made = User.get(User.email == "new.worker@council.example")
    assert (made.role, made.team_id) == ("social_worker", people.north.id)


def test_disabled_user_stays_disabled(sso_app, people, client):
    User.update(active=False).where(User.id == people.worker.id).execute()
    response, _ = Browser(client).sign_in(people.worker.email)
    assert response.status_code == 400
    assert "This account has been disabled" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_password_sign_in_switched_off_keeps_the_administrators_break_glass(sso_app, people, client):
    sso_app.config["PASSWORD_SIGN_IN"] = False
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with Example Council" in page and 'type="password"' not in page
    assert "Administrator sign-in with a password" in page
    refused = client.post("/login", data={"email": people.worker.email, "password": PASSWORD})
    assert refused.status_code == 400
    assert client.post("/login?password=1", data={"email": people.admin.email, "password": PASSWORD}).status_code == 302


def _account(provider, sub, **claims):
    requests.get(f"{provider}/test-account", params={"sub": sub, "claims": json.dumps(claims)}, timeout=5)


def test_the_account_is_bound_to_the_subject_not_the_email(sso_app, people, client, provider):
    browser = Browser(client)
    assert browser.sign_in(people.worker.email)[0].status_code == 302
    bound = User.get_by_id(people.worker.id)
    assert (bound.sso_issuer, bound.sso_subject) == (provider, people.worker.email)
    client.post("/logout")
    # The council changes the person's email: still the same account here.
    _account(provider, people.worker.email, email="sam.w@council.example")
    browser = Browser(client)
    assert browser.sign_in(people.worker.email)[0].status_code == 302
    assert "Signed in as Sam Worker" in signed_in_as(client)
    client.post("/logout")
    # Someone else is given the worker's old address: it does not open the worker's account.
    _account(provider, "someone.else@council.example", email=people.worker.email)
    refused, _ = Browser(client).sign_in("someone.else@council.example")  # their own browser
    assert refused.status_code == 400 and "belongs to another council account" in refused.get_data(as_text=True)


def test_groups_are_read_at_every_sign_in(sso_app, people, client, provider):
    settings.put("sso_group_roles", "tracker-north-workers = social_worker / North team; "
                                    "tracker-north-managers = team_manager / North team")
    browser = Browser(client)
    assert browser.sign_in("new.worker@council.example")[0].status_code == 302
    client.post("/logout")
    _account(provider, "new.worker@council.example", groups=["tracker-north-managers"])
    browser = Browser(client)  # a new provider session, so its claims are read afresh
    assert browser.sign_in("new.worker@council.example")[0].status_code == 302
    assert User.get(User.email == "new.worker@council.example").role == "team_manager"
    client.post("/logout")
    _account(provider, "new.worker@council.example", groups=[])  # removed from the group at the council
    refused, _ = Browser(client).sign_in("new.worker@council.example")
    assert refused.status_code == 400 and "None of your council groups" in refused.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_unauthenticated_callback_text_is_never_audited(sso_app, people, client):
    client.get("/sso/login")
    response = client.get("/sso/callback?error=access_denied&error_description=Call+0800+000+to+restore+access")
    assert response.status_code == 400
    client.get("/sso/callback?error=Please+call+0800&error_description=x")
    reasons = [e.changes for e in AuditEvent.select().where(AuditEvent.action == "sso_refused")]
    assert len(reasons) == 2 and not any("0800" in r for r in reasons), reasons


def test_the_break_glass_password_is_marked_in_the_audit(sso_app, people, client):
    sso_app.config["PASSWORD_SIGN_IN"] = False
    assert client.post("/login?password=1", data={"email": people.admin.email, "password": PASSWORD}).status_code == 302
    event = AuditEvent.select().where(AuditEvent.action == "signed_in").order_by(AuditEvent.id.desc()).first()
    assert "break glass" in event.changes


@pytest.mark.parametrize(("claims", "outcome"), [
    ({"sub": "x", "preferred_username": "SAM@council.example"}, "bound"),
    ({"sub": "x", "tid": "t1", "oid": "o1", "preferred_username": "sam@council.example"}, "tid=t1;oid=o1"),
    ({"sub": "x", "email": "sam@council.example", "_claim_names": {"groups": "src1"}}, "too many groups"),
])
def test_entra_claims(app, people, claims, outcome):
    from tracker.clock import utcnow
    from tracker.people import sso

    app.config.update(OIDC_ISSUER="https://login.example/t1/v2.0")
    User.update(email="sam@council.example").where(User.id == people.worker.id).execute()
    if "_claim_names" in claims:
        settings.put("sso_group_roles", "tracker-north-workers = social_worker / North team")
        with pytest.raises(sso.Refused, match=outcome):
            sso.account_for(claims, utcnow())
        return
    assert sso.account_for(claims, utcnow()).id == people.worker.id
    subject = User.get_by_id(people.worker.id).sso_subject
    assert subject == (claims["sub"] if outcome == "bound" else outcome)
