"""Warning signs (R8): the guidance's "bad reasons" and the lessons of case reviews.

A warning sign is not a rule that blocks anything; it is something a manager
should look at. Each sign is a plain function of the records and `now`.

Definitions, so that a manager can tell why a record is flagged:

- A child is one identity across records (R13): `Child` rows a worker linked
  share `Child.identity`, and a record names a child by a live `AgreementChild`
  link (`removed_at` is null). A record's *history* is every other record that
  names the same identity and was created before it (by `created_at`, then
  `id`), in any status: ended records count as history.
- Only records that have not ended are flagged; an ended record has no signs.

1. new_after_breach: an earlier record of the same child ended with the reason
   "breached", or has at least one breach logged against it.
2. breaches_answered_by_agreements: two or more breaches across the child's
   earlier records (an earlier record that ended "breached" with no breach
   logged counts as one), and none of those earlier records ended "escalated"
   (to child protection or legal planning): each breach was answered only by
   another agreement.
3. closing_case: a partnership agreement on a case marked as closing; the
   guidance says a written undertaking fits there instead.
4. repeated_agreements: a partnership agreement, and at least one other
   partnership agreement for the same child dated within 12 months of it
   (before or after). A record's date is its date completed, else the day it
   was created. The other record counts once it has left draft
   (`submitted_at` is set, or it is past draft: an imported or directly
   endorsed record), so an abandoned draft does not.
5. active_past_6_months: an active record whose endorsement (else its
   creation) is more than 6 months ago.
5a. past_plan_meeting (R14): an active record whose recorded next child
   protection or child in need meeting (`plan_meeting_on`) is before today in
   London. Folding it into that plan at review ends it, so a record still
   active after the meeting has not been folded in.
6. never_reviewed: an active partnership agreement with no review held
   (no `Review` with status "held") whose endorsement (else creation) is older
   than the review policy (setting `review_policy_months`), or whose next
   review date has passed.
7. no_interpreter: the first language is written, is not "English" (any
   case), and no interpreter or translation is recorded.
8. domestic_abuse_exclusion: a domestic abuse concern is recorded and an
   action puts keeping the person who harms away on someone other than the
   person who harms or a professional ("will not let him in", "keep him away",
   "not allow contact": `tracker.records.responsibility.EXCLUSION`), or the old
   record's box saying so is ticked.

9. coercion: the consequences ("if things go wrong", the contingency) threaten
   rather than explain: removal made the price of signing, or stated as certain
   ("sign this or the children will be removed"): `reading.threatens`.
10. no_family_party: a partnership agreement none of whose parties is a family
   member (by the party's side, else its role's or name's words).
11. domestic_abuse_no_harmer_action: a domestic abuse concern and no action on
   the person who harms or a professional (who is responsible, else the
   action's subject: `reading.actor`).

Signs 1, 3, 9, 10 and the domestic abuse signs (8, 11) are BLOCKING: the quality
checklist lists each as a failing check, so endorsement needs a manager's
recorded reason (`tracker.records.quality.checks`). Sign 3 is also raised when
the record's own words say the case is closing (`reading.says_closing`).

The same NHS number or council person ID is the same child for every sign,
before anyone links the rows (R13).

`signs_for(records, now)` works for a page of records with a fixed number of
queries: the children's links and their other records in one, breach counts
in one, held reviews in one and the policy setting in one, whatever the number
of records (beyond `CHUNK` records it repeats that per chunk, to stay inside
the database's limit on query parameters).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import fn

from tracker import clock, rules, settings
from tracker.models import Action, Agreement, AgreementChild, Breach, Child, Party, Review
from tracker.prepared import Prepared
from tracker.records import reading, responsibility

KINDS = {
    "new_after_breach": "A new agreement after one that was breached",
    "breaches_answered_by_agreements": "Repeated breaches answered only by a new agreement",
    "closing_case": "A partnership agreement on a case that is closing (an undertaking fits)",
    "repeated_agreements": "Two or more agreements for this child within 12 months",
    "active_past_6_months": "Active for more than 6 months",
    "past_plan_meeting": "Active past the next child protection or child in need meeting without being folded into that plan",
    "never_reviewed": "Never reviewed",
    "no_interpreter": "First language is not English and no interpreter or translation is recorded",
    "domestic_abuse_exclusion": "A domestic abuse concern where the person at risk is asked to keep the person who harms away",
    "coercion": "Consequences that threaten rather than explain",
    "no_family_party": "A partnership agreement no family member is a party to",
    "domestic_abuse_no_harmer_action": "A domestic abuse concern and nothing asked of the person who harms or the professionals",
}
# The bad reasons that stop endorsement short of a manager's recorded reason (R8); the others warn.
BLOCKING = frozenset(("new_after_breach", "closing_case", "coercion", "no_family_party", "domestic_abuse_exclusion",
                      "domestic_abuse_no_harmer_action"))

# The guidance's own words for each sign, quoted on the record page.
GUIDANCE = {
    "new_after_breach": "Bad reasons to use a written agreement: because a previous written agreement has been reneged upon.",
    "breaches_answered_by_agreements": "Bad reasons to use a written agreement: as an attempt to put controls around a "
    "situation which has been out of control. Remember, it is only a piece of paper.",
    "closing_case": "Partnership agreements should not be used when a social work service is to be closed.",
    "repeated_agreements": "Bad reasons to use a written agreement: to reassure concerned professionals and managers "
    "that a concerning situation is being appropriately addressed.",
    "active_past_6_months": "Good written agreements are Specific, Measurable, Achievable, Realistic and Time-limited.",
    "past_plan_meeting": "Consistent with and usually based upon other existing plans e.g. Child Protection Plans, "
    "Child in Need Plans, Care plans.",
    "never_reviewed": "Deficiencies have included failures to effectively review the provisions of the agreement "
    "resulting in drift.",
    "no_interpreter": "Specific consideration should be given to parents and carers who have English as a second "
    "language requiring the use of an interpreter.",
    "domestic_abuse_exclusion": "Specific consideration should be given to parents and carers who are in relationships "
    "where power issues may mean agreements cannot be kept to (e.g. where there is domestic abuse).",
    "coercion": "Bad reasons to use a written agreement: to coerce individuals to behave in ways which they are "
    "reluctant/refusing to.",
    "no_family_party": "Partnership agreements can only be effective when they are a genuine and informed agreement. "
    "The parties to a partnership agreement will normally be the parents/carers of the child.",
    "domestic_abuse_no_harmer_action": "Decide what all participants are committing to, not just family members "
    "(e.g. where there is domestic abuse).",
}

CHUNK = 500


@dataclass(frozen=True)
class Sign:
    key: str
    title: str
    detail: str

    @property
    def guidance(self) -> str:
        return GUIDANCE.get(self.key, "")

    @property
    def blocking(self) -> bool:
        """Whether this sign stops endorsement short of a manager's recorded reason (R8)."""
        return self.key in BLOCKING


