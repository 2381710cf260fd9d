"""Who may do what: every role and ownership check lives here.

Views never test roles themselves; they call `get_agreement(id, "edit")`,
`require("admin")`, or filter with `visible_agreements(user)`, so the rules
can be read, and tested as a matrix, in one place.

- A social worker sees the team's records and edits their own caseload.
- A team manager sees and acts on the team's records, and endorses them.
- A service manager sees and acts on every team's records.
- The front door reads every team's active records (read only), logs
  breaches on them, and answers for records with no social worker (an
  undertaking left in place at case closure): it reads those even once ended,
  acknowledges their breaches and ends them (the decision that stops an
  escalation).
- An administrator manages users, teams, agencies and settings, and does not
  see children's records (least privilege).
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from peewee import JOIN

from tracker.models import MANAGER_ROLES, Agreement, AgreementChild, Child, Team, User, in_progress
from tracker.prepared import Prepared

CASE_ROLES = ("social_worker", "team_manager", "service_manager")


def can(user: User, action: str, agreement: Agreement | None = None) -> bool:
    """Whether `user` may do `action` (to `agreement`, where one is involved)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    role = user.role
    if action == "admin":
        return role == "administrator"
    if action == "service_view":
        return role == "service_manager"
    if action == "create":
        # A record belongs to a team: people without one (a service manager)
        # oversee records rather than write them.
        return role in ("social_worker", "team_manager") and user.team_id is not None
    if action in ("log_breach", "dashboard"):
        return role in CASE_ROLES or role == "front_door"
    if action == "close_case":
        # Closing a child's case ends or replaces each of the child's records;
        # the page checks "close_case" on every one of them.
        return role in MANAGER_ROLES if agreement is None else (
            role == "service_manager" or (role == "team_manager" and agreement.team_id == user.team_id))
    # Adoption (issue 14).
    if action == "import":
        return role == "administrator" or (role == "team_manager" and user.team_id is not None)
    if action == "subject_access":
        return role == "service_manager"
    if action == "retention":
        return role == "service_manager" or (role == "team_manager" and user.team_id is not None)
    if agreement is None:
        return False
    if role == "front_door":
        unassigned = agreement.social_worker_id is None
        if action == "view":
            return agreement.status == "active" or unassigned
        if action == "log_breach_on":
            return agreement.status == "active"
        if action in ("acknowledge", "end"):
            return unassigned
        return False
    in_team = user.team_id is not None and agreement.team_id == user.team_id
    if role == "service_manager":
        return True
    if role == "team_manager":
        return in_team
    if role == "social_worker":
        if action in ("view", "log_breach_on"):
            return in_team
        own = agreement.social_worker_id == user.id or (
            agreement.social_worker_id is None and agreement.created_by_id == user.id
        )
        if action in ("edit", "submit", "end", "review", "manage_links", "issue"):
            return in_team and own
        return False  # endorse, history, acknowledge, extend: managers only
    return False


def may_endorse(user: User, agreement: Agreement) -> bool:
    """A manager who may act on the record, and did not write it or hold it (R11).

    For an active record, what is endorsed is its variation, so its author
    may not endorse it either. Another manager or a service manager does.
    """
    if not can(user, "endorse", agreement):
        return False
    if user.id in (agreement.created_by_id, agreement.social_worker_id):
        return False
    if agreement.status == "active":
        variation = in_progress(agreement)
        if variation is not None and variation.created_by_id == user.id:
            return False
    return True


def require(action: str, agreement: Agreement | None = None) -> None:
    """Abort with 403 unless the current user may do `action`."""
    if not can(current_user, action, agreement):
        abort(403)


def _with_people(p):
    worker, endorser = User.alias(), User.alias()
    return (Agreement.select(Agreement, Team, worker, endorser)
            .join_from(Agreement, Team)
            .join_from(Agreement, worker, JOIN.LEFT_OUTER, on=(Agreement.social_worker == worker.id),
                       attr="social_worker")
            .join_from(Agreement, endorser, JOIN.LEFT_OUTER, on=(Agreement.endorsed_by == endorser.id),
                       attr="endorsed_by")
            .where(Agreement.id == p.agreement_id))


_WITH_PEOPLE = Prepared(_with_people)  # the record page's first statement, its SQL built once


def get_agreement(agreement_id: int, action: str = "view", with_people: bool = False) -> Agreement:
    """The agreement, or 404 when it does not exist, or 403 when not allowed.

    With `with_people`, its team, social worker and endorsing manager come in the
    same statement (the record page shows all three)."""
    if with_people:
        found = _WITH_PEOPLE.execute(agreement_id=agreement_id)
        agreement = found[0] if found else None
    else:
        agreement = Agreement.get_or_none(Agreement.id == agreement_id)
    if agreement is None:
        abort(404)
    require(action, agreement)
    return agreement


def visibility(user: User):
    """The scope rule (R17): the condition on Agreement rows that `user` may see.

    Every query that names a child reads it, directly or through
    `visible_agreements`, `visible_children` or `may_see_child`: a social worker
    and a team manager see their team's records, the front door every team's
    active records and those with no social worker, a service manager the
    service, an administrator (or anyone else) nothing.
    """
    if user is None or not getattr(user, "active", True):
        return Agreement.id.is_null()
    if user.role == "service_manager":
        return Agreement.id.is_null(False)
    if scope_is_a_team(user):
        return Agreement.team == user.team_id
    if user.role == "front_door":
        return (Agreement.status == "active") | Agreement.social_worker.is_null()
    return Agreement.id.is_null()


def scope_is_a_team(user: User) -> bool:
    """The scope rule gives `user` one team's records (a social worker's or team manager's)."""
    return user.role in ("team_manager", "social_worker") and user.team_id is not None


def visible_agreements(user: User, query=None):
    """Restrict an Agreement query to what `user` may see."""
    query = query if query is not None else Agreement.select()
    return query.where(visibility(user))


def visible_children(user: User):
    """The scope rule for children: the ids of Child rows named on a record `user` may see.

    A child is in scope through a record, never by itself, so a suggestion,
    a search or a case closure offers no child that only another team's
    records name."""
    return (AgreementChild.select(AgreementChild.child)
            .join(Agreement, on=(AgreementChild.agreement == Agreement.id))
            .where(AgreementChild.removed_at.is_null() & visibility(user)))


def may_see_child(user: User, child: Child) -> bool:
    """Whether `child` is named on at least one record in `user`'s scope."""
    return Child.select(Child.id).where((Child.id == child.id) & Child.id.in_(visible_children(user))).exists()


def get_child(child_id: int, action: str = "view") -> Child:
    """The child, or 404 when there is none, or 403 when it is outside the viewer's
    scope or `action` is not theirs (as `get_agreement` answers for a record)."""
    child = Child.get_or_none(Child.id == child_id)
    if child is None:
        abort(404)
    if not may_see_child(current_user, child):
        abort(403)
    require(action)
    return child


def can_import_for(user: User, worker: User) -> bool:
    """Whether `user` may import records into `worker`'s caseload: an administrator any, a team manager their team's."""
    if not can(user, "import"):
        return False
    return user.role == "administrator" or (worker.team_id is not None and worker.team_id == user.team_id)


def retention_scope(user: User):
    """The ended records whose retention `user` decides: every team for a service manager, else their team's."""
    if user.role == "service_manager":
        return Agreement.id.is_null(False)
    if user.role == "team_manager" and user.team_id is not None:
        return Agreement.team == user.team_id
    return Agreement.id.is_null()
