"""A realistic demo caseload: two teams, about 30 records in every state.

Dates are relative to now, so the demo always has reviews due soon and
overdue, an undertaking past its end, and copies not yet acknowledged.
"""

from __future__ import annotations

import datetime as dt
import random

from tracker import clock, models
from tracker.clock import utcnow
from tracker.db import database
from tracker.models import Agency, Agreement, Notification, Recipient, Review, Team, User
from tracker.people.accounts import create_user
from tracker.records import drafting, lifecycle

PASSWORD = "demo-password-1"
LOGINS = [
    ("sam.worker@example.org", "Social worker, North team"),
    ("priya.worker@example.org", "Social worker, North team"),
    ("tom.worker@example.org", "Social worker, South team"),
    ("maria.manager@example.org", "Team manager, North team"),
    ("dev.manager@example.org", "Team manager, South team"),
    ("helen.head@example.org", "Service manager"),
    ("fran.frontdoor@example.org", "Front door, every team's active records (read only)"),
    ("admin@example.org", "Administrator"),
]

AGENCIES = [
    ("Riverside Health Visiting Service", "health_visiting", "health.visiting@example.org"),
    ("Riverside Primary School", "school", "dsl@riverside-primary.example.org"),
    ("Little Acorns Nursery", "nursery", "office@little-acorns.example.org"),
    ("Market Street Surgery", "gp", "safeguarding@market-street.example.org"),
    ("Police Safeguarding Hub", "police", "safeguarding.hub@example.org"),
    ("Northgate Housing", "housing", "tenancy@northgate.example.org"),
]

CHILDREN = [
    ("Aisha Khan", 2), ("Ben Carter", 7), ("Chloe Evans", 4), ("Daniel Okafor", 11), ("Ella Murphy", 1),
    ("Finn O'Brien", 9), ("Grace Li", 3), ("Harry Wilson", 13), ("Isla Novak", 6), ("Jack Thompson", 15),
    ("Kiera Walsh", 0), ("Leo Ahmed", 8), ("Maya Patel", 5), ("Noah Kowalski", 10), ("Olivia Brown", 2),
    ("Patrick Doyle", 12), ("Ruby Hughes", 4), ("Sami Haddad", 14), ("Tia Roberts", 3), ("Umar Farouk", 9),
    ("Violet Green", 1), ("Will Jones", 16), ("Yasmin Ali", 7), ("Zac Taylor", 5), ("Amber Price", 11),
    ("Brodie Clarke", 2), ("Cara Ward", 8), ("Dylan Reid", 6), ("Erin Scott", 4), ("Felix Adams", 13),
]

ACTIONS = [
    ("Ms {p} will make sure the children are collected from school on time every day.", "Ms {p} (mother)", "family", "Every school day"),
    ("The social worker will visit every two weeks to talk with the children on their own.", "Social worker", "professional", "Every two weeks"),
    ("Mr {p} will not have unsupervised contact with the children.", "Mr {p} (father)", "family", "Until the review"),
    ("The school will tell the social worker the same day if the children are absent.", "Designated safeguarding lead", "professional", "Each absence"),
    ("Ms {p} will attend the parenting course at the family centre.", "Ms {p} (mother)", "family", "Weekly for 8 weeks"),
    ("The health visitor will visit to check on the baby's weight and feeding.", "Health visitor", "professional", "Every month"),
]


def _dt(now: dt.datetime, days: float, hour: int = 10) -> dt.datetime:
    moment = now + dt.timedelta(days=days)
    return moment.replace(hour=hour, minute=0, second=0, microsecond=0)


