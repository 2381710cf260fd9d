"""Signing out of single sign-on at a shared computer, in Chromium under the app's CSP.

The provider is the real oidc-provider of tests/oidc, with a sign-in page of its
own: after the first person signs out, the second one's "Sign in with Example
Council" must meet that page, not the first person's live council session.
"""

from __future__ import annotations

from tracker.models import UserSession


def _sign_in_at_the_council(page, email: str, password: str) -> None:
    page.get_by_role("link", name="Sign in with Example Council").click()
    page.get_by_role("heading", name="Sign in to the council").wait_for()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():  # wait_for_load_state alone can return before the click's navigation starts
        page.get_by_role("button", name="Sign in to the council").click()


def test_signing_out_ends_the_council_session_for_the_next_person(live, page, oidc):
    blocked = []
    page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None)
    with oidc.provider(live.url) as issuer:
        oidc.configure(live.app, issuer)
        page.goto(f"{live.url}/agreements")  # a deep link: the sign-in returns to it
        _sign_in_at_the_council(page, live.people.worker.email, oidc.PROVIDER_PASSWORD)
        assert page.url == f"{live.url}/agreements"
        assert "Signed in as Sam Worker" in page.content()
        assert UserSession.get().id_token  # on the server, not in the cookie
        assert all(len(c["value"]) < 1000 for c in page.context.cookies())

        page.get_by_role("button", name="Sign out").click()
        # The provider asks to confirm; the first person says yes and walks away.
        page.get_by_role("button", name="Yes, sign me out").click()
        page.wait_for_url(f"{live.url}/login**")
        assert not blocked, blocked

        # The next person at the same browser presses the button: the council asks who they are.
        page.get_by_role("link", name="Sign in with Example Council").click()
        page.get_by_role("heading", name="Sign in to the council").wait_for()
        assert page.url.startswith(issuer)
        assert "Sam Worker" not in page.content()
        assert UserSession.get().id_token == ""  # read once, for the end-session request
