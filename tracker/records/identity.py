"""One child, one identity (R13): names, NHS numbers, possible matches and links.

A child named on several records may be several `Child` rows (typed a little
differently, or before an ID was known). Rows that a worker links share one
`identity`, and every history-based warning sign reads the child's records
through it. Matching never links by itself: it only offers "possibly the same
child", because a wrong link would merge two children's histories.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata

from peewee import SQL, Case, Select, Value, fn

from tracker import audit
from tracker.db import database
from tracker.ids import ascii_digits
from tracker.models import Agreement, AgreementChild, Child, Team, User
from tracker.prepared import Prepared


def normalise_name(name: str) -> str:
    """Lower case, accents and punctuation gone, single spaces: "Zoë  O'Brien" -> "zoe o brien"."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = "".join(ch if ch.isalnum() else " " for ch in text)
    return " ".join(text.split())[:200]


def clean_nhs_number(text: str) -> str:
    """Spaces and dashes out, digits of any script as ASCII ("٩٤٣…" is stored as "943…")."""
    return ascii_digits(re.sub(r"[\s-]", "", text or ""))


def nhs_number_problem(text: str) -> str:
    """Why an NHS number is not valid, or "" when it is (or is blank).

    An NHS number is 10 digits; the tenth is a modulus 11 check digit over the
    first nine, weighted 10 down to 2. A remainder giving 10 is never issued.
    """
    number = clean_nhs_number(text)
    if not number:
        return ""
    if not re.fullmatch(r"[0-9]{10}", number):
        return "Enter an NHS number of 10 digits, like 943 476 5919"
    total = sum(int(digit) * weight for digit, weight in zip(number[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    if check == 10 or check != int(number[9]):
        return "This NHS number is not right: check it against a letter from the NHS or the GP record"
    return ""


def similar_names(a: str, b: str) -> bool:
    """Normalised names that are the same, differ by a typing slip, or share first and last names."""
    a, b = normalise_name(a), normalise_name(b)
    if not a or not b:
        return False
    if a == b:
        return True
    words_a, words_b = a.split(), b.split()
    if len(words_a) > 1 and len(words_b) > 1 and words_a[0] == words_b[0] and words_a[-1] == words_b[-1]:
        return True  # a middle name on one record only
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.85


def possible_matches(agreement: Agreement, within=None) -> list[tuple[Child, Child]]:
    """Pairs (child on this record, another child row) that may be the same child, not yet linked.

    Candidates are found by indexed columns: the same date of birth, the same
    council person ID, or the same NHS number; names are then compared.
    `within` is the reader's scope (`access.visible_children`, a query of child
    ids): a suggestion names the other child with date of birth and IDs, so it
    offers only children the reader may already see (R17). None means every
    row, for the service's own jobs (the demo).
    """
    from tracker.models import children_of  # records imports this module

    # The record's children as the record page has already read them (records.read_once).
    mine = children_of(agreement)
    pairs: list[tuple[Child, Child]] = []
    for child, others in _candidates(mine, within).items():
        for other in others:
            same_id = bool(child.person_id and other.person_id == child.person_id) or bool(
                child.nhs_number and other.nhs_number == child.nhs_number
            )
            # Two different IDs of the same kind mean two different children.
            different_id = bool(child.person_id and other.person_id and other.person_id != child.person_id) or bool(
                child.nhs_number and other.nhs_number and other.nhs_number != child.nhs_number
            )
            if same_id or (not different_id and other.date_of_birth == child.date_of_birth
                           and similar_names(child.name, other.name)):
                pairs.append((child, other))
    return pairs


CANDIDATES = 20  # each child's first candidates, by id


def _candidate_condition(child: Child):
    condition = Child.date_of_birth == child.date_of_birth
    if child.person_id:
        condition |= Child.person_id == child.person_id
    if child.nhs_number:
        condition |= Child.nhs_number == child.nhs_number
    return condition & (Child.id != child.id) & ((Child.identity != child.identity) | (Child.identity == 0))


def _candidates(children: list[Child], within=None) -> dict[Child, list[Child]]:
    """Each child's first CANDIDATES other rows by id, found by indexed columns.

    One statement for all the record's children however many candidates a date of
    birth has (issue 24): each child's own look-up, ordered and limited, tagged with
    the child's place, joined by UNION ALL.
    """
    if not children:
        return {}
    # The scope as a correlated EXISTS, not IN: IN made SQLite list every child of the
    # reader's team first (14.6 ms at 1x, growing with the caseload), EXISTS checks
    # only the few rows the date of birth or IDs found (0.6 ms). `within` is
    # access.visible_children's query of AgreementChild rows.
    scope = (fn.EXISTS(within.where(AgreementChild.child == Child.id)) if within is not None
             else Child.id.is_null(False))
    fields = Child._meta.sorted_fields
    parts = None
    for place, child in enumerate(children):
        own = (Child.select(*fields, Value(place).alias("place"))
               .where(_candidate_condition(child) & scope).order_by(Child.id).limit(CANDIDATES))
        part = Select([own.alias(f"candidates{place}")], [SQL("*")])
        parts = part if parts is None else parts + part
    found: dict[Child, list[Child]] = {child: [] for child in children}
    # Read through subqueries the columns come back unconverted: each as its field would.
    for *values, place in parts.bind(database).tuples():
        other = Child(**{f.name: (None if v is None else f.python_value(v)) for f, v in zip(fields, values, strict=True)})
        found[children[place]].append(other)
    return found


def linked_records(agreement: Agreement) -> dict[int, list[Agreement]]:
    """For each child on the record, every other record naming that child or a child
    linked to it, oldest first, with its team (the record page names the team of one
    its reader may not open). One statement for all the record's children."""
    from tracker.models import children_of  # records imports this module

    by_group: dict[int, dict[int, Agreement]] = {}
    for record in _RECORDS_OF_CHILDREN.execute(agreement=agreement.id):
        # A child's records are those of its identity group, or its own row's when unlinked.
        group = by_group.setdefault(record.group_key, {})
        if record.id != agreement.id:
            group.setdefault(record.id, record)
    found = {}
    for child in children_of(agreement):
        others = list(by_group.get(child.identity or child.id, {}).values())
        if others:
            found[child.id] = others
    return found


def _records_of_children(p):
    mine = AgreementChild.select(AgreementChild.child).where(
        (AgreementChild.agreement == p.agreement) & AgreementChild.removed_at.is_null())
    identities = Child.select(Child.identity).where(Child.id.in_(mine) & (Child.identity != 0))
    # The record's children and every child linked to one (a UNION, not an OR: see warnings).
    children = Child.select(Child.id).where(Child.identity.in_(identities)) | mine
    named = Child.alias()
    group_key = Case(None, [(named.identity == 0, named.id)], named.identity).alias("group_key")
    return (Agreement.select(Agreement, Team, group_key)
            .join_from(Agreement, Team)
            .join_from(Agreement, AgreementChild, on=(AgreementChild.agreement == Agreement.id))
            .join_from(AgreementChild, named, on=(AgreementChild.child == named.id))
            .where(AgreementChild.child.in_(children) & AgreementChild.removed_at.is_null())
            .order_by(Agreement.created_at, Agreement.id))


_RECORDS_OF_CHILDREN = Prepared(_records_of_children)


def link(agreement: Agreement, child: Child, other: Child, user: User, now: dt.datetime) -> None:
    """Make two child rows one identity: the other's whole group joins this child's."""
    with database.atomic():
        for row in (child, other):
            # A row written without an identity is its own first.
            Child.update(identity=row.id).where((Child.id == row.id) & (Child.identity == 0)).execute()
        child, other = Child.get_by_id(child.id), Child.get_by_id(other.id)
        if child.identity == other.identity:
            return
        keep, merge = sorted((child.identity, other.identity))
        Child.update(identity=keep).where(Child.identity == merge).execute()
        # IDs known on one row are known for the child.
        for name in ("person_id", "nhs_number"):
            known = getattr(child, name) or getattr(other, name)
            if known:
                Child.update(**{name: known}).where(
                    (Child.identity == keep) & (getattr(Child, name) == "")).execute()
        audit.record("child_linked", user=user, agreement=agreement, entity="child", entity_id=child.id,
                     changes={"same_child_as": [None, f"{other.name} (child {other.id})"]}, at=now)


def find_or_create(name: str, date_of_birth: dt.date, person_id: str, nhs_number: str, unborn: bool,
                   now: dt.datetime) -> Child:
    """The child row a record names: an exact match by normalised name, date and IDs, else a new row."""
    normalised = normalise_name(name)
    nhs_number = clean_nhs_number(nhs_number)
    person_id = ascii_digits((person_id or "").strip())
    condition = (Child.normalised_name == normalised) & (Child.date_of_birth == date_of_birth) & (Child.unborn == unborn)
    if person_id:
        condition &= (Child.person_id == person_id) | (Child.person_id == "")
    if nhs_number:
        condition &= (Child.nhs_number == nhs_number) | (Child.nhs_number == "")
    child = Child.select().where(condition).order_by(Child.id).first()
    if child is None:
        child = Child.create(name=name.strip(), normalised_name=normalised, date_of_birth=date_of_birth,
                             person_id=person_id, nhs_number=nhs_number, unborn=unborn, created_at=now)
        Child.update(identity=child.id).where(Child.id == child.id).execute()
        return Child.get_by_id(child.id)
    changes = {k: v for k, v in (("person_id", person_id), ("nhs_number", nhs_number)) if v and not getattr(child, k)}
    if changes:
        Child.update(**changes).where(Child.id == child.id).execute()
        child = Child.get_by_id(child.id)
    return child