def seed(now: dt.datetime | None = None) -> None:
    now = now or utcnow()
    rng = random.Random(7)
    with database.atomic():
        north, south = Team.create(name="North team"), Team.create(name="South team")
        users = {}
        for (email, label), name in zip(
            LOGINS, ["Sam Worker", "Priya Worker", "Tom Worker", "Maria Manager", "Dev Manager", "Helen Head", "Fran Frontdoor",
                     "Alex Admin"], strict=True
        ):
            role = {"Social": "social_worker", "Team": "team_manager", "Service": "service_manager", "Administrator": "administrator",
                    "Front": "front_door"}[label.split()[0]]
            team = north if "North" in label else south if "South" in label else None
            users[email] = create_user(email, name, PASSWORD, role, team)
        for name, kind, email in AGENCIES:
            Agency.create(name=name, kind=kind, email=email, phone="01234 567890")
        # Agencies' copies show the social worker's number.
        for number, email in enumerate(("sam.worker@example.org", "priya.worker@example.org", "tom.worker@example.org")):
            User.update(phone=f"0100 000 010{number}").where(User.id == users[email].id).execute()

    workers = [users["sam.worker@example.org"], users["priya.worker@example.org"], users["tom.worker@example.org"]]
    managers = {north.id: users["maria.manager@example.org"], south.id: users["dev.manager@example.org"]}
    # (kind, final state, days to next review or hours to undertaking end)
    plan = (
        [("partnership", "active", d) for d in (-9, -3, -1, 0.3, 1, 2, 5, 8, 12, 20, 35, 60, 75)]
        + [("partnership", "awaiting_endorsement", 40), ("partnership", "awaiting_endorsement", 50)]
        + [("partnership", "draft", 45), ("partnership", "draft", 30)]
        + [("partnership", "ended", 10), ("partnership", "ended", 15), ("partnership", "ended", 25)]
        + [("undertaking", "active", h) for h in (-5, 1.5, 20, 60)]
        + [("undertaking", "awaiting_endorsement", 48), ("undertaking", "draft", 24), ("undertaking", "ended", 10)]
        + [("partnership", "active", 14), ("partnership", "active", 3)]
    )
    for index, (kind, state, offset) in enumerate(plan):
        child, age = CHILDREN[index % len(CHILDREN)]
        worker = workers[index % len(workers)]
        if kind == "undertaking" and index % 4 == 0:
            worker_id = 0
        else:
            worker_id = worker.id
        surname = child.split()[-1]
        born = (now - dt.timedelta(days=int(age * 365.25) + rng.randint(20, 300))).date()
        chosen = rng.sample(ACTIONS, 3)
        if kind == "partnership" and not any(a[2] == "professional" for a in chosen):
            chosen[0] = ACTIONS[1]
        recipients = [
            {"name": "Jo Bloggs", "agency_name": AGENCIES[1][0], "agency_kind": "school", "role": "Designated safeguarding lead",
             "email": AGENCIES[1][2], "breach_contact": kind == "undertaking"},
        ]
        if age < 5 and index % 5 != 0:  # a few under-fives lack health visiting, as in real life (R6)
            recipients.append({"name": "Kim Hale", "agency_name": AGENCIES[0][0], "agency_kind": "health_visiting",
                               "role": "Health visitor", "email": AGENCIES[0][2], "breach_contact": False})
        if index % 3 == 0:
            recipients.append({"name": "PC Dale", "agency_name": AGENCIES[4][0], "agency_kind": "police",
                               "role": "Safeguarding officer", "email": AGENCIES[4][2], "breach_contact": kind == "undertaking"})
        completed = (now - dt.timedelta(days=rng.randint(20, 80))).date()
        if index % 20 == 7:
            # The person at risk asked to keep the person who harms away: the checks catch it (R8).
            chosen = [("Ms {p} will not let Mr {p} into the house.", "Ms {p} (mother)", "family", "Until the review"),
                      *chosen[1:]]
        data = {
            "children": [{"name": child, "date_of_birth": born}],
            "social_worker": worker_id,
            "completed_on": completed,
            "purpose": f"To keep {child.split()[0]} safe at home while the family works on the concerns raised at the "
                       "strategy meeting, and to be clear what everyone will do.",
            "child_views": "" if index % 6 == 5 else f"{child.split()[0]} said they like it when things are calm at home.",
            "family_views": "The family want to show they can keep the children safe.",
            "plan_type": ["child_in_need", "child_protection", "none"][index % 3],
            "actions": [{"what": w.format(p=surname), "who": who.format(p=surname), "side": side,
                         "timescale": "" if (index % 7 == 3 and i == 0) else t, "due_on": None}
                        for i, (w, who, side, t) in enumerate(chosen)],
            "if_things_go_wrong": "If any part of this is broken, the social worker will arrange a meeting within "
                                  "two working days and a strategy discussion may be held.",
            "contingency": "If the children cannot stay safely at home, they will stay with their grandmother.",
            "duration": "3 months",
            "review_at": None,
            "review_venue": "Riverside Family Centre",
            "parties": [{"name": f"Ms {surname}", "role": "Mother", "signed_on": completed},
                        {"name": worker.name, "role": "Social worker", "signed_on": completed}],
            "recipients": recipients,
            "first_language": "Polish" if index % 9 == 4 else "English",
            "interpreter": "",
            "advocacy": "",
            "literacy": "",
            "issued_on": None,
            "case_closing": index % 11 == 6,
            "domestic_abuse_concern": index % 10 == 7,
            "person_at_risk": f"Ms {surname}" if index % 10 == 7 else "",
            "person_who_harms": f"Mr {surname}" if index % 10 == 7 else "",
            "marac_idva": "Referred to MARAC; the IDVA has made contact." if index % 20 == 17 else "",
            # Child protection and child in need plans have their next meeting; one is already past (R14).
            "plan_meeting_on": (now + dt.timedelta(days=-5 if index == 1 else 21)).date()
            if index % 3 in (0, 1) and kind == "partnership" else None,
            "worker_phone": "01632 960 0" + f"{10 + index % 3}",
            "window_reason": "",
            "legal_advice_taken": "yes" if index % 2 else "no",
            "legal_advice_notes": "",
        }
        team_id = worker.team_id
        manager = managers[team_id]
        author = worker
        if kind == "partnership":
            data["review_at"] = _dt(now, 40)  # planned in the future; moved to its demo date below
        else:
            data["window_starts_at"] = now - dt.timedelta(hours=24)
            data["window_ends_at"] = now + dt.timedelta(hours=offset)
            if offset - (-24) > 72:
                author = manager
                data["window_reason"] = "The Section 47 enquiry needs until the strategy meeting to finish."
        agreement = drafting.save(None, kind, data, author, now - dt.timedelta(days=30))
        if state in ("awaiting_endorsement", "active", "ended"):
            lifecycle.submit(agreement, author, now - dt.timedelta(days=29))
        if state in ("active", "ended"):
            # A manager does not endorse what they wrote: the service manager does (R11).
            endorser = User.get(User.email == "helen.head@example.org") if author == manager else manager
            lifecycle.endorse(agreement, endorser, now - dt.timedelta(days=28), override="Demo: endorsed at a meeting")
        if kind == "partnership" and state in ("active", "awaiting_endorsement", "draft"):
            # Put the review where the demo wants it, as if planned long ago.
            at = _dt(now, offset)
            Review.update(scheduled_at=at, requests_open_at=at - dt.timedelta(days=10),
                          reports_due_at=at - dt.timedelta(days=3)).where(Review.agreement == agreement).execute()
            drafting.plan_review_notices(Review.get(Review.agreement == agreement).id)
            Agreement.update(next_review_at=at).where(Agreement.id == agreement.id).execute()
        if state == "active" and index % 4 == 1:
            Recipient.update(acknowledged_at=now - dt.timedelta(days=27), chase_at=None).where(
                Recipient.agreement == agreement).execute()
        if state == "ended":
            lifecycle.end(Agreement.get_by_id(agreement.id), manager, now - dt.timedelta(days=2),
                        "reviewed_closed" if kind == "partnership" else "expired", "Closed at review.")
    _breaches_and_reports(now, managers)
    _past_reviews(now, managers)
    _closed_case(now, managers)
    _past_retention(now, users["sam.worker@example.org"], managers)
    _linked_child(now, managers)
    _issued(now)
    _family_link(now)
    User.update(failed_logins=0).execute()


