"""Quality checks before endorsement (R6, R7, R8a), in the guidance's own words.

`checks(agreement, now)` returns every check with whether it passes, so the
record page can show a checklist; endorsement is blocked while one fails
unless the manager records a reason.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

from tracker import clock, rules, settings
from tracker.models import Agreement, children_of, live_actions, live_parties, live_recipients, next_review
from tracker.records import fields as registry
from tracker.records import reading, responsibility, warnings
from tracker.records.identity import normalise_name


@dataclass(frozen=True)
class Check:
    key: str
    title: str
    guidance: str
    passed: bool
    detail: str = ""


@functools.lru_cache(maxsize=1024)  # the record page checks every field against the whole list
def _jargon_pattern(word: str) -> re.Pattern:
    """A word from the jargon list as a case-insensitive pattern that catches its variants.

    "S47" also matches "s47", "S.47", "s 47" and "section 47"; an acronym also
    matches its dotted form ("C.P."); the words of a phrase may be split by any
    spaces ("core  group").
    """
    tokens = re.findall(r"[A-Za-z]+|[0-9]+", word)
    parts = []
    for index, token in enumerate(tokens):
        following_digits = index + 1 < len(tokens) and tokens[index + 1].isdigit()
        if token.lower() == "s" and following_digits:
            parts.append(r"(?:s|sec|section)")
        elif token.isalpha() and token.isupper() and len(token) <= 6:
            parts.append(r"\.?".join(re.escape(ch) for ch in token))
        else:
            parts.append(re.escape(token))
    body = r"[\s.\-]*".join(parts) if tokens else re.escape(word)
    return re.compile(rf"(?<![A-Za-z0-9]){body}\.?(?![A-Za-z0-9])", re.IGNORECASE)


# Plain words that look like acronyms on the jargon list: "sausage and mash", "Lac Street". Written in
# capitals ("MASH") they are still the acronym.
PLAIN_WORDS = frozenset(("mash", "lac", "cla", "cin", "iro", "lado", "edt", "taf", "plo", "hv"))


_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=1024)
def _jargon_parts(word: str) -> tuple[str, ...]:
    """The runs every match of _jargon_pattern(word) holds, lower case ("s" before digits may be "section")."""
    tokens = re.findall(r"[A-Za-z]+|[0-9]+", word)
    return tuple(t.lower() for i, t in enumerate(tokens)
                 if not (t.lower() == "s" and i + 1 < len(tokens) and tokens[i + 1].isdigit()))


def jargon_in(text: str, words: list[str]) -> list[str]:
    """The words of the list found in the text as words, whatever their case or variant."""
    found = []
    if not text:
        return found
    # What a match must hold, whatever its separators: each of the word's letter and
    # digit runs, in the text's letters and digits (issue 24: the record page reads
    # every field against the whole list; a regular expression runs only where it may match).
    squashed = _NOT_ALNUM.sub("", text.lower())
    for word in words:
        if not word.strip() or not all(part in squashed for part in _jargon_parts(word)):
            continue
        for match in _jargon_pattern(word).finditer(text):
            typed = match.group(0)
            if typed.lower() in PLAIN_WORDS and not typed.isupper():
                continue  # an ordinary word, not the acronym
            found.append(word)
            break
    return found


def _empty(text: str) -> bool:
    """A required field that says nothing: blank, a placeholder, punctuation or a reference elsewhere."""
    return reading.is_empty(text, settings.get("placeholders"))


# Every field printed on the family's copy, checked for plain language (R7): the field
# registry's "jargon" surface decides, for the record's own fields and each row's columns.
def _where(label: str) -> str:
    return label[0].lower() + label[1:]


FAMILY_COPY_FIELDS = tuple((name, _where(registry.label(name))) for name in registry.JARGON)
FAMILY_COPY_ROWS = tuple((f.name, f.noun.lower(), registry.names(c for c in f.columns if "jargon" in c.shows))
                         for f in registry.ROW_LISTS if any("jargon" in c.shows for c in f.columns))


def family_reads(agreement: Agreement, rows: dict[str, list]) -> list[tuple[str, str]]:
    """(where, text) for everything the family reads on their copy."""
    fields = [(label, getattr(agreement, name, "") or "") for name, label in FAMILY_COPY_FIELDS]
    for kind, label, names in FAMILY_COPY_ROWS:
        for i, row in enumerate(rows.get(kind, [])):
            fields.append((f"{label} {i + 1}", " ".join(getattr(row, n, "") or "" for n in names)))
    return fields


# Words that make an action not Specific or not Time-limited (R7, SMART).
VAGUE_TIMESCALES = ("ongoing", "on going", "asap", "a.s.a.p", "as soon as possible", "when possible",
                    "where possible", "as and when", "as needed", "when needed", "tbc", "to be confirmed",
                    "at some point", "in due course", "soon")
VAGUE_COMMITMENTS = ("try to", "try and", "will try", "attempt to", "engage with", "engage in", "engage well",
                     "be a better parent", "better parent", "do their best", "do his best", "do her best",
                     "work on", "be more", "where appropriate")


# "engage in play" is specific: these objects make "engage with / in" a thing one can see done.
CONCRETE_OBJECTS = ("play", "playing", "games", "activities", "an activity", "conversation", "reading", "stories")


def _vague(text: str, phrases: tuple[str, ...]) -> list[str]:
    text = (text or "").lower()
    found = []
    for p in phrases:
        for match in re.finditer(rf"(?<![a-z0-9]){re.escape(p)}(?![a-z0-9])", text):
            after = text[match.end():].lstrip()
            if p.startswith("engage") and any(re.match(rf"{re.escape(o)}\b", after) for o in CONCRETE_OBJECTS):
                continue
            found.append(p)
            break
    return found


def _named(text: str, name: str) -> bool:
    who, name = normalise_name(text), normalise_name(name)
    return bool(who and name) and (who == name or f" {name} " in f" {who} " or f" {who} " in f" {name} ")


def _numbers(items: list[str]) -> str:
    return ", ".join(items)


def checks(agreement: Agreement, now: dt.datetime) -> list[Check]:
    actions = live_actions(agreement)
    children = children_of(agreement)
    recipients = live_recipients(agreement)
    parties = live_parties(agreement)
    worker_name = agreement.social_worker.name if agreement.social_worker_id else ""
    sides = [responsibility.side_of(a.who, parties, recipients, worker_name) for a in actions]
    result: list[Check] = []

    missing = [str(i + 1) for i, a in enumerate(actions)
               if _empty(a.who) or _empty(a.what) or not (not _empty(a.timescale) or a.due_on)]
    if agreement.kind == "undertaking":
        missing = [str(i + 1) for i, a in enumerate(actions) if _empty(a.who) or _empty(a.what)]
    result.append(Check(
        "actions_who_when",
        "Every action says who and by when",
        "Clarify timescales for specific work or planned actions.",
        bool(actions) and not missing,
        f"Action {', '.join(missing)} needs who is responsible and a timescale" if missing else ("No actions yet" if not actions else ""),
    ))

    vague = []
    for i, a in enumerate(actions):
        words = _vague(a.what, VAGUE_COMMITMENTS)
        if agreement.kind == "partnership" and not a.due_on:
            words += _vague(a.timescale, VAGUE_TIMESCALES)
        if words:
            vague.append(f"action {i + 1} ({', '.join(f'“{w}”' for w in words)})")
    result.append(Check(
        "smart_actions",
        "Every action is specific and time-limited",
        "Specific, Measurable, Achievable, Realistic and Time-limited.",
        not vague,
        ("Say exactly what will be done and by when: " + "; ".join(vague)) if vague else "",
    ))

    written = {"the purpose": agreement.purpose,
               ("what happens if things go wrong" if agreement.kind == "partnership"
                else "what happens if the undertaking is breached"): agreement.if_things_go_wrong}
    if agreement.kind == "partnership":
        written["the contingency plan"] = agreement.contingency
    blank = [name for name, text in written.items() if _empty(text)]
    result.append(Check(
        "written",
        "Purpose, consequences and contingency are written",
        "Establish clarity about the consequences of success and failure of planned actions; clarify what any contingency plan(s) is/are.",
        not blank,
        ("Write " + (blank[0] if len(blank) == 1 else ", ".join(blank[:-1]) + ", and " + blank[-1])) if blank else "",
    ))

    if agreement.kind == "partnership":
        review = next_review(agreement)
        months = settings.get("review_policy_months")
        start = agreement.completed_on or clock.london_date(now)
        within = review is not None and review.scheduled_at.date() <= rules.add_months(start, months)
        result.append(Check(
            "review_in_policy",
            f"The review is within {months} months",
            "Explain how long the agreement should be adhered to and when it will be reviewed.",
            within,
            "" if within else ("No review is set" if review is None else f"The review is more than {months} months after the agreement was completed"),
        ))
        lacking = [name for name, text in (("where the review will be", review.venue if review else ""),
                                           ("how long the agreement lasts", agreement.duration)) if _empty(text)]
        result.append(Check(
            "venue_and_duration",
            "The review's venue and the agreement's duration are recorded",
            "The time, date and venue for the review of the agreement should be specified within the agreement.",
            not lacking,
            ("Write " + " and ".join(lacking)) if lacking else "",
        ))
        present = {side for side in sides if side}
        unknown = [f"action {i + 1} (“{a.who}”)" for i, (a, side) in enumerate(zip(actions, sides, strict=True))
                   if a.who.strip() and side is None]
        balanced = {"family", "professional"} <= present
        detail = ""
        if not balanced:
            lacking = "what the professionals will do" if "professional" not in present else "what the family will do"
            detail = f"Add {lacking}, naming who is responsible"
            if unknown:
                detail += ". Not a party, a professional or an agency on this record: " + "; ".join(unknown)
        result.append(Check(
            "balanced",
            "Both family and professional commitments",
            "Balanced - clarify everyone's full undertakings.",
            balanced,
            detail,
        ))
        result.append(Check(
            "child_views",
            "The child's views are recorded",
            "A partnership agreement should always include the parents/carers and child's views.",
            not _empty(agreement.child_views),
            "" if not _empty(agreement.child_views) else "Record the child's views, or why they could not be given",
        ))
        result.append(Check(
            "family_views",
            "The parents' or carers' views are recorded",
            "A partnership agreement should always include the parents/carers and child's views.",
            not _empty(agreement.family_views),
            "" if not _empty(agreement.family_views) else "Record the parents' or carers' views",
        ))

    # R6: the kind comes from the agency directory when the entry was picked
    # from it, so a free-typed kind cannot stand in for the service.
    def kind_of(recipient) -> str:
        return recipient.agency.kind if recipient.agency_id else recipient.agency_kind

    today = clock.london_date(now)
    unborn = [c for c in children if c.unborn]
    under_five = [c for c in children if not c.unborn and rules.age_on(c.date_of_birth, today) < 5]
    # Or by the role typed: "Health visitor" is the service, whatever kind the entry was given.
    has_hv = any(kind_of(r) == "health_visiting" or re.search(r"\bhealth\s+visit", (r.role or "").lower())
                 for r in recipients)
    has_midwife = has_hv or any(kind_of(r) == "midwifery" or "midwife" in (r.role or "").lower() for r in recipients)
    needed = (not under_five or has_hv) and (not unborn or has_midwife)
    if needed:
        detail = ""
    elif under_five and not has_hv:
        detail = "Add the health visiting service to the distribution list"
    else:
        detail = "An unborn child is recorded: add the midwife or the health visiting service to the distribution list"
    result.append(Check(
        "health_visiting",
        "Health visiting has a copy when a child is under 5 (a midwife, for an unborn baby)",
        "The health visiting service should always be provided with a copy of any agreement where there is a child under school age.",
        needed,
        detail,
    ))

    # Everything the family reads on their copy (R7).
    words = settings.get("jargon")
    fields = family_reads(agreement, {"actions": actions, "parties": parties, "recipients": recipients})
    found: dict[str, list[str]] = {}
    for where, text in fields:
        for word in jargon_in(text or "", words):
            found.setdefault(word, []).append(where)
    result.append(Check(
        "plain_language",
        "Plain language, without jargon or acronyms",
        "Written in clear language without jargon or acronyms.",
        not found,
        ("Explain or replace: " + "; ".join(f"{w} (in {', '.join(places)})" for w, places in found.items()))
        if found else "",
    ))

    if agreement.kind == "undertaking" and settings.get("legal_advice_required"):
        recorded = agreement.legal_advice in ("yes", "no")
        result.append(Check(
            "legal_advice",
            "Whether legal advice was taken is recorded",
            "Written undertakings can be a valuable means of obtaining evidence that a person has agreed to do or "
            "not do something.",
            recorded,
            "" if recorded else "Record whether legal advice was taken: yes or no",
        ))

    result.extend(communication_checks(agreement, children))

    said = not agreement.domestic_abuse_concern and says_domestic_abuse(agreement, actions)
    if agreement.domestic_abuse_concern or said:
        if said:
            result.append(Check(
                "da_confirm",
                "Domestic abuse said in the record is confirmed",
                DA_GUIDANCE,
                False,
                "The record's text speaks of domestic abuse but the box is not ticked: tick \u201cThere is a "
                "domestic abuse concern\u201d and name the person at risk and the person who harms, or give your "
                "reason",
            ))
        result.extend(domestic_abuse_checks(agreement, actions, sides, parties))

    # The bad reasons that stop endorsement short of a reason (R8), from the warning signs.
    if agreement.status != "ended":
        for sign in warnings.signs_of(agreement, now):
            # The domestic abuse signs have their own checks above.
            if sign.blocking and not sign.key.startswith("domestic_abuse"):
                result.append(Check(f"sign_{sign.key}", sign.title, sign.guidance, False, sign.detail))

    if not agreement.social_worker_id:
        # A closure undertaking carries the agreement's actions, and with them promises
        # such as "the social worker will visit" that nobody is there to keep.
        promised = [str(i + 1) for i, a in enumerate(actions) if SOCIAL_WORKER.search(f"{a.what} {a.who}")]
        result.append(Check(
            "social_worker_named",
            "Every action someone is named to do",
            "Clarify who is responsible for specific work or planned actions.",
            not promised,
            f"Action {', '.join(promised)} names a social worker, and no social worker is named: "
            "say who does it instead" if promised else "",
        ))

    # Before endorsement, "now" stands for the endorsement about to be made.
    endorsed_day = clock.london_date(agreement.endorsed_at or now)
    late = agreement.issued_on is not None and endorsed_day > agreement.issued_on
    result.append(Check(
        "endorsed_before_issue",
        "Endorsed before the family received it",
        "The use of such agreements should always be endorsed by a Team Manager.",
        not late,
        "The endorsement is dated after the family received their copy" if late else "",
    ))
    return result


SOCIAL_WORKER = re.compile(r"\bsocial\s+worker\b", re.IGNORECASE)


def failing_checks(agreement: Agreement, now: dt.datetime) -> list[Check]:
    return [c for c in checks(agreement, now) if not c.passed]


DA_GUIDANCE = ("Specific consideration should be given to parents and carers who are in relationships where power "
               "issues may mean agreements cannot be kept to (e.g. where there is domestic abuse).")


def says_domestic_abuse(agreement: Agreement, actions) -> bool:
    """Whether the record's own words speak of domestic abuse, ticked or not."""
    texts = [agreement.purpose, agreement.child_views, agreement.family_views, agreement.if_things_go_wrong,
             agreement.contingency, agreement.marac_idva or "", *(a.what for a in actions)]
    return bool((agreement.person_who_harms or "").strip()) or any(reading.says_domestic_abuse(t) for t in texts)


