"""Issue 22: a session is bound to its browser, not its address, and "Stay signed in" keeps it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from flask import g

from tests.conftest import NOW, PASSWORD

ADDRESSES = ["203.0.113.9", "198.51.100.7", "192.0.2.200", "2001:db8::1", "10.0.0.1"]
AGENTS = ["Mozilla/5.0 (iPhone) Mobile Safari", "Mozilla/5.0 (X11; Linux) Chrome/130", "curl/8.0", ""]


def _get(client, path, address, agent):
    g.pop("_login_user", None)  # the tests' app context would otherwise keep the last request's user
    return client.get(path, environ_base={"REMOTE_ADDR": address}, headers={"User-Agent": agent})


def _sign_in(client, user, address, agent):
    g.pop("_login_user", None)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": address}, headers={"User-Agent": agent})
    assert response.status_code == 302
    return response


@pytest.mark.parametrize("agent", AGENTS)
def test_a_new_address_keeps_the_session_a_new_browser_does_not(client, people, agent):
    _sign_in(client, people.worker, ADDRESSES[0], agent)
    for address in ADDRESSES:
        # Wi-Fi to mobile data and back: still signed in, on the same page.
        assert _get(client, "/", address, agent).status_code == 200, address
    for other in AGENTS:
        if other != agent:
            # The cookie copied into another browser is refused (Flask-Login's "strong" protection).
            response = _get(client, "/", ADDRESSES[0], other)
            assert response.status_code == 302 and "/login" in response.headers["Location"]
            _sign_in(client, people.worker, ADDRESSES[0], agent)


def _keep_alive(client):
    g.pop("_login_user", None)
    return client.post("/session/keep-alive", headers={"User-Agent": "browser"})


def test_stay_signed_in_extends_the_session_again_and_again(app, people):
    idle = app.config["SESSION_IDLE_MINUTES"]
    app.config["PERMANENT_SESSION_LIFETIME"] = 24 * 3600  # the absolute lifetime is not what this tests
    client = app.test_client()
    start = NOW + dt.timedelta(hours=1)
    with time_machine.travel(start, tick=False) as clock:
        g.pop("_login_user", None)
        client.post("/login", data={"email": people.worker.email, "password": PASSWORD}, headers={"User-Agent": "browser"})
        for _ in range(12):
            # Each time most of the idle timeout passes, and "Stay signed in" starts it again.
            clock.shift(dt.timedelta(minutes=idle - 1))
            answer = _keep_alive(client)
            assert answer.status_code == 200 and answer.json == {"signed_in": True, "seconds_left": idle * 60}
        clock.shift(dt.timedelta(minutes=idle - 1))
        g.pop("_login_user", None)
        page = client.get("/", headers={"User-Agent": "browser"})
        assert page.status_code == 200
        # The page tells the warning how long is left (the session was used just now).
        assert f'data-seconds-left="{idle * 60}"' in page.get_data(as_text=True)
        clock.shift(dt.timedelta(minutes=idle, seconds=1))
        assert _keep_alive(client).status_code == 401
        g.pop("_login_user", None)
        assert client.get("/", headers={"User-Agent": "browser"}).status_code == 302


def test_the_warning_is_on_staff_pages_only(client, people, login, make_agreement):
    from tracker.agencies import tokens
    from tracker.models import Recipient

    agreement = make_agreement(status="active")
    login(people.worker)
    for path in ("/", "/agreements", f"/agreements/{agreement.id}", f"/agreements/{agreement.id}/edit"):
        page = client.get(path).get_data(as_text=True)
        assert page.count('<dialog id="timeout-warning"') == 1, path
        assert 'data-warn-seconds="120"' in page
    # An agency's page, even in a browser where a worker is signed in, has no account to time out.
    token = tokens.token_for(Recipient.get(Recipient.agreement == agreement))
    agency = client.get(f"/a/{token}")
    assert agency.status_code == 200 and "timeout-warning" not in agency.get_data(as_text=True)
    client.post("/logout")
    assert "timeout-warning" not in client.get("/login").get_data(as_text=True)
