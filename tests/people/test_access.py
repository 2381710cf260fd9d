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
        # The pages a council publishes (accessibility, privacy, cookies) are for everyone and name nobody.
        if rule.endpoint.startswith("public."):
            continue
        url = re.sub(r"<(?:int:)?(\w+)>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield url, method


def test_every_page_but_login_needs_a_signed_in_user(app, client, make_agreement):
    make_agreement()
    checked = 0
    for url, method in _all_routes(app):
        if url.startswith(("/a/", "/f/")):  # agency and family pages use their own link instead of an account
            continue
        response = client.open(url, method=method)
        if url == "/session/keep-alive":  # its script reads a 401, not a sign-in page (issue 22)
            assert response.status_code == 401 and response.json == {"signed_in": False}
            continue
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


# --- the scope matrix (R17), generated from the url_map ------------------------------------------

STATUSES = ("draft", "awaiting_endorsement", "active", "ended")
# Signing out is not about a child; the agency pages answer to a signed link, not a person.
# /healthz names nothing about anyone; its 503 (no job runner in tests) is tests/jobs/test_jobs_watched.py's.
NOT_ABOUT_A_CHILD = ("static", "auth.", "sso.", "agency.", "family.", "health.")  # family.: by the family's own link


def _expected_scope(user, agreement) -> bool:
    """R17 written out independently of tracker.people.access, for the matrix to check it against."""
    if user.role == "service_manager":
        return True
    if user.role == "front_door":
        return agreement.status == "active" or agreement.social_worker_id is None
    if user.role in ("social_worker", "team_manager"):
        return agreement.team_id == user.team_id
    return False


def _seed_every_state(people):
    """A record in every state in each team, each naming its own child (one surname for all)."""
    import datetime as dt

    from tests.conftest import NOW, agreement_data
    from tracker.models import Agreement, Recipient
    from tracker.records import breaches, drafting, lifecycle

    cells = []
    for n, (worker, manager) in enumerate(((people.worker, people.manager), (people.other_worker, people.other_manager))):
        for m, status in enumerate(STATUSES):
            first = f"{'North' if n == 0 else 'South'}{status.split('_')[0].capitalize()}"
            born = dt.date(2018, n + 1, m + 1)
            data = agreement_data(social_worker=worker.id, children=[
                {"name": f"{first} Quinnell", "date_of_birth": born, "person_id": f"P-{n}{m}"}])
            record = drafting.save(None, "partnership", data, worker, NOW)
            breach = None
            if status != "draft":
                lifecycle.submit(record, worker, NOW)
            if status in ("active", "ended"):
                lifecycle.endorse(Agreement.get_by_id(record.id), manager, NOW, override="test")
                breach = breaches.log(Agreement.get_by_id(record.id), {"description": "x", "reported_by": "y"}, NOW,
                                      user=worker)
            if status == "ended":
                lifecycle.end(Agreement.get_by_id(record.id), manager, NOW, "reviewed_closed")
            record = Agreement.get_by_id(record.id)
            child = record.child_links.get().child
            cells.append({"agreement": record, "child": child, "breach": breach, "born": f"{born:%-d %B %Y}",
                          "recipient": Recipient.get(Recipient.agreement == record),
                          "party": record.parties.get()})
    return cells


def _state():
    """What a refused request must not change."""
    from tracker.models import Agreement, Breach, Child, Notification, Recipient, Review

    return (list(Agreement.select(Agreement.id, Agreement.status, Agreement.version, Agreement.updated_at,
                                  Agreement.social_worker).order_by(Agreement.id).tuples()),
            list(Child.select(Child.id, Child.case_closed_at, Child.identity).order_by(Child.id).tuples()),
            list(Recipient.select(Recipient.id, Recipient.link_version, Recipient.removed_at).order_by(Recipient.id)
                 .tuples()),
            Breach.select().count(), Review.select().count(), Notification.select().count())


def _urls(app, cell, keys):
    """Every route with its arguments filled from one record's cell: (endpoint, method, url)."""
    agreement, child = cell["agreement"], cell["child"]
    values = {"agreement_id": agreement.id, "child_id": child.id, "recipient_id": cell["recipient"].id,
              "breach_id": cell["breach"].id if cell["breach"] else None, "party_id": cell["party"].id, "name": "why"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(NOT_ABOUT_A_CHILD):
            continue
        about = rule.arguments & set(values) - {"name"}  # a section's name (issue 22) names no record
        if rule.endpoint in ("sar.preview", "sar.export"):
            about = {"child"}
        if not about or any(values.get(a) is None for a in about if a != "child"):
            continue
        url = rule.rule
        for name in rule.arguments:
            url = re.sub(rf"<(?:int:)?{name}>", str(values[name]), url)
        if "child" in about:
            url += f"?child={child.id}"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def _lists(app):
    """Every route that names no record in its address, asked for the surname every seeded child shares."""
    from tracker.oversight.dashboard import TABLES

    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(NOT_ABOUT_A_CHILD) or rule.arguments - {"key", "fmt"}:
            continue
        if "GET" not in rule.methods:
            continue
        for key in (TABLES if "key" in rule.arguments else [None]):
            url = rule.rule.replace("<key>", key or "").replace("<fmt>", "xlsx")
            yield f"{url}?q=Quinnell"


def test_no_route_names_or_acts_on_a_child_outside_the_viewers_scope(app, client, people, login):
    """Every route x every role x a record (and its child) in every state of either team: outside
    the viewer's scope, GET and POST are refused, name neither the child nor its date of birth,
    and change nothing; inside it nothing fails, and a page showing the child's details is audited."""
    from tests.conftest import PASSWORD
    from tracker.models import AuditEvent
    from tracker.people.accounts import create_user

    people.front_door = create_user("front.door@council.example", "Fran Front", PASSWORD, "front_door", None)
    cells = _seed_every_state(people)
    viewers = [people.worker, people.manager, people.other_worker, people.other_manager, people.head, people.admin,
               people.front_door]
    keys = None
    problems, checked, later = [], 0, []
    for user in viewers:
        login(user)
        for cell in cells:
            inside = _expected_scope(user, cell["agreement"])
            name = cell["child"].name
            for _endpoint, method, url in _urls(app, cell, keys):
                if inside and method == "POST":
                    later.append((user, url))  # may change the record: after every refusal is checked
                    continue
                before = _state() if method == "POST" else None
                audits = AuditEvent.select().count() if inside else None
                response = client.open(url, method=method, data={})
                body = response.get_data().decode("utf-8", "replace")
                checked += 1
                where = f"{user.email} {method} {url} ({cell['agreement'].status}, {name})"
                if response.status_code >= 500:
                    problems.append(f"{where}: {response.status_code}")
                elif not inside:
                    if response.status_code not in (403, 404):
                        problems.append(f"{where}: answered {response.status_code} outside the scope")
                    if name in body or cell["born"] in body:
                        problems.append(f"{where}: names the child outside the scope")
                    if before is not None and _state() != before:
                        problems.append(f"{where}: changed something outside the scope")
                elif response.status_code == 200 and name in body and cell["born"] in body:
                    if AuditEvent.select().count() == audits:
                        problems.append(f"{where}: shows the child's details without an audit event")
        # Lists, searches, exports and dashboards: never an out-of-scope child's name.
        outside = [c["child"].name for c in cells if not _expected_scope(user, c["agreement"])]
        for url in _lists(app):
            response = client.get(url)
            checked += 1
            body = response.get_data().decode("utf-8", "replace")
            if response.status_code >= 500:
                problems.append(f"{user.email} GET {url}: {response.status_code}")
            problems += [f"{user.email} GET {url}: names {n} outside the scope" for n in outside if n in body]
    for user, url in later:
        login(user)
        response = client.post(url, data={})
        checked += 1
        if response.status_code >= 500:
            problems.append(f"{user.email} POST {url}: {response.status_code}")
    assert checked > 1000
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} in all)"


