"""How the practice checks read free text: a small tokenizer and grammar, no library.

Plain functions of text, no I/O. The checks read what a practitioner wrote the
way a team manager would: a field holding only "TBC" is empty; "she will
ensure he stays away" puts controlling the person who harms on the person at
risk; "sign this or the children will be removed" threatens rather than
explains. Each reading is a few token patterns over words (lower case, with
their sentence), not a list of whole phrases, so another phrasing of the same
thing is read the same way. The choice of a hand-written grammar over spaCy's
Matcher, with its figures, is in README ("Checks that read like a practitioner").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SENTENCE = re.compile(r"[.;!?\n•]+(?=\s|$)|\n")


def words(text: str) -> list[str]:
    """Lower-case words; "won't" stays one word, "Mr." loses its dot."""
    text = (text or "").lower().replace("\u2019", "'").replace("`", "'")
    return _WORD.findall(text)


def sentences(text: str) -> list[list[str]]:
    return [w for w in (words(part) for part in _SENTENCE.split(text or "")) if w]


def _has(seq: list[str], phrase: tuple[str, ...], start: int = 0, end: int | None = None) -> int:
    """Index of the phrase (a tuple of words) in seq[start:end], or -1."""
    end = len(seq) if end is None else min(end, len(seq))
    n = len(phrase)
    if n == 0:
        return start if start <= end else -1
    # Jump between the places the phrase's first word appears (list.index runs in C): the checks read
    # every field of thousands of records at an import, against a hundred phrases.
    last = end - n + 1  # one past the last place the phrase could start
    if last <= start:
        return -1  # (a negative bound would count from the end in list.index)
    i = start
    while True:
        try:
            i = seq.index(phrase[0], i, last)
        except ValueError:
            return -1
        if n == 1 or tuple(seq[i:i + n]) == phrase:
            return i
        i += 1


def _any(seq: list[str], phrases, start: int = 0, end: int | None = None) -> int:
    """The first index at which one of the phrases begins in seq[start:end], or -1."""
    present = set(seq[start:end])
    found = [i for i in (_has(seq, p, start, end) for p in phrases if p[0] in present) if i >= 0]
    return min(found) if found else -1


def _p(*texts: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(t.split()) for t in texts)


# --- 1. Empty is empty --------------------------------------------------------

STOPWORDS = frozenset(
    "a an the will be is are was to of and or in on at for this that it its we our they their there here "
    "as by with from if then so also all any plan".split())
REFERENCES = _p("see", "please see", "refer to", "as per", "as above", "see above", "see below", "see attached",
                "attached", "in the plan", "on file", "on the file")
DANGLING = frozenset("be is are will ensure include includes the a an to and of with that for by until "
                     "appropriate suitable necessary adequate relevant".split())


def placeholder_forms(forms: list[str]) -> list[tuple[str, ...]]:
    return [tuple(words(f)) for f in forms if words(f)]


@functools.lru_cache(maxsize=8)  # the same setting for every field of every record (issue 24)
def _longest_first(forms: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple(sorted(placeholder_forms(list(forms)), key=len, reverse=True))


def is_empty(text: str, forms: list[str]) -> bool:
    """Whether a required field says nothing: blank, punctuation, a placeholder or a reference elsewhere.

    The rule is by length and content, not an exact match: the placeholder
    forms are taken out as words, and what is left must hold a content word
    (not "the", "will", "be"...). An unfinished sentence ending in "…" with at
    most three content words ("The Contingency Plan will be …..") is empty; so
    is a short reference elsewhere ("see attached plan", "as per CP plan").
    """
    text = (text or "").strip()
    tokens = words(text)
    if not tokens:
        return True
    rest = list(tokens)
    for pattern in _longest_first(tuple(forms)):
        while (i := _has(rest, pattern)) >= 0:
            del rest[i:i + len(pattern)]
    content = [w for w in rest if w not in STOPWORDS]
    if not content or (len(rest) < len(tokens) and len(content) <= 2):
        return True  # a placeholder with a word or two beside it: "TBC at the review"
    unfinished = bool(re.search(r"(…|\.\.)[.…\s]*$", text))
    if unfinished and (len(content) <= 3 or tokens[-1] in DANGLING):
        return True
    if _any(tokens, REFERENCES, 0, 1) == 0 or _any(tokens, REFERENCES[1:], 0, 2) >= 0:
        return len(content) <= 4
    return False


# --- 2. Who an action is on, and what it asks (domestic abuse, R8) -------------

FEMALE = frozenset("ms mrs miss mother mum mummy mom grandmother grandma nan aunt auntie stepmother she her "
                   "woman wife girlfriend".split())
MALE = frozenset("mr father dad daddy grandfather grandad uncle stepfather he him his man husband "
                 "boyfriend".split())
HARMER_WORDS = _p("partner", "ex partner", "expartner", "ex", "boyfriend", "husband", "ex husband", "perpetrator",
                  "the person who harms", "person who harms", "abuser", "alleged perpetrator")
OBJECT_PRONOUNS = {"he": "male", "him": "male", "she": "female", "her": "female"}

# What an action asks of its subject about someone else (the object).
KEEP_AWAY = _p("stays away", "stay away", "keeps away", "keep away", "keep away from", "leaves", "leave",
               "does not come", "doesn't come", "do not come", "not come", "does not visit", "not visit",
               "does not enter", "not enter", "does not stay", "not stay", "is not in", "isn't in", "is not at",
               "has no contact", "have no contact", "does not have contact", "doesn't have contact",
               "does not contact", "not contact", "does not see", "is not allowed", "isn't allowed")
CONTROL_VERBS = _p("ensure", "ensures", "make sure", "makes sure", "see that", "check that")
PREVENT_VERBS = _p("keep", "keeps", "stop", "stops", "prevent", "prevents", "turn away", "send away", "ask",
                   "tell", "not let", "won't let", "wont let", "not allow", "won't allow", "not permit",
                   "never let", "never allow", "not have", "won't have", "not invite", "not answer the door to",
                   "refuse", "lock out", "not open the door to", "not have contact with", "no contact with",
                   "not see", "not meet", "not speak to", "end contact with", "end the relationship with",
                   "separate from", "leave")
REPORT_VERBS = _p("call", "phone", "ring", "telephone", "contact", "tell", "inform", "report", "alert", "dial")
REPORT_TO = _p("police", "999", "social worker", "the social worker", "front door", "children's social care",
               "social care", "duty", "101")
ARRIVAL = _p("turns up", "turn up", "comes", "come", "arrives", "arrive", "visits", "visit", "contacts",
             "contact", "is seen", "shows up", "appears", "calls", "rings", "texts", "messages", "breaks",
             "breaches", "returns", "tries", "attempts", "gets in touch")
PROFESSIONAL_SUBJECT = _p("social worker", "police", "the police", "idva", "marac", "school", "health visitor",
                          "family support worker", "support worker", "team manager", "outreach", "probation",
                          "the council", "children's social care", "professionals", "practitioner", "officer")
REFERRAL = _p("idva", "marac", "independent domestic violence adviser", "independent domestic violence advisor",
              "domestic abuse service", "domestic abuse services", "refuge", "women's aid", "freedom programme",
              "multi agency risk assessment conference")


@dataclass(frozen=True)
class People:
    """Whom the record names in a domestic abuse concern, as words."""

    at_risk: tuple[str, ...] = ()
    harms: tuple[str, ...] = ()
    at_risk_sex: str = ""
    harms_sex: str = ""
    harms_roles: tuple[tuple[str, ...], ...] = ()  # a party's role words for the person who harms ("father")
    at_risk_roles: tuple[tuple[str, ...], ...] = ()


def sex_of(name: str, role: str = "") -> str:
    found = [w for w in words(name) + words(role) if w in FEMALE or w in MALE]
    if not found:
        return ""
    return "female" if found[0] in FEMALE else "male"


def people(at_risk: str, harms: str, parties=()) -> People:
    """The two people from the record's fields, their sex from titles and the parties' roles."""
    def roles_of(name: str) -> tuple[tuple[str, ...], ...]:
        mine = [p for p in parties if name and _names(words(p.name), tuple(words(name)))]
        return tuple(tuple(words(p.role)) for p in mine if words(p.role))

    harm_roles, risk_roles = roles_of(harms), roles_of(at_risk)
    harm_role_text = " ".join(" ".join(r) for r in harm_roles)
    risk_role_text = " ".join(" ".join(r) for r in risk_roles)
    harms_sex = sex_of(harms, harm_role_text)
    at_risk_sex = sex_of(at_risk, risk_role_text)
    # With one sex known, the other is taken as the other (the usual case; a record says otherwise by name).
    if harms_sex and not at_risk_sex and at_risk:
        at_risk_sex = "female" if harms_sex == "male" else "male"
    if at_risk_sex and not harms_sex:
        harms_sex = "female" if at_risk_sex == "male" else "male"
    if not harms_sex and not at_risk_sex:
        harms_sex, at_risk_sex = "male", "female"  # the pattern case reviews name most; a name overrides it
    return People(tuple(words(at_risk)), tuple(words(harms)), at_risk_sex, harms_sex, harm_roles, risk_roles)


def _names(seq, name: tuple[str, ...]) -> bool:
    """Whether the words name the person: the whole name, or its last word with a title or alone."""
    seq = list(seq)
    if not name:
        return False
    if _has(seq, name) >= 0:
        return True
    surname = name[-1]
    first = name[0] if name[0] not in ("mr", "mrs", "ms", "miss", "dr") else ""
    if first and first in seq and len(first) > 2:
        return True
    for i, w in enumerate(seq):
        if w == surname and i > 0 and seq[i - 1] in ("mr", "mrs", "ms", "miss", "dr") and name[0] == seq[i - 1]:
            return True
    return False


def role_of(seq: list[str], who: People) -> str:
    """"harms", "at_risk", "professional", "family" or "" for the person these words name."""
    if not seq:
        return ""
    if _names(seq, who.harms) or any(r and _has(seq, r) >= 0 for r in who.harms_roles) \
            or _any(seq, HARMER_WORDS) >= 0:
        return "harms"
    if _names(seq, who.at_risk) or any(r and _has(seq, r) >= 0 for r in who.at_risk_roles):
        return "at_risk"
    if _any(seq, PROFESSIONAL_SUBJECT) >= 0:
        return "professional"
    head = seq[0]
    if head in OBJECT_PRONOUNS:
        return "harms" if OBJECT_PRONOUNS[head] == who.harms_sex else "at_risk"
    sexes = {("female" if w in FEMALE else "male") for w in seq if w in FEMALE or w in MALE}
    if len(sexes) == 1:
        return "harms" if sexes == {who.harms_sex} else "at_risk"
    return "family" if sexes else ""


_MODALS = frozenset("will must should shall agrees agree can would is are".split())


def subject(sentence: list[str]) -> list[str]:
    """The words before the first modal ("Ms Murphy will ..." -> ["ms", "murphy"])."""
    for i, w in enumerate(sentence):
        if w in _MODALS or w in ("won't", "wont", "mustn't", "shouldn't"):
            return sentence[:i]
    return []


def _refers_to_harmer(seq: list[str], who: People) -> bool:
    """The words after a verb name the person who harms: by name, role, "partner", or a pronoun of their sex."""
    window = seq[:6]
    if _names(window, who.harms) or any(r and _has(window, r) >= 0 for r in who.harms_roles):
        return True
    if _any(window, HARMER_WORDS) >= 0:
        return True
    for w in window[:3]:
        if w in OBJECT_PRONOUNS:
            return OBJECT_PRONOUNS[w] == who.harms_sex
        if w in ("anyone", "any", "visitors", "nobody"):
            return False
    sexes = [w for w in window[:3] if w in MALE or w in FEMALE]
    return bool(sexes) and ("female" if sexes[0] in FEMALE else "male") == who.harms_sex and \
        not _names(window[:3], who.at_risk)


def asks_to_control(what: str, who: People) -> bool:
    """Whether the action asks its subject to keep the person who harms away, prevent their contact or
    report them: "will ensure he stays away", "will not let Mr Murphy in", "will phone the police if he
    turns up"."""
    for sentence in sentences(what):
        # "ensure/make sure <harmer> stays away | does not come | has no contact"
        i = _any(sentence, CONTROL_VERBS)
        while i >= 0:
            rest = sentence[i + 1:]
            rest = rest[1:] if rest and rest[0] in ("that",) else rest
            if rest and rest[0] == "sure":
                rest = rest[1:]
            if _refers_to_harmer(rest, who) and _any(rest, KEEP_AWAY, 0, 8) >= 0:
                return True
            i = _any(sentence, CONTROL_VERBS, i + 1)
        # "keep / stop / not let / not allow <harmer> ..." (the object follows the verb)
        for verb in PREVENT_VERBS:
            j = _has(sentence, verb)
            while j >= 0:
                after = sentence[j + len(verb):]
                after = after[1:] if after and after[0] in ("contact", "any") and verb[-1] in ("allow", "let") \
                    else after
                if after and after[0] in ("with", "to", "from"):
                    after = after[1:]
                if _refers_to_harmer(after, who):
                    return True
                j = _has(sentence, verb, j + 1)
        # "agrees not to let / never to allow <harmer> ...": a negation shortly before the verb.
        for j, w in enumerate(sentence):
            if w in ("let", "allow", "permit", "invite") and any(
                    n in NEGATIONS or n in ("won't", "wont", "mustn't", "shouldn't") for n in sentence[max(0, j - 3):j]):
                if _refers_to_harmer(sentence[j + 1:], who):
                    return True
        # "not allow contact", "no contact" with nobody named: contact is the harmer's, in this concern.
        if _any(sentence, _p("not allow contact", "no contact", "not have contact", "stop contact",
                             "prevent contact", "not allow any contact")) >= 0 and subject(sentence) \
                and role_of(subject(sentence), who) != "harms":
            return True
        # "call / phone the police if <harmer> turns up"
        k = _any(sentence, REPORT_VERBS)
        if k >= 0 and _any(sentence, REPORT_TO, k, k + 5) >= 0:
            cond = _any(sentence, _p("if", "when", "should", "whenever"), k)
            if cond >= 0 and _refers_to_harmer(sentence[cond + 1:], who) \
                    and _any(sentence, ARRIVAL, cond + 1, cond + 8) >= 0:
                return True
        r = _any(sentence, _p("report"))
        if r >= 0 and _refers_to_harmer(sentence[r + 1:], who):
            return True
    return False