@dataclass
class _Past:
    """What the signs need to know about one record in a child's history."""

    id: int
    reference: str
    kind: str
    created_at: dt.datetime
    dated: dt.date
    submitted: bool
    end_reason: str | None
    ended_at: dt.datetime | None
    breaches: int = 0


def _day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    return f"{value.day} {value:%B %Y}"


def _dated(completed_on: dt.date | None, created_at: dt.datetime) -> dt.date:
    return completed_on or created_at.date()


def _started(agreement: Agreement) -> dt.datetime:
    return agreement.endorsed_at or agreement.created_at


# What the signs read of a record itself (`_signs` and its helpers): the stored signs
# (tracker.records.sign_store) load only these for the records they work out again,
# not the whole 64-column row.
SIGN_COLUMNS = (Agreement.id, Agreement.team, Agreement.kind, Agreement.status, Agreement.created_at,
                Agreement.completed_on, Agreement.endorsed_at, Agreement.next_review_at, Agreement.plan_meeting_on,
                Agreement.case_closing, Agreement.first_language, Agreement.interpreter,
                Agreement.domestic_abuse_concern, Agreement.person_who_harms, Agreement.person_at_risk,
                Agreement.victim_asked_to_exclude_abuser, Agreement.marac_idva, Agreement.purpose,
                Agreement.family_views, Agreement.child_views, Agreement.if_things_go_wrong, Agreement.contingency,
                Agreement.duration)


def signs_for(agreements: list[Agreement], now: dt.datetime) -> dict[int, list[Sign]]:
    """The warning signs of each record, by record id, in a fixed number of queries."""
    result: dict[int, list[Sign]] = {a.id: [] for a in agreements}
    live = [a for a in agreements if a.status != "ended"]
    if not live:
        return result
    policy_months = settings.get("review_policy_months")
    for start in range(0, len(live), CHUNK):
        chunk = live[start:start + CHUNK]
        for agreement_id, signs in _signs_for_chunk(chunk, now, policy_months).items():
            result[agreement_id] = signs
    return result


def signs_of(agreement: Agreement, now: dt.datetime) -> list[Sign]:
    memo = getattr(agreement, "_read_once", None)
    if memo is None:
        return signs_for([agreement], now)[agreement.id]
    # A record page asks twice (the checklist's blocking signs, then the signs): read them once.
    # Within one request the moments differ by milliseconds; the first one's signs stand.
    if "signs" not in memo:
        memo["signs"] = signs_for([agreement], now)[agreement.id]
    return memo["signs"]