def _closed_case(now: dt.datetime, managers: dict) -> None:
    """A case closed three weeks ago: its agreement replaced by an 8-week closure
    undertaking handed to the front door (R4), beside the emergency undertakings."""
    from tracker.models import AgreementChild, Child
    from tracker.records import closure

    agreement = (Agreement.select().where((Agreement.kind == "partnership") & (Agreement.status == "active"))
                 .order_by(Agreement.id.desc()).first())
    child = Child.get_by_id(AgreementChild.get(AgreementChild.agreement == agreement).child_id)
    manager = managers[agreement.team_id]
    decisions = {a.id: closure.Decision(choice="closure", weeks="8", notes="Family agreed to keep it for 8 weeks.")
                 for a in closure.active_records(child)}
    closure.close_case(child, decisions, manager, now - dt.timedelta(days=21), "Concerns resolved; closing with an undertaking.")


def _past_retention(now: dt.datetime, worker: User, managers: dict) -> None:
    """An agreement that ended years ago, its child now past 25: the retention review lists it (issue 14)."""
    from tracker.governance import retention

    long_ago = now - dt.timedelta(days=365 * 9)
    data = {
        "children": [{"name": "Oliver Grant", "date_of_birth": (now - dt.timedelta(days=365 * 26)).date()}],
        "social_worker": worker.id, "completed_on": long_ago.date(),
        "purpose": "To support Oliver's return home after a period with his aunt.",
        "child_views": "Oliver wanted to go home.", "family_views": "Mr Grant agreed.", "plan_type": "child_in_need",
        "actions": [{"what": "Mr Grant will attend the parenting course.", "who": "Mr Grant", "side": "family",
                     "timescale": "Weekly", "due_on": None}],
        "if_things_go_wrong": "A meeting within two working days.", "contingency": "Oliver stays with his aunt.",
        "duration": "3 months", "review_at": long_ago + dt.timedelta(days=60), "review_venue": "Family centre",
        "parties": [{"name": "Mr Grant", "role": "Father", "signed_on": None}], "recipients": [],
        "first_language": "English", "legal_advice_taken": "no",
    }
    manager = managers[worker.team_id]
    agreement = drafting.save(None, "partnership", data, worker, long_ago)
    lifecycle.submit(agreement, worker, long_ago)
    lifecycle.endorse(agreement, manager, long_ago, override="Demo: endorsed at a meeting")
    lifecycle.end(Agreement.get_by_id(agreement.id), manager, long_ago + dt.timedelta(days=90), "reviewed_closed",
                "Closed at review.")
    # Its notices were due years ago; the demo starts with none of them waiting.
    Notification.delete().where(Notification.agreement == agreement).execute()
    retention.stamp(now)