def actor(what: str, who_field: str, who: People, side: str | None) -> str:
    """Whom an action is on: from "who is responsible", else the subject of its first sentence."""
    if side == "professional":
        return "professional"
    role = role_of(words(who_field), who)
    if role:
        return role
    if side == "family":
        return "family"
    first = sentences(what)[:1]
    return role_of(subject(first[0]), who) if first else ""


def is_referral(what: str) -> bool:
    """An action that makes or offers an IDVA or MARAC referral, or a domestic abuse service."""
    return _any(words(what), REFERRAL) >= 0


ABUSE_WORDS = _p("domestic abuse", "domestic violence", "coercive control", "coercive and controlling",
                 "controlling behaviour", "abusive relationship", "violent relationship", "marac", "idva",
                 "non molestation", "dvpo", "dvpn", "refuge", "women's aid", "person who harms", "perpetrator",
                 "hit her", "hit him", "assaulted her", "assaulted him", "violent towards", "violence at home",
                 "clare's law", "abuse from", "abused by", "abusive towards")
NEGATIONS = frozenset("no not never without none nor".split())


def _affirmed(text: str, phrases, window: int = 3, denials: frozenset[str] | None = None) -> bool:
    """Whether some sentence of the text holds one of the phrases with none of the denying words
    (NEGATIONS unless given) among the `window` words before it."""
    denials = NEGATIONS if denials is None else denials
    for sentence in sentences(text):
        i = _any(sentence, phrases)
        if i >= 0 and not any(w in denials for w in sentence[max(0, i - window):i]):
            return True
    return False