def _links(p, size: int):
    """Every live link of the children these records name, or of a child linked
    to one, with the record it belongs to: one statement, its SQL built once a
    number of records (tracker.prepared)."""
    return _links_of([getattr(p, f"a{i}") for i in range(size)])


def _links_of(ids):
    """`_links` for `ids`, a list of record ids."""
    # The identities these records name; linked rows share one (R13).
    their_identities = (
        Child.select(Child.identity).join(AgreementChild, on=(AgreementChild.child == Child.id))
        .where(AgreementChild.agreement.in_(ids) & AgreementChild.removed_at.is_null())
    )
    direct = AgreementChild.select(AgreementChild.child).where(
        AgreementChild.agreement.in_(ids) & AgreementChild.removed_at.is_null()
    )
    # A row written without an identity (0) stands alone, never as "identity 0".
    # A UNION, not an OR: with OR, PostgreSQL read every child (0.7 s at 100,000).
    # The same NHS number or council person ID is the same child, linked or not (R13).
    mine = Child.select(Child.id).where(Child.id.in_(direct))
    their_nhs = Child.select(Child.nhs_number).where(Child.id.in_(mine) & (Child.nhs_number != ""))
    their_ids = Child.select(Child.person_id).where(Child.id.in_(mine) & (Child.person_id != ""))
    their_children = (Child.select(Child.id).where(Child.identity.in_(their_identities) & (Child.identity != 0))
                      | direct
                      # "!= ''" again outside: the IDs inside never are, but PostgreSQL's
                      # statistics (most rows have none) would otherwise plan for every child.
                      | Child.select(Child.id).where(Child.nhs_number.in_(their_nhs) & (Child.nhs_number != ""))
                      | Child.select(Child.id).where(Child.person_id.in_(their_ids) & (Child.person_id != "")))
    # 1. Every live link of those children, with the record it belongs to.
    return (
        AgreementChild.select(
            AgreementChild.agreement,
            Child.identity,
            Child.id,
            Child.name,
            Child.nhs_number,
            Child.person_id,
            Agreement.reference,
            Agreement.kind,
            Agreement.created_at,
            Agreement.completed_on,
            Agreement.submitted_at,
            Agreement.status,
            Agreement.end_reason,
            Agreement.ended_at,
            # Each record's breaches, counted in the same statement.
            Breach.select(fn.COUNT(Breach.id)).where(Breach.agreement == Agreement.id),
        )
        .join(Agreement, on=(AgreementChild.agreement == Agreement.id))
        .switch(AgreementChild)
        .join(Child, on=(AgreementChild.child == Child.id))
        .where(AgreementChild.child.in_(their_children) & AgreementChild.removed_at.is_null())
        .tuples()
    )


_LINKS = Prepared(_links)


