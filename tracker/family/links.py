"""A family party's own link to the version in force (R20): what it is, when it works, and what sends it.

A link is `/f/<token>`: twelve random-looking characters made from the access
row's id and `generation` with the app's secret key, so the address carries no
name and the token is never stored (only its hash, to find the row). The first
visit on each device asks for the party's code (six characters, given in
person or on the paper copy; kept as an argon2 hash); a device that entered it
is remembered by a random cookie (`FamilyDevice`).

A link works while the party is on the record, the record is active, and the
worker has not stopped it. Sending a new link (a new code) raises `generation`,
which stops the old address and every device that entered the old code.

The person who harms: where a domestic-abuse concern is recorded (ticked, or
said in the record's words: `warnings.abuse_concern`), a family party is taken
to be the person who harms when their name matches the record's "person who
harms"; when nobody is named there, every family party is treated so, since the
software cannot tell. Sending such a party a link needs a manager's reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from flask import current_app

from tracker import audit, models, settings
from tracker.models import Agreement, FamilyAccess, FamilyDevice, FamilyRead, FamilyTranslation, Party, User
from tracker.notices import texts
from tracker.notices.notify import enqueue
from tracker.records import responsibility, warnings
from tracker.records.identity import normalise_name

# No 0/O, 1/I/L: a code read aloud or copied from paper is typed right.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
TOKEN_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
TOKEN_LENGTH = 12
DEVICE_COOKIE = "fdev"  # says nothing about whose device it is
DEVICE_DAYS = 180

# The channels a link can go by; the access row keeps the one it went by, so a text
# message (a channel of the one outbox too) is one more entry here and in `send_link`.
CHANNELS = {"email": "By email", "text": "By text message",
            "paper": "On paper: a short address and a code, printed for the party"}

def channels_offered() -> dict[str, str]:
    """The channels the worker may choose now: a text message only where Notify is set up."""
    return {key: words for key, words in CHANNELS.items() if key != "text" or texts.available("family_link")}


STOPPED = {
    "removed": "the party was taken off the record",
    "ended": "the record is no longer active",
    "stopped": "the social worker stopped it",
    "replaced": "a newer link was sent",
}


class Refused(Exception):
    """A link may not be sent; `errors` maps a form field to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


# --- who is a family party, and who harms ---------------------------------------------


def family_parties(agreement: Agreement) -> list[Party]:
    return [p for p in models.live_parties(agreement) if warnings.is_family(p)]


def is_person_who_harms(agreement: Agreement, party: Party) -> bool:
    """Whether a link to this party needs a manager's reason (see the module's words)."""
    if not warnings.abuse_concern(agreement):
        return False
    named = normalise_name(agreement.person_who_harms or "")
    if not named:
        return True
    return responsibility.names(normalise_name(party.name), named)


# --- tokens, codes and devices ----------------------------------------------------------


def _encode(digest: bytes, alphabet: str, length: int) -> str:
    number = int.from_bytes(digest, "big")
    out = []
    for _ in range(length):
        number, index = divmod(number, len(alphabet))
        out.append(alphabet[index])
    return "".join(out)


def token_for(access: FamilyAccess) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"family-link/{access.id}/{access.generation}".encode(), hashlib.sha256).digest()
    return _encode(digest, TOKEN_ALPHABET, TOKEN_LENGTH)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def family_url(access: FamilyAccess) -> str:
    return f"{current_app.config['BASE_URL']}/f/{token_for(access)}"


def find(token: str) -> FamilyAccess | None:
    """The access row a token names, or None for a token that is not (or no longer) one."""
    if not isinstance(token, str) or len(token) != TOKEN_LENGTH or any(c not in TOKEN_ALPHABET for c in token):
        return None
    return FamilyAccess.get_or_none(FamilyAccess.token_hash == _hash(token))


def stop_reason(access: FamilyAccess, agreement: Agreement, party: Party) -> str:
    """Why the link does not work now; "" when it does."""
    if party.removed_at is not None:
        return "removed"
    if agreement.status != "active":
        return "ended"
    if access.stopped_at is not None:
        return access.stop_reason or "stopped"
    return ""