def says_domestic_abuse(text: str) -> bool:
    """Whether the text says there is domestic abuse (not "no concerns about domestic abuse")."""
    return _affirmed(text, ABUSE_WORDS, window=4)


# --- 3. Coercion and a closing case (R8) --------------------------------------

REMOVAL = _p("removed", "remove", "taken into care", "take the children", "take them", "take him", "take her",
             "taken away", "take away", "go into care", "put into care", "placed in care", "lose", "never see",
             "taken off you", "take your", "take ella", "court will take")
SIGNING = _p("sign", "signing", "signed", "agree to this", "accept this", "do as", "do what")
SOFTENERS = frozenset("may might could can consider considered possibly".split())
CERTAIN = frozenset("will shall must going".split())


def threatens(text: str) -> str:
    """The sentence of consequences that threatens rather than explains, or "".

    A threat makes removal the price of not signing ("sign this or the
    children will be removed"), or states it as certain ("will be removed",
    "you will lose your children") rather than as what may follow a process
    ("may ask the court"). "or else" is a threat whatever follows.
    """
    for raw, sentence in zip(_SENTENCE.split(text or ""), sentences(text), strict=False):
        r = _any(sentence, REMOVAL)
        if _any(sentence, _p("or else")) >= 0:
            return raw.strip()
        if r < 0:
            continue
        before = sentence[:r]
        signing = _any(sentence, SIGNING)
        if signing >= 0 and (signing < r):
            return raw.strip()
        if any(w in SOFTENERS for w in before[-4:]) or any(w in SOFTENERS for w in before):
            continue
        if any(w in CERTAIN for w in before) or sentence[r] == "lose":
            return raw.strip()
    return ""