def _signs_for_chunk(agreements: list[Agreement], now: dt.datetime, policy_months: int) -> dict[int, list[Sign]]:
    ids = [a.id for a in agreements]
    rows = _LINKS.execute((len(ids),), **{f"a{i}": v for i, v in enumerate(ids)})
    records: dict[int, _Past] = {}
    children_of: dict[int, set[int]] = {}
    records_of_child: dict[int, set[int]] = {}
    names: dict[int, str] = {}
    own = set(ids)
    rows = list(rows)
    same = _same_child(rows)
    for (agreement_id, identity, row_id, name, _nhs, _person, reference, kind, created_at, completed_on, submitted_at,
         status, end_reason, ended_at, breaches) in rows:
        child_id = same[identity or row_id]
        if agreement_id not in records:
            records[agreement_id] = _Past(
                agreement_id, reference, kind, created_at, _dated(completed_on, created_at),
                submitted_at is not None or status != "draft", end_reason, ended_at,
            )
            records[agreement_id].breaches = breaches or 0
        children_of.setdefault(agreement_id, set()).add(child_id)
        records_of_child.setdefault(child_id, set()).add(agreement_id)
        if agreement_id in own or child_id not in names:
            names[child_id] = name

    # 3. Which of these records have had a review held.
    partnership_ids = [a.id for a in agreements if a.kind == "partnership" and a.status == "active"]
    reviewed: set[int] = set()
    if partnership_ids and all(getattr(a, "_read_once", None) is not None for a in agreements):
        # A record page has read the record's reviews already (models.read_once).
        from tracker.models import all_reviews

        reviewed = {a.id for a in agreements if a.id in partnership_ids
                    and any(r.status == "held" for r in all_reviews(a))}
    elif partnership_ids:
        reviewed = {
            agreement_id
            for (agreement_id,) in Review.select(Review.agreement)
            .where(Review.agreement.in_(partnership_ids) & (Review.status == "held"))
            .distinct()
            .tuples()
        }

    # 4. The actions of records with a domestic abuse concern (R8), ticked or said in the record.
    abuse_ids = [a.id for a in agreements if _abuse_concern(a)]
    actions_of: dict[int, list[tuple[str, str]]] = {}
    if abuse_ids and all(getattr(a, "_read_once", None) is not None for a in agreements):
        # A record page has read the record's actions already (models.read_once).
        from tracker.models import live_actions

        actions_of = {a.id: [(x.what, x.who) for x in live_actions(a)] for a in agreements if a.id in abuse_ids}
    elif abuse_ids:
        for agreement_id, what, who in (
            Action.select(Action.agreement, Action.what, Action.who)
            .where(Action.agreement.in_(abuse_ids) & Action.removed_at.is_null())
            .order_by(Action.position).tuples()
        ):
            actions_of.setdefault(agreement_id, []).append((what, who))

    # 5. The parties of partnership agreements (is a family member one of them?).
    partnership = [a.id for a in agreements if a.kind == "partnership"]
    parties_of: dict[int, list] = {}
    if partnership and all(getattr(a, "_read_once", None) is not None for a in agreements):
        from tracker.models import live_parties

        parties_of = {a.id: live_parties(a) for a in agreements if a.id in partnership}
    elif partnership:
        for row in (Party.select(Party.agreement, Party.name, Party.role, Party.side)
                    .where(Party.agreement.in_(partnership) & Party.removed_at.is_null())
                    .order_by(Party.position)):
            parties_of.setdefault(row.agreement_id, []).append(row)

    result = {}
    for agreement in agreements:
        others: dict[int, _Past] = {}
        for child_id in children_of.get(agreement.id, ()):
            for other_id in records_of_child[child_id]:
                if other_id != agreement.id:
                    others[other_id] = records[other_id]
        earlier = [
            r for r in others.values() if (r.created_at, r.id) < (agreement.created_at, agreement.id)
        ]
        child_names = ", ".join(sorted(names[c] for c in children_of.get(agreement.id, ())))
        result[agreement.id] = _signs(agreement, now, policy_months, earlier, list(others.values()),
                                      agreement.id in reviewed, child_names, actions_of.get(agreement.id, []),
                                      parties_of.get(agreement.id, []))
    return result


