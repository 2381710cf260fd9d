"""Who an action belongs to, read from who is responsible (R7, R8).

Plain functions of text and rows, no I/O. An action is the family's or a
professional's because of the person or agency named as responsible: a party
on the record (whose side was said), someone on the distribution list, the
social worker, or a professional's title. A name the record does not know
gives no side at all, so the balance check asks rather than assumes.
"""

from __future__ import annotations

import re

from tracker.records.identity import normalise_name

PROFESSIONAL_WORDS = (
    "social worker", "team manager", "health visitor", "health visiting", "midwife", "midwifery", "school",
    "nursery", "teacher", "head teacher", "safeguarding lead", "family support", "support worker", "supervisor",
    "gp", "doctor", "nurse", "police", "officer", "housing", "council", "children s social care", "social care",
    "children s services", "family centre", "contact team", "education", "keyworker", "key worker", "practitioner",
    "therapist", "camhs", "probation", "idva", "outreach", "professional", "professionals", "agency", "agencies",
)
FAMILY_WORDS = (
    "mother", "father", "mum", "mummy", "dad", "daddy", "parent", "parents", "carer", "carers", "grandmother",
    "grandfather", "grandparent", "grandparents", "grandma", "grandad", "nan", "aunt", "auntie", "uncle",
    "stepfather", "stepmother", "step father", "step mother", "partner", "brother", "sister", "son", "daughter",
    "family", "child", "young person", "mr", "mrs", "ms", "miss",
)


def _has_word(text: str, words: tuple[str, ...]) -> bool:
    return any(re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text) for word in words)


def _names(who: str, name: str) -> bool:
    """Whether `who` names `name` (both normalised): the same, or one inside the other as words."""
    if not who or not name:
        return False
    return who == name or f" {name} " in f" {who} " or (len(who) > 3 and f" {who} " in f" {name} ")


def side_of(who: str, parties, recipients, social_worker_name: str = "") -> str | None:
    """"family", "professional", or None when the record does not say who this is."""
    text = normalise_name(who)
    if not text:
        return None
    for party in parties:
        if _names(text, normalise_name(party.name)):
            if party.side in ("family", "professional"):
                return party.side
            role = normalise_name(party.role)
            if _has_word(role, PROFESSIONAL_WORDS):
                return "professional"
            if _has_word(role, FAMILY_WORDS):
                return "family"
    for recipient in recipients:
        for known in (recipient.name, recipient.agency_name, recipient.role):
            if _names(text, normalise_name(known)):
                return "professional"
    if _names(text, normalise_name(social_worker_name)):
        return "professional"
    if _has_word(text, PROFESSIONAL_WORDS):
        return "professional"
    if _has_word(text, FAMILY_WORDS):
        return "family"
    return None


# An action that puts keeping the person who harms away on the person at risk (R8).
EXCLUSION = re.compile(
    r"\b(?:will\s+not|won'?t|wont|must\s+not|should\s+not|shall\s+not|not\s+to|never|do\s+not|don'?t|does\s+not|"
    r"to\s+not|agrees?\s+not\s+to)\s+(?:let|allow|permit|have|invite|see|meet|answer\s+the\s+door\s+to)\b"
    r"|\b(?:keep|keeps|keeping|stop|stops|prevent|prevents)\b.{0,40}?\b(?:away|out|from\s+(?:coming|visiting|"
    r"seeing|the\s+house|the\s+home|the\s+children|contact))\b"
    r"|\bnot\s+(?:to\s+)?(?:allow|let|permit)\b.{0,30}?\b(?:contact|in|into|near|visit|stay|see)\b"
    r"|\b(?:no|not\s+allow|not\s+have)\s+contact\b"
    r"|\b(?:call|ring|phone)\s+the\s+police\s+if\s+(?:he|she|they)\s+(?:comes|come|turns?\s+up)\b",
    re.IGNORECASE,
)


def puts_exclusion_on(what: str) -> bool:
    return bool(EXCLUSION.search(what or ""))


names = _names  # whether one normalised name names another (tracker/family/links.py reads it)
