"""Who may open what: the route × role × owner matrix, and login on every page."""

from __future__ import annotations

import re

import pytest

ROLES = ["owner", "colleague", "other_team_worker", "manager", "other_team_manager", "service_manager", "admin",
         "front_door"]

# route, method, the roles that get in (everyone else gets 403)
RECORD_ROUTES = [
    ("/agreements/{id}", "GET", {"owner", "colleague", "manager", "service_manager", "front_door"}),
    ("/agreements/{id}/print", "GET", {"owner", "colleague", "manager", "service_manager", "front_door"}),
    ("/agreements/{id}/edit", "GET", {"owner", "manager", "service_manager"}),
    ("/agreements/{id}/end", "GET", {"owner", "manager", "service_manager"}),
    ("/agreements/{id}/submit", "POST", {"owner", "manager", "service_manager"}),
    ("/agreements/{id}/endorse", "GET", {"manager", "service_manager"}),
    ("/agreements/{id}/history", "GET", {"manager", "service_manager"}),
    ("/agreements/{id}/review", "GET", {"owner", "manager", "service_manager"}),
    ("/agreements/{id}/breaches/new", "GET", {"owner", "colleague", "manager", "service_manager", "front_door"}),
    ("/agreements/{id}/recipients/{recipient}/link", "POST", {"owner", "manager", "service_manager"}),
    ("/agreements/{undertaking}/extend", "GET", {"manager", "service_manager"}),
    ("/agreements/{id}/children/1/link", "POST", {"owner", "manager", "service_manager"}),
    ("/breaches/{breach}", "GET", {"owner", "colleague", "manager", "service_manager", "front_door"}),
    ("/breaches/{breach}/acknowledge", "GET", {"manager", "service_manager"}),
    ("/children/{child}/close", "GET", {"manager", "service_manager"}),
    ("/breaches/{breach}/amend", "GET", {"owner", "colleague", "manager", "service_manager", "front_door"}),
]
GENERAL_ROUTES = [
    ("/agreements", "GET", {"owner", "colleague", "other_team_worker", "manager", "other_team_manager", "service_manager",
                         "front_door"}),
    ("/agreements/new?kind=partnership", "GET", {"owner", "colleague", "other_team_worker", "manager", "other_team_manager"}),
    ("/agreements/new?kind=undertaking", "POST", {"owner", "colleague", "other_team_worker", "manager", "other_team_manager"}),
    ("/agreements/agency-suggestions?row=recipients-0", "GET",
     {"owner", "colleague", "other_team_worker", "manager", "other_team_manager"}),
    ("/admin/", "GET", {"admin"}),
    ("/admin/users/new", "GET", {"admin"}),
    ("/admin/agencies/new", "GET", {"admin"}),
    ("/admin/settings", "GET", {"admin"}),
    ("/admin/teams/new", "GET", {"admin"}),
    ("/admin/users/{user}", "GET", {"admin"}),
    ("/admin/outbox", "GET", {"admin"}),
    ("/breaches/new", "GET", {"owner", "colleague", "other_team_worker", "manager", "other_team_manager", "service_manager",
                              "front_door"}),
    ("/dashboard/overdue_reviews.csv", "GET", {"owner", "colleague", "other_team_worker", "manager", "other_team_manager",
                                              "service_manager", "front_door"}),
    ("/service/", "GET", {"service_manager"}),
    ("/service/figures.csv", "GET", {"service_manager"}),
    # Adoption (issue 14).
    ("/import/", "GET", {"manager", "other_team_manager", "admin"}),
    ("/import/template.xlsx", "GET", {"manager", "other_team_manager", "admin"}),
    ("/subject-access/", "GET", {"service_manager"}),
    ("/subject-access/preview?child=1", "GET", {"service_manager"}),
    ("/retention/", "GET", {"manager", "other_team_manager", "service_manager"}),
]


def _user(people, role):
    if role == "front_door":
        if not hasattr(people, "front_door"):
            from tests.conftest import PASSWORD
            from tracker.people.accounts import create_user

            people.front_door = create_user("front.door@council.example", "Fran Front", PASSWORD, "front_door", None)
        return people.front_door
    return {
        "owner": people.worker,
        "colleague": people.colleague,
        "other_team_worker": people.other_worker,
        "manager": people.manager,
        "other_team_manager": people.other_manager,
        "service_manager": people.head,
        "admin": people.admin,
    }[role]


@pytest.mark.parametrize(("route", "method", "allowed"), RECORD_ROUTES + GENERAL_ROUTES)
def test_route_role_owner_matrix(client, people, login, make_agreement, route, method, allowed):
    """Each route, tried by every role: the allowed ones get in, everyone else gets 403."""
    from tests.conftest import NOW
    from tracker.models import Recipient
    from tracker.records import breaches

    agreement = make_agreement(status="active")
    undertaking = make_agreement(kind="undertaking", status="active")
    breach = breaches.log(agreement, {"description": "x", "reported_by": "y"}, NOW, user=people.worker)
    recipient = Recipient.get(Recipient.agreement == agreement)
    child = agreement.child_links.get().child_id
    url = route.format(id=agreement.id, undertaking=undertaking.id, breach=breach.id, recipient=recipient.id,
                       user=people.worker.id, child=child)
    # Refused roles first: a refused POST must change nothing for the allowed ones after.
    for role in sorted(ROLES, key=lambda r: r in allowed):
        login(_user(people, role))
        response = client.get(url) if method == "GET" else client.post(url, data={"what": "revoke"})
        if role in allowed:
            assert response.status_code in (200, 302, 303, 400), f"{role} should reach {method} {url}"
        else:
            assert response.status_code == 403, f"{role} must not reach {method} {url}"
            assert "You do not have access to this page" in response.get_data(as_text=True)


def _all_routes(app):
    for rule in app.url_map.iter_rules():
        # Single sign-on's start and return are, like the sign-in page, for people not yet signed in.
        if rule.endpoint in ("static", "auth.login", "sso.login", "sso.callback", "health.healthz"):
            continue
        url = re.sub(r"<(?:int:)?(\w+)>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield url, method


def test_every_page_but_login_needs_a_signed_in_user(app, client, make_agreement):
    make_agreement()
    checked = 0
    for url, method in _all_routes(app):
        if url.startswith("/a/"):  # agency pages use a signed link instead of an account
            continue
        response = client.open(url, method=method)
        assert response.status_code == 302 and "/login" in response.location, f"{method} {url} is open"
        checked += 1
    assert checked >= 15


def test_a_missing_record_is_404_not_500(client, people, login):
    login(people.manager)
    assert client.get("/agreements/9999").status_code == 404
    assert client.get("/agreements/9999/print").status_code == 404


def test_a_social_worker_cannot_endorse_by_posting(client, people, login, make_agreement):
    agreement = make_agreement(status="awaiting_endorsement")
    login(people.worker)
    assert client.post(f"/agreements/{agreement.id}/endorse", data={"override": "x"}).status_code == 403
    assert agreement.__class__.get_by_id(agreement.id).status == "awaiting_endorsement"


def test_nothing_can_be_deleted_through_the_app(app):
    for rule in app.url_map.iter_rules():
        assert "DELETE" not in rule.methods, rule.rule
        assert "delete" not in rule.rule.lower(), rule.rule
