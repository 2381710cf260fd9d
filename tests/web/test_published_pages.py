"""The pages a council publishes: open signed out, in the council's own words (service
settings), and the cookies page lists every cookie the service really sets."""

from __future__ import annotations

import re

from tests.conftest import NOW, PASSWORD, family_party
from tracker import settings

PUBLISHED = ("/accessibility", "/privacy", "/cookies")


def test_published_pages_are_open_and_say_the_councils_words(client, people, login):
    settings.put("council_name", "Northshire County Council")
    settings.put("feedback_email", "tracker-feedback@northshire.example")
    settings.put("dpo_email", "dpo@northshire.example")
    settings.put("accessibility_tested_on", "2026-11-03")
    settings.put("phase", "Alpha")
    for url in PUBLISHED:
        page = client.get(url).get_data(as_text=True)
        assert "Northshire County Council" in page and "– Agreement tracker – Northshire County Council</title>" in page
        assert 'href="mailto:tracker-feedback@northshire.example?subject=' in page  # the phase banner's feedback link
        assert ">Alpha<" in page.replace("\n", "").replace(" ", "")
    statement = client.get("/accessibility").get_data(as_text=True)
    for part in ("Compliance status", "Non-accessible content", "Reporting accessibility problems", "Enforcement procedure",
                 "Equality and Human Rights Commission", "Equality Commission for Northern Ireland", "How we tested",
                 "3 November 2026"):
        assert part in statement, part
    privacy = client.get("/privacy").get_data(as_text=True)
    for part in ("Article 6(1)(e)", "Article 9(2)(g)", "Article 9(2)(h)", "Children Act 1989", "Children Act 2004",
                 "dpo@northshire.example", "Information Commissioner", f"{settings.get('retention_until_age')} years old"):
        assert part in privacy, part
    settings.put("phase", "")
    assert "govuk-phase-banner" not in client.get("/cookies").get_data(as_text=True)


def test_the_cookies_page_lists_every_cookie_the_service_sets(client, people, login, make_agreement):
    """Every Set-Cookie a visitor meets (signing in, pages, an agency's form, signing out, a
    parent's own copy) names a cookie the cookies page lists."""
    from tracker.agencies import tokens
    from tracker.models import Recipient

    set_names = set()

    def note(response):
        for header in response.headers.getlist("Set-Cookie"):
            set_names.add(header.split("=", 1)[0])
        return response

    agreement = make_agreement(status="active")
    token = tokens.token_for(Recipient.get(Recipient.agreement == agreement))
    note(client.get("/login"))
    note(client.post("/login", data={"email": people.worker.email, "password": PASSWORD}))
    for url in ("/", "/agreements", f"/agreements/{agreement.id}", "/breaches/new", "/account/sessions"):
        note(client.get(url))
    note(client.post("/logout"))
    note(client.get(f"/a/{token}/report"))
    # A parent opening their own copy and entering its code.
    from tracker.family import links

    access, code = links.send_link(agreement, family_party(agreement), people.worker, NOW, channel="paper", address="")
    family_token = links.token_for(access)
    note(client.get(f"/f/{family_token}"))
    note(client.post(f"/f/{family_token}/code", data={"code": code}))
    assert client.get(f"/f/{family_token}").status_code == 200
    listed = set(re.findall(r"<code>([^<]+)</code>", client.get("/cookies").get_data(as_text=True)))
    assert set_names, "no cookie was set: the test saw nothing"
    assert set_names <= listed, set_names - listed
