"""Who may do what: every role and ownership check lives here.

Views never test roles themselves; they call `get_agreement(id, "edit")`,
`require("admin")`, or filter with `visible_agreements(user)`, so the rules
can be read, and tested as a matrix, in one place.

- A social worker sees the team's records and edits their own caseload.
- A team manager sees and acts on the team's records, and endorses them.
- A service manager sees and acts on every team's records.
- An administrator manages users, teams, agencies and settings, and does not
  see children's records (least privilege).
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from tracker.models import Agreement, User

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
        return role in CASE_ROLES
    # Adoption (issue 14).
    if action == "import":
        return role == "administrator" or (role == "team_manager" and user.team_id is not None)
    if action == "subject_access":
        return role == "service_manager"
    if action == "retention":
        return role == "service_manager" or (role == "team_manager" and user.team_id is not None)
    if agreement is None:
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
        if action in ("edit", "submit", "end", "review", "manage_links"):
            return in_team and own
        return False  # endorse, history, acknowledge, extend: managers only
    return False


def require(action: str, agreement: Agreement | None = None) -> None:
    """Abort with 403 unless the current user may do `action`."""
    if not can(current_user, action, agreement):
        abort(403)


def get_agreement(agreement_id: int, action: str = "view") -> Agreement:
    """The agreement, or 404 when it does not exist, or 403 when not allowed."""
    agreement = Agreement.get_or_none(Agreement.id == agreement_id)
    if agreement is None:
        abort(404)
    require(action, agreement)
    return agreement


def visibility(user: User):
    """The condition on Agreement rows that `user` may see."""
    if user.role == "service_manager":
        return Agreement.id.is_null(False)
    if user.role in ("team_manager", "social_worker") and user.team_id is not None:
        return Agreement.team == user.team_id
    return Agreement.id.is_null()


def visible_agreements(user: User, query=None):
    """Restrict an Agreement query to what `user` may see."""
    query = query if query is not None else Agreement.select()
    return query.where(visibility(user))


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