def test_possibly_the_same_child_offers_no_child_of_another_team(client, people, login, make_agreement):
    """A North worker types a council person ID into a draft: a South child with that ID is neither named nor linkable."""
    import datetime as dt

    south = make_agreement(worker=people.other_worker, children=[
        {"name": "Ravi Southrow", "date_of_birth": dt.date(2020, 2, 2), "person_id": "CP-77"}])
    north = make_agreement(children=[{"name": "R Northrow", "date_of_birth": dt.date(2021, 3, 3), "person_id": "CP-77"}])
    page = login(people.worker).get(f"/agreements/{north.id}").get_data(as_text=True)
    assert "Ravi Southrow" not in page and "Possibly the same child" not in page
    other = south.child_links.get().child_id
    mine = north.child_links.get().child_id
    client.post(f"/agreements/{north.id}/children/{mine}/link", data={"other": other})
    from tracker.models import Child

    assert Child.get_by_id(mine).identity != Child.get_by_id(other).identity
    # The service manager sees both teams, so is offered the link.
    assert "Ravi Southrow" in login(people.head).get(f"/agreements/{north.id}").get_data(as_text=True)


def test_another_teams_manager_cannot_open_or_close_a_case_with_no_active_record(client, people, login, make_agreement):
    from tracker.models import AuditEvent, Child

    draft = make_agreement(status="draft")
    child = draft.child_links.get().child_id
    login(people.other_manager)
    response = client.get(f"/children/{child}/close")
    assert response.status_code == 403 and "Ella Murphy" not in response.get_data(as_text=True)
    assert client.post(f"/children/{child}/close", data={}).status_code == 403
    assert Child.get_by_id(child).case_closed_at is None
    # The team's own manager may, and both the view and the closure are in the audit trail.
    login(people.manager)
    assert client.get(f"/children/{child}/close").status_code == 200
    assert client.post(f"/children/{child}/close", data={}).status_code == 302
    assert Child.get_by_id(child).case_closed_at is not None
    actions = {e.action for e in AuditEvent.select().where((AuditEvent.entity == "child") & (AuditEvent.entity_id == child))}
    assert {"viewed_case_closure", "case_closed"} <= actions