CLOSING = _p("case is closing", "case will close", "case will be closed", "case is being closed",
             "case is to close", "case is to be closed", "closing the case", "close the case", "case closure",
             "service is closing", "service will close", "service is ending", "service will end",
             "will no longer be involved", "ending our involvement", "end our involvement", "step down",
             "stepping down", "stepped down", "closing to children's social care", "being closed")


def says_closing(text: str) -> bool:
    """Whether the text says the social work service is closing ("we are closing the case next week"),
    not "until the case closes" or "the case is not closing"."""
    return _affirmed(text, CLOSING, denials=NEGATIONS | {"until", "before"})


# --- 4. A genuine agreement (R7) ----------------------------------------------

CHILD_WORDS = frozenset("son daughter child children kid kids boy girl eldest youngest stepson stepdaughter".split())


def child_interprets(text: str, child_names: list[str]) -> bool:
    """Whether the interpreter recorded is a child: one of the record's children, a son or daughter,
    or someone of an age under 18 ("her 12-year-old")."""
    seq = words(text)
    firsts = {words(n)[0] for n in child_names if words(n)}
    for i, w in enumerate(seq):
        following = seq[i + 1:i + 3]
        if w in firsts or w in CHILD_WORDS:
            if following[:2] != ["in", "law"]:
                return True
        if w.isdigit() and int(w) < 18 and (following[:1] in (["year"], ["years"], ["yr"]) or (i and seq[i - 1] == "aged")):
            return True
    return False


NEED_WORDS = _p("learning difficulty", "learning difficulties", "learning disability", "learning disabilities",
                "cannot read", "can't read", "cannot write", "unable to read", "does not read", "doesn't read",
                "struggles to read", "struggles with reading", "struggles with literacy", "difficulty reading",
                "difficulties reading", "limited literacy", "poor literacy", "literacy needs", "literacy difficulties",
                "dyslexia", "dyslexic", "reads little", "reading difficulties", "low literacy")
MET_WORDS = _p("advocate", "advocacy", "easy read", "read to", "read aloud", "read it", "read through",
               "went through", "go through", "pictures", "pictorial", "audio", "recording", "large print",
               "adapted", "simplified", "symbols", "explained")


def communication_need(text: str) -> bool:
    return _affirmed(text, NEED_WORDS)


def need_met(text: str) -> bool:
    return _affirmed(text, MET_WORDS)