def exclusion_actions(agreement: Agreement, actions, sides, parties=()) -> list[int]:
    """Numbers of the actions that put controlling the person who harms on the person at risk (R8):
    keeping them away, preventing their contact or reporting them, however phrased."""
    who = reading.people(agreement.person_at_risk, agreement.person_who_harms, parties)
    flagged = []
    for i, (a, side) in enumerate(zip(actions, sides, strict=True)):
        if reading.actor(a.what, a.who, who, side) in ("harms", "professional"):
            continue
        if reading.asks_to_control(a.what, who):
            flagged.append(i + 1)
    return flagged


def domestic_abuse_checks(agreement: Agreement, actions, sides, parties=()) -> list[Check]:
    flagged = exclusion_actions(agreement, actions, sides, parties)
    who = reading.people(agreement.person_at_risk, agreement.person_who_harms, parties)
    on_harmer = [a for a, side in zip(actions, sides, strict=True)
                 if reading.actor(a.what, a.who, who, side) in ("harms", "professional")]
    referred = not _empty(agreement.marac_idva or "") or any(reading.is_referral(a.what) for a in actions)
    excluded = bool(flagged) or agreement.victim_asked_to_exclude_abuser
    return [
        Check(
            "da_person_at_risk",
            "The person at risk is not asked to keep the person who harms away",
            DA_GUIDANCE,
            not excluded,
            (f"Action {', '.join(map(str, flagged))} asks the person at risk to keep the person who harms away. "
             "Put that action on the person who harms, or on the professionals." if flagged else
             "The record says the person at risk is asked to keep the person who harms away") if excluded else "",
        ),
        Check(
            "da_harmer_actions",
            "An action on the person who harms or on the professionals",
            DA_GUIDANCE,
            bool(on_harmer),
            "" if on_harmer else "Add what the person who harms will do, or what the professionals will do to keep "
                                 "the person at risk safe",
        ),
        Check(
            "da_referral",
            "A MARAC or IDVA referral has been considered",
            "Consider a referral to the multi-agency risk assessment conference (MARAC) or an independent domestic "
            "violence adviser (IDVA).",
            referred,
            "" if referred else "Record whether a MARAC or IDVA referral was made, and why",
        ),
    ]