def test_an_administrator_cannot_change_their_own_role_or_team(client, people, login):
    from tracker.models import User

    login(people.admin)
    form = {"name": people.admin.name, "email": people.admin.email, "role": "service_manager", "team": 0, "active": "y",
            "phone": ""}
    response = client.post(f"/admin/users/{people.admin.id}", data=form)
    assert response.status_code == 400 and "cannot change your own role" in response.get_data(as_text=True)
    assert User.get_by_id(people.admin.id).role == "administrator"
    form["role"] = "administrator"
    form["team"] = people.north.id
    assert client.post(f"/admin/users/{people.admin.id}", data=form).status_code == 400
    assert User.get_by_id(people.admin.id).team_id is None


def test_a_reading_role_given_is_audited_and_emailed_to_the_service_managers(client, people, login):
    from tracker.models import AuditEvent, Notification, User

    second = User.create(email="admin2@council.example", name="Second Admin", password_hash="x", role="administrator")
    login(people.admin)
    form = {"name": second.name, "email": second.email, "role": "service_manager", "team": 0, "active": "y", "phone": ""}
    assert client.post(f"/admin/users/{second.id}", data=form).status_code == 302
    assert User.get_by_id(second.id).role == "service_manager"
    event = AuditEvent.get(AuditEvent.action == "access_granted")
    assert event.entity_id == second.id and event.user_id == people.admin.id
    # Every service manager is told, the one just made included; read the head's (no order: two rows).
    granted = Notification.select().where(Notification.kind == "access_granted")
    assert {n.to_address for n in granted} == {people.head.email, second.email}
    sent = granted.where(Notification.to_address == people.head.email).get()
    assert "Second Admin" in sent.subject
    assert "every record in the service" in sent.body_text and "Alex Admin" in sent.body_text
    # A change that gives no reading role is not announced.
    form.update(name="Second Admin Renamed", role="service_manager")
    client.post(f"/admin/users/{second.id}", data=form)
    assert Notification.select().where(Notification.kind == "access_granted").count() == 2  # to head and to second