def normalise_code(text: str) -> str:
    return "".join(c for c in (text or "").upper() if c.isalnum())


def code_matches(access: FamilyAccess, typed: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    from tracker.people import accounts

    code = normalise_code(typed)
    if len(code) != CODE_LENGTH or not access.code_hash:
        return False
    try:
        return accounts.hasher.verify(access.code_hash, code)
    except (VerificationError, InvalidHashError):
        return False


def remember_device(access: FamilyAccess, now: dt.datetime) -> str:
    """A new device cookie's value for this link's current generation."""
    secret = secrets.token_urlsafe(32)
    FamilyDevice.create(access=access, generation=access.generation, secret_hash=_hash(secret), created_at=now,
                        last_seen_at=now)
    return secret


def device_known(access: FamilyAccess, secret: str | None, now: dt.datetime) -> bool:
    if not secret:
        return False
    device = FamilyDevice.get_or_none(FamilyDevice.secret_hash == _hash(secret))
    if device is None or device.access_id != access.id or device.generation != access.generation \
            or device.ended_at is not None:
        return False
    if device.last_seen_at < now - dt.timedelta(hours=1):
        FamilyDevice.update(last_seen_at=now).where(FamilyDevice.id == device.id).execute()
    return True


def forget_device(secret: str | None, now: dt.datetime) -> FamilyAccess | None:
    """Exit this page was pressed: this device asks for the code again (the access it was for, if any)."""
    if not secret:
        return None
    device = FamilyDevice.get_or_none(FamilyDevice.secret_hash == _hash(secret))
    if device is None:
        return None
    FamilyDevice.update(ended_at=now).where((FamilyDevice.id == device.id) & FamilyDevice.ended_at.is_null()).execute()
    return FamilyAccess.get_or_none(FamilyAccess.id == device.access_id)


# --- what the worker does -----------------------------------------------------------------


def access_for(party: Party) -> FamilyAccess:
    found = FamilyAccess.get_or_none(FamilyAccess.party == party.id)
    if found is None:
        FamilyAccess.insert(party=party.id, agreement=party.agreement_id).on_conflict_ignore().execute()
        found = FamilyAccess.get(FamilyAccess.party == party.id)
    return found


def _check_email(address: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        raise Refused({"address": "Enter an email address in the correct format, like name@example.com"}) from None


def send_link(agreement: Agreement, party: Party, user: User, now: dt.datetime, *, channel: str, address: str = "",
              harms_reason: str = "", code: str = "") -> tuple[FamilyAccess, str]:
    """Make a new link and code for a family party and send it by `channel`; returns (access, code).

    The code is returned once, to be given in person or printed; only its hash is kept.
    Call inside the caller's transaction.
    """
    errors: dict[str, str] = {}
    if agreement.status != "active":
        errors["channel"] = "A link can be sent once the record is active (endorsed)"
    if party.agreement_id != agreement.id or party.removed_at is not None or not warnings.is_family(party):
        errors["party"] = "Choose a family member who is a party to this record"
    if channel not in CHANNELS:
        errors["channel"] = "Choose how the link goes to them"
    access = access_for(party)
    if access.do_not_send:
        errors["party"] = f"Marked \u201cdo not send a link\u201d: {access.do_not_send}"
    reason = (harms_reason or "").strip()
    harms = is_person_who_harms(agreement, party)
    if harms:
        if not reason:
            errors["harms_reason"] = ("Domestic abuse is recorded and this may be the person who harms: "
                                      "a manager gives a reason to send them a link")
        elif user.role not in ("team_manager", "service_manager"):
            errors["harms_reason"] = "Only a team manager or service manager can give this reason"
    if channel == "email":
        if not (address or "").strip():
            errors["address"] = "Enter the email address to send the link to"
        else:
            try:
                address = _check_email(address.strip())
            except Refused as refused:
                errors.update(refused.errors)
    elif channel == "text":
        try:
            address = texts.mobile_number(address)
            if not texts.available("family_link"):
                raise texts.TextRefused("Text messages are not set up for this service: send the link by email "
                                        "or on paper")
        except texts.TextRefused as refused:
            errors["address"] = str(refused)
    else:
        address = ""
    if errors:
        raise Refused(errors)
    # A given code is for the demo only (tracker/demo.py prints it); otherwise a random one.
    code = normalise_code(code) or "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    from tracker.people import accounts

    generation = access.generation + 1
    access.generation = generation  # token_for reads it
    FamilyAccess.update(
        generation=generation, token_hash=_hash(token_for(access)), code_hash=accounts.hasher.hash(code),
        channel=channel, address=address, issued_at=now, issued_by=user, sent_version=agreement.version,
        unread_check_at=now + dt.timedelta(days=settings.get("family_unread_days")),
        stopped_at=None, stop_reason="", harms_reason=reason if harms else "",
        harms_reason_by=user if harms else None,
    ).where(FamilyAccess.id == access.id).execute()
    access = FamilyAccess.get_by_id(access.id)
    changes = {"family_link": [f"generation {generation - 1}", f"generation {generation}, {channel}"]}
    if harms:
        changes["harms_reason"] = [None, reason]
    audit.record("family_link_sent", user=user, agreement=agreement, entity="party", entity_id=party.id,
                 changes=changes, at=now)
    if channel == "email":
        _email_link(access, agreement, now, changed=[])
    elif channel == "text":
        _text_link(access, agreement, now, changed=[])
    return access, code


def _email_link(access: FamilyAccess, agreement: Agreement, now: dt.datetime, changed: list[str]) -> bool:
    from flask_babel import force_locale

    from tracker.family import language

    with force_locale(language.locale_for(agreement.first_language)):
        return enqueue(f"family-link/{access.id}/g{access.generation}/v{agreement.version}", "family_link",
                       access.address, agreement=agreement, to_label="A family party", now=now,
                       context={"family_url": family_url(access), "changed": _in_words(changed),
                                "new_version": bool(changed) or access.sent_version != agreement.version,
                                # Nothing personal: the template is given no name and no initials.
                                "initials": "", "record_url": ""})


def _text_link(access: FamilyAccess, agreement: Agreement, now: dt.datetime, changed: list[str]) -> bool:
    """The link by text message, in the council's Notify template: the link and, for a new version, what
    changed in the registry's words, as the email says it (R16); no name, no initials (R20)."""
    from flask_babel import force_locale, gettext

    from tracker.family import language

    with force_locale(language.locale_for(agreement.first_language)):
        said = gettext("What changed: %(changed)s.", changed=_in_words(changed)) if changed else ""
    return texts.queue_text(f"family-link/{access.id}/g{access.generation}/v{agreement.version}/text", "family_link",
                            access.address, personalisation={"link": family_url(access), "changed": said},
                            agreement=agreement, to_label="A family party", now=now)


def _in_words(labels: list[str]) -> str:
    """The registry's labels as one phrase in lower case: "the actions and the contingency plan"."""
    words = [label if label[:2].isupper() else label[0].lower() + label[1:] for label in labels]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1] if words else ""


def _worker_or_front_door(agreement: Agreement) -> tuple[str, str]:
    """Whom the family's messages about the record go to: the social worker, else the front door."""
    worker = User.get_or_none(User.id == agreement.social_worker_id) if agreement.social_worker_id else None
    if worker is not None and worker.active:
        return worker.email, f"{worker.name}, social worker"
    contacts = settings.contacts()
    return contacts["front_door_email"], contacts["front_door_term"]


def stop(access: FamilyAccess, agreement: Agreement, user: User, now: dt.datetime) -> None:
    FamilyAccess.update(stopped_at=now, stop_reason="stopped", unread_check_at=None).where(
        FamilyAccess.id == access.id).execute()
    audit.record("family_link_stopped", user=user, agreement=agreement, entity="party", entity_id=access.party_id,
                 changes={"family_link": ["working", "stopped"]}, at=now)


def mark_do_not_send(agreement: Agreement, party: Party, user: User, now: dt.datetime, reason: str) -> None:
    """The worker's "do not send a link", with a reason; stops a link already sent."""
    reason = (reason or "").strip()
    if not reason:
        raise Refused({"reason": "Give the reason not to send this person a link"})
    access = access_for(party)
    FamilyAccess.update(do_not_send=reason, do_not_send_by=user, do_not_send_at=now,
                        stopped_at=access.stopped_at or (now if access.generation else None),
                        stop_reason=access.stop_reason or ("stopped" if access.generation else ""),
                        unread_check_at=None).where(FamilyAccess.id == access.id).execute()
    audit.record("family_link_withheld", user=user, agreement=agreement, entity="party", entity_id=party.id,
                 changes={"do_not_send": [access.do_not_send or None, reason]}, at=now)


def lift_do_not_send(agreement: Agreement, party: Party, user: User, now: dt.datetime) -> None:
    access = access_for(party)
    FamilyAccess.update(do_not_send="", do_not_send_by=None, do_not_send_at=None).where(
        FamilyAccess.id == access.id).execute()
    audit.record("family_link_allowed", user=user, agreement=agreement, entity="party", entity_id=party.id,
                 changes={"do_not_send": [access.do_not_send, None]}, at=now)


def new_version(agreement: Agreement, now: dt.datetime, changed: list[str]) -> int:
    """A new version came into force: each working emailed or texted link is sent again, saying what changed (R16).

    The address stays the same (it always shows the version in force); the email's
    key names the version, so each version is sent once."""
    count = 0
    for access in FamilyAccess.select().where((FamilyAccess.agreement == agreement.id) & (FamilyAccess.generation > 0)
                                              & FamilyAccess.stopped_at.is_null()):
        party = Party.get_by_id(access.party_id)
        if stop_reason(access, agreement, party):
            continue
        if access.channel == "email":
            count += _email_link(access, agreement, now, changed)
        elif access.channel == "text":
            count += _text_link(access, agreement, now, changed)
        FamilyAccess.update(sent_version=agreement.version,
                            unread_check_at=now + dt.timedelta(days=settings.get("family_unread_days"))).where(
            FamilyAccess.id == access.id).execute()
    return count


def still_wanted(parts: list[str]) -> str | None:
    """Just before delivery: does the family link this email carries still work? (R10)"""
    access = FamilyAccess.get_or_none(FamilyAccess.id == int(parts[1])) if parts[1].isdigit() else None
    if access is None:
        return "Not sent: the family link no longer exists"
    if parts[2] != f"g{access.generation}":
        return "Not sent: a newer family link was sent"
    reason = stop_reason(access, Agreement.get_by_id(access.agreement_id), Party.get_by_id(access.party_id))
    if reason:
        return f"Not sent: the family link stopped ({STOPPED.get(reason, reason)})"
    return None


# --- what the family does -------------------------------------------------------------------


def has_read(access: FamilyAccess, version: int) -> FamilyRead | None:
    return FamilyRead.get_or_none((FamilyRead.access == access.id) & (FamilyRead.version == version))


def confirm_read(access: FamilyAccess, agreement: Agreement, now: dt.datetime, ip: str = "") -> None:
    inserted = FamilyRead.insert(access=access.id, agreement=agreement.id, version=agreement.version,
                                 at=now).on_conflict_ignore().as_rowcount().execute()
    if inserted:
        FamilyAccess.update(unread_check_at=None).where(
            (FamilyAccess.id == access.id) & (FamilyAccess.sent_version <= agreement.version)).execute()
        audit.record("family_copy_read", actor=party_actor(access), agreement=agreement, entity="party",
                     entity_id=access.party_id, changes={"read": [None, f"version {agreement.version}"]}, ip=ip,
                     at=now)


def party_actor(access: FamilyAccess) -> str:
    party = Party.get_by_id(access.party_id)
    return f"{party.name} (family party, by their link)"


def ask_call_back(access: FamilyAccess, agreement: Agreement, message: str, now: dt.datetime, ip: str = "") -> bool:
    """A short message to the social worker (the front door where there is none), queued as an email.

    Only the worker's email holds the message; the audit event says a call back was asked for."""
    to, label = _worker_or_front_door(agreement)
    party = Party.get_by_id(access.party_id)
    digest = hashlib.sha256(message.encode()).hexdigest()[:16]
    queued = enqueue(f"family-callback/{access.id}/{digest}/{now:%Y%m%dT%H}", "family_callback", to,
                     agreement=agreement, to_label=label, now=now,
                     context={"message": message, "party_role": party.role or "A family party"})
    if queued:
        audit.record("family_call_back_asked", actor=party_actor(access), agreement=agreement, entity="party",
                     entity_id=access.party_id, changes={"call_back": [None, "asked"]}, ip=ip, at=now)
    return queued


# --- a translated copy the worker made ----------------------------------------------------------


TRANSLATION_MOST = 50_000


def attach_translation(agreement: Agreement, user: User, now: dt.datetime, language: str, text: str) -> FamilyTranslation:
    """Keep a translated copy of the version in force, as the worker typed or pasted it; the family's page shows it.

    It is recorded as the record's issue is: its language, and that a translation was given."""
    errors = {}
    language, text = (language or "").strip(), (text or "").strip()
    if not language or len(language) > 80 or "\n" in language:
        errors["language"] = "Enter the language of the translated copy, such as Polish"
    if not text:
        errors["text"] = "Paste or type the translated copy"
    elif len(text) > TRANSLATION_MOST:
        errors["text"] = f"The translated copy must be {TRANSLATION_MOST:,} characters or fewer"
    if agreement.status != "active":
        errors["text"] = "A translated copy is of the version in force: the record is not active"
    if errors:
        raise Refused(errors)
    made = FamilyTranslation.create(agreement=agreement.id, version=agreement.version, language=language, text=text,
                                    made_by=user, made_at=now)
    audit.record("family_translation_attached", user=user, agreement=agreement, entity="family_translation",
                 entity_id=made.id, changes={"translation": [None, f"{language}, version {agreement.version}"]},
                 at=now)
    return made


def translations_of(agreement: Agreement) -> list[FamilyTranslation]:
    """The translated copies of the version in force, latest first."""
    return list(FamilyTranslation.select().where((FamilyTranslation.agreement == agreement.id)
                                                 & (FamilyTranslation.version == agreement.version))
                .order_by(FamilyTranslation.made_at.desc(), FamilyTranslation.id.desc()))


# --- the worker is told who has not read their copy ---------------------------------------------


def unread_sweep(now: dt.datetime) -> int:
    """Each link whose version is still unread a set number of days after it went: tell the worker once."""
    count = 0
    for access in FamilyAccess.select().where(FamilyAccess.unread_check_at <= now).order_by(FamilyAccess.id):
        agreement = Agreement.get_by_id(access.agreement_id)
        party = Party.get_by_id(access.party_id)
        FamilyAccess.update(unread_check_at=None).where(FamilyAccess.id == access.id).execute()
        if stop_reason(access, agreement, party) or has_read(access, agreement.version):
            continue
        address, label = _worker_or_front_door(agreement)
        count += enqueue(f"family-unread/{access.id}/g{access.generation}/v{agreement.version}", "family_unread",
                         address, agreement=agreement, to_label=label, now=now,
                         context={"party_role": party.role or "A family party",
                                  "sent_at": access.issued_at, "days": settings.get("family_unread_days")})
    return count


def on_record(agreement: Agreement, now: dt.datetime) -> list[dict]:
    """For the record page: each family party, their link's state, and whether they read this version."""
    rows = []
    accesses = {a.party_id: a for a in models.family_accesses(agreement)}
    reads = {(r.access_id, r.version): r for r in models.family_reads(agreement)}
    for party in family_parties(agreement):
        access = accesses.get(party.id)
        working = bool(access and access.generation) and not stop_reason(access, agreement, party)
        read = reads.get((access.id, agreement.version)) if access and access.generation else None
        rows.append({"party": party, "access": access, "working": working, "read": read,
                     "harms": is_person_who_harms(agreement, party),
                     "stopped": STOPPED.get(stop_reason(access, agreement, party), "") if access and access.generation
                     else ""})
    return rows