def _breaches_and_reports(now: dt.datetime, managers: dict) -> None:
    """Some breaches (one urgent and unanswered) and agency replies, as a real caseload has."""
    from tracker.models import AgencyReport
    from tracker.records import breaches

    active = list(Agreement.select().where(Agreement.status == "active").order_by(Agreement.id))
    for index, agreement in enumerate(active[:4]):
        breach = breaches.log(
            agreement,
            {"description": ["Dad was at the house after 9pm; the neighbour saw him arrive.",
                             "The children were not collected from school and waited until 5pm.",
                             "Mum did not attend the parenting course this week.",
                             "Ella told her teacher that dad stayed over at the weekend."][index],
             "reported_by": ["Neighbour, by phone", "Riverside Primary School", "Family centre", "Jo Bloggs, school"][index],
             "immediate_risk": index == 0, "occurred_at": now - dt.timedelta(hours=30 - index * 6)},
            now - dt.timedelta(hours=28 - index * 6),
            user=agreement.social_worker or managers[agreement.team_id],
        )
        if index == 2:
            breaches.acknowledge(breach, managers[agreement.team_id], "strategy", "Strategy discussion booked.", now)
    for agreement in active:
        review = Review.get_or_none((Review.agreement == agreement) & (Review.status == "scheduled"))
        if review is None or not (now < review.scheduled_at < now + dt.timedelta(days=10)):
            continue
        for recipient in Recipient.select().where(Recipient.agreement == agreement).limit(1):
            AgencyReport.create(review=review, recipient=recipient, nothing_to_share=agreement.id % 2 == 0,
                                body="" if agreement.id % 2 == 0 else "Attendance is good and the children seem settled.",
                                submitted_at=now - dt.timedelta(days=1))