def _same_child(rows) -> dict[int, int]:
    """Each child key (identity, else row id) to one key per child: keys that share an NHS number or
    a council person ID are one child, before anyone links them (R13)."""
    parent: dict[int, int] = {}

    def find(key: int) -> int:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    first_of: dict[tuple[str, str], int] = {}
    for row in rows:
        key, nhs, person = row[1] or row[2], row[4], row[5]
        find(key)
        for known in (("nhs", nhs), ("person", person)):
            if known[1]:
                other = first_of.setdefault(known, key)
                a, b = find(key), find(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    return {key: find(key) for key in list(parent)}


def _abuse_concern(agreement: Agreement) -> bool:
    """Ticked, or said in the record's own words (the record then asks the worker to confirm)."""
    if agreement.domestic_abuse_concern or (agreement.person_who_harms or "").strip():
        return True
    return any(reading.says_domestic_abuse(t) for t in (agreement.purpose, agreement.family_views,
                                                      agreement.child_views, agreement.if_things_go_wrong,
                                                      agreement.contingency, agreement.marac_idva or ""))


def _closing_said(agreement: Agreement) -> bool:
    return any(reading.says_closing(t) for t in (agreement.purpose, agreement.if_things_go_wrong,
                                                 agreement.contingency, agreement.duration,
                                                 agreement.family_views))


def _is_family(party) -> bool:
    if party.side in ("family", "professional"):
        return party.side == "family"
    return responsibility.side_of(party.name, [party], ()) == "family"


def _signs(
    agreement: Agreement,
    now: dt.datetime,
    policy_months: int,
    earlier: list[_Past],
    others: list[_Past],
    reviewed: bool,
    child_names: str,
    actions: list[tuple[str, str]] = (),
    parties: list = (),
) -> list[Sign]:
    signs: list[Sign] = []

    def add(key: str, detail: str) -> None:
        signs.append(Sign(key, KINDS[key], detail))

    earlier = sorted(earlier, key=lambda r: (r.created_at, r.id))
    breached = [r for r in earlier if r.end_reason == "breached" or r.breaches]
    if breached:
        parts = []
        for r in breached:
            if r.end_reason == "breached":
                parts.append(f"{r.reference} ended as breached on {_day(r.ended_at)}")
            else:
                parts.append(f"{r.reference} has {r.breaches} breach{'es' if r.breaches != 1 else ''} logged")
        add("new_after_breach", f"For {child_names}: " + "; ".join(parts) + ".")

    breach_count = sum(r.breaches or (1 if r.end_reason == "breached" else 0) for r in earlier)
    escalated = any(r.end_reason == "escalated" for r in earlier)
    if breach_count >= 2 and not escalated:
        add(
            "breaches_answered_by_agreements",
            f"{breach_count} breaches across {len(breached)} earlier record{'s' if len(breached) != 1 else ''} "
            f"({', '.join(r.reference for r in breached)}), and none was escalated to child protection or legal planning.",
        )

    if agreement.kind == "partnership" and (agreement.case_closing or _closing_said(agreement)):
        how = "marked as closing" if agreement.case_closing else "said in the record to be closing"
        add("closing_case", f"The case is {how}. Use a written undertaking for the concerns that remain.")

    threat = reading.threatens(agreement.if_things_go_wrong) or reading.threatens(agreement.contingency)
    if threat:
        add("coercion", f"\u201c{threat}\u201d Say what will happen and who decides (a meeting, legal advice, "
                        "the court), not what the family will lose.")

    if agreement.kind == "partnership" and not any(_is_family(p) for p in parties):
        listed = ", ".join(p.name for p in parties) or "nobody"
        add("no_family_party", f"Parties: {listed}. Add the parents or carers who agreed it as parties.")

    if agreement.kind == "partnership":
        dated = _dated(agreement.completed_on, agreement.created_at)
        low, high = rules.add_months(dated, -12), rules.add_months(dated, 12)
        near = sorted(
            (r for r in others if r.kind == "partnership" and r.submitted and low <= r.dated <= high),
            key=lambda r: (r.dated, r.id),
        )
        if near:
            listed = ", ".join(f"{r.reference} ({_day(r.dated)})" for r in near)
            add("repeated_agreements", f"{len(near) + 1} partnership agreements for {child_names} within 12 months: "
                                       f"this one ({_day(dated)}) and {listed}.")

    started = _started(agreement)
    if agreement.status == "active" and rules.add_months(started.date(), 6) < now.date():
        add("active_past_6_months", f"Active since {_day(started)}. Fold it into the child's plan, or end it.")

    meeting = agreement.plan_meeting_on
    if agreement.status == "active" and meeting is not None and meeting < clock.london_date(now):
        add("past_plan_meeting", f"The child protection or child in need meeting was on {_day(meeting)}. "
                                 "Fold this agreement into that plan at a review, or end it.")

    if agreement.kind == "partnership" and agreement.status == "active" and not reviewed:
        stale = rules.add_months(started.date(), policy_months) < now.date()
        overdue = agreement.next_review_at is not None and agreement.next_review_at < now
        if stale or overdue:
            reason = (f"its review date, {_day(agreement.next_review_at)}, has passed" if overdue
                      else f"it is more than {policy_months} months old")
            add("never_reviewed", f"Active since {_day(started)} with no review held, and {reason}.")

    language = (agreement.first_language or "").strip()
    if language and language.lower() != "english" and not (agreement.interpreter or "").strip():
        add("no_interpreter", f"First language: {language}. Record the interpreter or translation arranged.")

    if _abuse_concern(agreement):
        who = reading.people(agreement.person_at_risk, agreement.person_who_harms, parties)
        on = [reading.actor(what, who_field, who, responsibility.side_of(who_field, parties, ()))
              for what, who_field in actions]
        flagged = [str(i + 1) for i, ((what, _), role) in enumerate(zip(actions, on, strict=True))
                   if role not in ("harms", "professional") and reading.asks_to_control(what, who)]
        if flagged or agreement.victim_asked_to_exclude_abuser:
            which = f"Action {', '.join(flagged)} asks" if flagged else "The agreement asks"
            add(
                "domestic_abuse_exclusion",
                f"{which} the person at risk to keep the person who harms away. Power in the relationship may mean "
                "it cannot be kept to; put the action on the person who harms, or on the professionals.",
            )
        if actions and not any(role in ("harms", "professional") for role in on):
            add("domestic_abuse_no_harmer_action", "No action is on the person who harms or on a professional. "
                                                   "Say what they will do.")
    return signs



# Read by the family's links (tracker/family/links.py): who is a family party, and whether abuse is recorded.
is_family = _is_family
abuse_concern = _abuse_concern