COMMUNICATION_GUIDANCE = ("Consideration should be given to the needs or ability of the parent or carer to fully "
                          "understand what is being asked: a specific learning difficulty, struggling with literacy, "
                          "English as a second language requiring the use of an interpreter.")


def communication_checks(agreement: Agreement, children) -> list[Check]:
    """A genuine, informed agreement (R7): communication needs met, or a reason given; never a child interpreting."""
    problems = []
    language = (agreement.first_language or "").strip()
    if language and language.lower() != "english" and _empty(agreement.interpreter):
        problems.append(f"First language {language}: record the interpreter or translation, or why none is needed")
    if not _empty(agreement.interpreter) and reading.child_interprets(agreement.interpreter,
                                                                       [c.name for c in children]):
        problems.append("A child is recorded as the interpreter: a child must never interpret; book a professional "
                        "interpreter")
    need_text = " \n".join((agreement.literacy or "", agreement.advocacy or "", agreement.family_views or "",
                            agreement.purpose or ""))
    if reading.communication_need(need_text) and not (
            reading.need_met(" \n".join((agreement.literacy or "", agreement.advocacy or "")))):
        problems.append("A learning difficulty or literacy need is recorded: record the advocate or the adapted "
                        "copy (easy read, read through together), or why not")
    return [Check(
        "communication",
        "Communication needs are met",
        COMMUNICATION_GUIDANCE,
        not problems,
        "; ".join(problems),
    )]