def _past_reviews(now: dt.datetime, managers: dict) -> None:
    """Reviews held over the last six months, some on time and some late, for the service view."""
    rng = random.Random(11)
    active = Agreement.select().where((Agreement.status == "active") & (Agreement.kind == "partnership"))
    for agreement in active:
        for months_ago in range(1, 7):
            if rng.random() < 0.35:
                continue
            due = _dt(now, -30 * months_ago - rng.randint(0, 20))
            late_days = 0 if rng.random() < 0.7 else rng.randint(1, 12)
            Review.create(agreement=agreement, scheduled_at=due, venue="Riverside Family Centre", status="held",
                          held_on=(due + dt.timedelta(days=late_days)).date(), outcome="continue",
                          attendees="Family, social worker, school", recorded_by=managers[agreement.team_id],
                          recorded_at=due + dt.timedelta(days=late_days), created_at=due - dt.timedelta(days=60))


def _linked_child(now: dt.datetime, managers: dict) -> None:
    """A child typed differently on a new record, offered as possibly the same child and linked (R13)."""
    from tracker.models import Child
    from tracker.records import identity

    ended = (Agreement.select().where((Agreement.status == "ended") & (Agreement.kind == "partnership"))
             .order_by(Agreement.id).first())
    if ended is None:
        return
    child = models.children_of(ended)[0]
    first, *_, surname = child.name.split()
    Child.update(person_id="CMS-104233").where(Child.id == child.id).execute()
    data = drafting.form_data(ended)
    data.update(
        children=[{"name": f"{first} Rose {surname}", "date_of_birth": child.date_of_birth, "person_id": "",
                   "nhs_number": "", "unborn": False}],
        completed_on=(now - dt.timedelta(days=3)).date(),
        review_at=_dt(now, 60),
        social_worker=ended.social_worker_id,
        recipients=[{k: v for k, v in r.items() if k != "id"} for r in data["recipients"]],
        actions=[{k: v for k, v in a.items() if k != "id"} for a in data["actions"]],
        parties=[{k: v for k, v in p.items() if k != "id"} for p in data["parties"]],
    )
    author = ended.social_worker or managers[ended.team_id]
    agreement = drafting.save(None, "partnership", data, author, now - dt.timedelta(days=3))
    lifecycle.submit(agreement, author, now - dt.timedelta(days=3))
    for mine, other in identity.possible_matches(agreement):
        identity.link(agreement, mine, other, author, now - dt.timedelta(days=3))


def _issued(now: dt.datetime) -> None:
    """The family's copy was handed over the day after endorsement for most records; the
    newest two are left waiting, so the "not yet issued" table shows something real (R8a)."""
    endorsed = list(Agreement.select().where((Agreement.status == "active") & Agreement.endorsed_at.is_null(False)
                                             & Agreement.issued_at.is_null()).order_by(Agreement.endorsed_at.desc()))
    for agreement in endorsed[2:]:
        at = min(agreement.endorsed_at + dt.timedelta(days=1), now)
        Agreement.update(issued_at=at, issued_on=clock.london_date(at), copy_language=agreement.first_language or "English").where(
            Agreement.id == agreement.id).execute()


# The family's own copy (R20): one parent of an active agreement has their link, with a known code.
FAMILY_CODE = "PARENT"
FAMILY_EMAIL = "parent@home.example"


def _family_link(now: dt.datetime) -> None:
    from tracker.family import links

    for agreement in (Agreement.select().where((Agreement.status == "active") & (Agreement.kind == "partnership")
                                               & (Agreement.domestic_abuse_concern == False))  # noqa: E712
                      .order_by(Agreement.id)):
        parties = links.family_parties(agreement)
        worker = User.get_or_none(User.id == agreement.social_worker_id)
        if parties and worker is not None:
            with database.atomic():
                links.send_link(agreement, parties[0], worker, now, channel="email", address=FAMILY_EMAIL,
                                code=FAMILY_CODE)
            return


def family_demo() -> tuple[str, str] | None:
    """(the demo parent's link, their code), for `flask seed-demo` to print."""
    from tracker.family import links
    from tracker.models import FamilyAccess

    access = FamilyAccess.select().where(FamilyAccess.generation > 0).order_by(FamilyAccess.id).first()
    return (links.family_url(access), FAMILY_CODE) if access else None
