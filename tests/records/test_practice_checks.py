"""Practice the guidance asks for (issue 10, items 5-10): each check fires on its
example and stays quiet on its counter-example."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import NOW
from tracker import models, rules, settings
from tracker.models import Agency, Agreement, AuditEvent, Child, Recipient, children_of
from tracker.records import identity, lifecycle
from tracker.records.quality import checks, jargon_in
from tracker.records.responsibility import puts_exclusion_on, side_of
from tracker.records.warnings import signs_of

DEFAULT_JARGON = [w.strip() for w in settings.BY_KEY["jargon"].default.split(",")]


def failing(agreement, now=NOW) -> dict[str, str]:
    return {c.key: c.detail for c in checks(Agreement.get_by_id(agreement.id), now) if not c.passed}


def sign_keys(agreement, now=NOW) -> set[str]:
    return {s.key for s in signs_of(Agreement.get_by_id(agreement.id), now)}


# --- 5. One child, one identity (R13) -------------------------------------------

def test_names_match_whatever_their_case_spacing_and_accents():
    assert identity.normalise_name("  Zoë   O'BRIEN ") == "zoe o brien"
    assert identity.similar_names("Zoë O'Brien", "zoe obrien")
    assert identity.similar_names("Ella Rose Murphy", "Ella Murphy")
    assert not identity.similar_names("Ella Murphy", "Noah Patel")


def test_nhs_numbers_are_checked_by_their_check_digit():
    assert identity.nhs_number_problem("943 476 5919") == ""
    assert identity.nhs_number_problem("") == ""
    assert "not right" in identity.nhs_number_problem("943 476 5918")
    assert "10 digits" in identity.nhs_number_problem("94347")


def _nhs_number_on_the_form(client, people, login, good_partnership):
    login(people.worker)
    data = good_partnership(social_worker=str(people.worker.id), **{"children-0-nhs_number": "943 476 5918"})
    response = client.post("/agreements/new?kind=partnership", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "This NHS number is not right" in page and 'value="943 476 5918"' in page
    assert Agreement.select().count() == 0
    data["children-0-nhs_number"] = "943 476 5919"
    assert client.post("/agreements/new?kind=partnership", data=data).status_code == 302
    child = Child.get()
    assert (child.nhs_number, child.normalised_name, child.identity) == ("9434765919", "ella murphy", child.id)


def test_a_similar_child_is_offered_linked_and_counted_as_one_history(client, people, login, make_agreement, good_partnership):
    first = make_agreement(status="active", now=NOW - dt.timedelta(days=60),
                           children=[{"name": "Zoë O'Brien", "date_of_birth": dt.date(2019, 5, 4)}])
    login(people.worker)
    data = good_partnership(social_worker=str(people.worker.id), **{"children-0-name": "ZOE OBRIEN"})
    response = client.post("/agreements/new?kind=partnership", data=data)
    assert response.status_code == 302 and response.location.endswith("#same-child")
    second = Agreement.select().order_by(Agreement.id.desc()).get()
    page = client.get(f"/agreements/{second.id}").get_data(as_text=True)
    assert "Possibly the same child" in page and "Zoë O&#39;Brien" in page
    # Not yet linked: the history-based signs do not see the first record.
    lifecycle.submit(second, people.worker, NOW)
    assert "repeated_agreements" not in sign_keys(second)
    mine = models.children_of(second)[0]
    other = models.children_of(first)[0]
    response = client.post(f"/agreements/{second.id}/children/{mine.id}/link", data={"other": str(other.id)})
    assert response.status_code == 303
    assert Child.get_by_id(mine.id).identity == Child.get_by_id(other.id).identity
    assert "repeated_agreements" in sign_keys(second)
    page = client.get(f"/agreements/{second.id}").get_data(as_text=True)
    assert "Possibly the same child" not in page and first.reference in page
    assert AuditEvent.select().where(AuditEvent.action == "child_linked").count() == 1
    _other_children_not_offered(None, people, make_agreement)


def _other_children_not_offered(app, people, make_agreement):
    make_agreement(children=[{"name": "Ella Murphy", "date_of_birth": dt.date(2019, 5, 5)}])
    make_agreement(children=[{"name": "Ella Murphee", "date_of_birth": dt.date(2019, 5, 4), "person_id": "P-2"}])
    mine = make_agreement(children=[{"name": "Ella Murphy", "date_of_birth": dt.date(2019, 5, 4), "person_id": "P-1"}])
    assert identity.possible_matches(mine) == []
    # The same council person ID is offered, whatever the name and date typed.
    same_id = make_agreement(children=[{"name": "E. Murphy", "date_of_birth": dt.date(2019, 6, 1), "person_id": "P-1"}])
    assert [o.person_id for _, o in identity.possible_matches(same_id)] == ["P-1"]


def _unborn_needs_midwife(app, make_agreement):
    unborn = [{"name": "Baby Murphy", "date_of_birth": NOW.date() + dt.timedelta(days=60), "unborn": True}]
    flagged = make_agreement(children=unborn)
    assert "midwife" in failing(flagged)["health_visiting"]
    midwife = {"name": "Sue Fox", "agency_name": "Riverside Maternity", "agency_kind": "midwifery",
               "role": "Community midwife", "email": "midwife@example.org", "breach_contact": False}
    assert "health_visiting" not in failing(make_agreement(children=unborn, recipients=[midwife]))
    # A ten-year-old needs neither.
    older = [{"name": "Ella Murphy", "date_of_birth": dt.date(2016, 5, 4)}]
    assert "health_visiting" not in failing(make_agreement(children=older))


def _unborn_child_on_the_form(client, people, login, good_partnership):
    login(people.worker)
    due = NOW.date() + dt.timedelta(days=90)
    data = good_partnership(social_worker=str(people.worker.id), **{
        "children-0-unborn": "y", "children-0-date_of_birth-day": str(due.day),
        "children-0-date_of_birth-month": str(due.month), "children-0-date_of_birth-year": str(due.year)})
    response = client.post("/agreements/new?kind=partnership", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert Child.get(Child.unborn == True).unborn is True  # noqa: E712
    assert "not yet born, expected" in client.get(response.location).get_data(as_text=True)
    # Without the box, a future date of birth is refused.
    data.pop("children-0-unborn")
    assert client.post("/agreements/new?kind=partnership", data=data).status_code == 400


# --- 6. Domestic abuse (R8) -----------------------------------------------------

@pytest.mark.parametrize("what", ["Ms Murphy will not let him in the house.", "Ms Murphy will keep him away from the children.",
                                  "Ms Murphy will not allow contact with Mr Murphy.", "Mum won't let Dad in."])
def test_keeping_the_person_who_harms_away_is_recognised(what):
    assert puts_exclusion_on(what)


@pytest.mark.parametrize("what", ["Mr Murphy will stay away from the family home.", "The social worker will visit weekly.",
                                  "Ms Murphy will take Ella to nursery every weekday."])
def test_other_actions_are_not_mistaken_for_it(what):
    assert not puts_exclusion_on(what)


ON_THE_VICTIM = [
    {"what": "Ms Murphy will not let Mr Murphy into the house.", "who": "Ms Murphy", "timescale": "Until the review", "due_on": None},
    {"what": "Ms Murphy will take Ella to nursery every weekday.", "who": "Ms Murphy", "timescale": "Every weekday", "due_on": None},
]
ON_THE_HARMER = [
    {"what": "Mr Murphy will stay away from the family home and will not contact Ms Murphy.", "who": "Mr Murphy",
     "timescale": "Until the review", "due_on": None},
    {"what": "The social worker will visit every two weeks.", "who": "Social worker", "timescale": "Every two weeks", "due_on": None},
]


def test_a_domestic_abuse_action_on_the_person_at_risk_blocks_endorsement(client, people, login, make_agreement):
    agreement = make_agreement(status="awaiting_endorsement", domestic_abuse_concern=True, person_at_risk="Ms Murphy",
                               person_who_harms="Mr Murphy", actions=ON_THE_VICTIM)
    found = failing(agreement)
    assert "Action 1 asks the person at risk" in found["da_person_at_risk"]
    assert "da_harmer_actions" in found and "da_referral" in found
    assert "domestic_abuse_exclusion" in sign_keys(agreement)
    login(people.manager)
    response = client.post(f"/agreements/{agreement.id}/endorse", data={})
    assert response.status_code == 400 and Agreement.get_by_id(agreement.id).status == "awaiting_endorsement"
    response = client.post(f"/agreements/{agreement.id}/endorse", data={"override": "Police bail conditions apply."})
    assert response.status_code == 302 and Agreement.get_by_id(agreement.id).status == "active"
    _actions_on_the_person_who_harms_pass(None, make_agreement)


def _actions_on_the_person_who_harms_pass(app, make_agreement):
    agreement = make_agreement(domestic_abuse_concern=True, person_at_risk="Ms Murphy", person_who_harms="Mr Murphy",
                               actions=ON_THE_HARMER, parties=[{"name": "Ms Murphy", "role": "Mother", "signed_on": None},
                                                               {"name": "Mr Murphy", "role": "Father", "signed_on": None}])
    found = failing(agreement)
    assert "da_person_at_risk" not in found and "da_harmer_actions" not in found
    assert "MARAC or IDVA" in found["da_referral"]
    assert "domestic_abuse_exclusion" not in sign_keys(agreement)
    agreement = make_agreement(domestic_abuse_concern=True, person_who_harms="Mr Murphy", actions=ON_THE_HARMER,
                               marac_idva="Referred to MARAC on 20 November.")
    assert not {"da_person_at_risk", "da_harmer_actions", "da_referral"} & set(failing(agreement))
    # Without a domestic abuse concern the same words are not read this way.
    assert "da_person_at_risk" not in failing(make_agreement(actions=ON_THE_VICTIM))


def _the_form_says_the_person_who_harms(client, people, login):
    login(people.worker)
    page = client.get("/agreements/new?kind=partnership").get_data(as_text=True)
    assert "The person who harms" in page and "IDVA" in page
    assert "abuser" not in page.lower()


# --- 7. Sharper quality checks (R7) ----------------------------------------------

def test_jargon_is_caught_in_any_case_and_variant():
    for text in ["an s47 enquiry", "a Section 47 enquiry", "S.47", "the camhs team", "the core  group",
                 "a Strategy Meeting", "the HV will visit", "C.P. plan"]:
        assert jargon_in(text, DEFAULT_JARGON), text
    assert jargon_in("Christmas at the cinema with the support worker", DEFAULT_JARGON) == []


def _jargon_in_the_views(app, make_agreement):
    flagged = make_agreement(family_views="Ms Murphy wants CAMHS to see Ella before the core group.")
    detail = failing(flagged)["plain_language"]
    assert "CAMHS (in the parents' or carers' views)" in detail and "core group" in detail
    assert "plain_language" not in failing(make_agreement())


def _vague_actions(app, make_agreement):
    vague = [
        {"what": "Ms Murphy will try to be a better parent.", "who": "Ms Murphy", "timescale": "Ongoing", "due_on": None},
        {"what": "The social worker will engage with the family.", "who": "Social worker", "timescale": "ASAP", "due_on": None},
    ]
    detail = failing(make_agreement(actions=vague))["smart_actions"]
    assert "action 1" in detail and "“try to”" in detail and "“ongoing”" in detail and "action 2" in detail
    assert "smart_actions" not in failing(make_agreement())


def _balance_from_who(app, make_agreement):
    only_family = [
        {"what": "Ms Murphy will take Ella to nursery.", "who": "Ms Murphy", "timescale": "Every weekday", "due_on": None},
        {"what": "Dad will collect Ella on Fridays.", "who": "Bob Stone", "timescale": "Fridays", "due_on": None},
    ]
    detail = failing(make_agreement(actions=only_family))["balanced"]
    assert "what the professionals will do" in detail and "Bob Stone" in detail
    # A professional named on the distribution list makes it balanced.
    with_school = [only_family[0], {"what": "The school will ring the social worker on any absence.", "who": "Jo Bloggs",
                                    "timescale": "Each absence", "due_on": None}]
    assert "balanced" not in failing(make_agreement(actions=with_school))


def test_side_is_read_from_parties_and_the_distribution_list():
    class Row:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    parties = [Row(name="Ann Lee", role="Family friend", side="family"), Row(name="Dr Shah", role="", side="professional")]
    recipients = [Row(name="Kim Hale", agency_name="Riverside Health Visiting Service", role="Health visitor")]
    assert side_of("Ann Lee", parties, recipients) == "family"
    assert side_of("Dr Shah", parties, recipients) == "professional"
    assert side_of("Kim Hale", parties, recipients) == "professional"
    assert side_of("Ms Murphy (mother)", parties, recipients) == "family"
    assert side_of("Bob", parties, recipients) is None


def _parents_views(app, make_agreement):
    assert "family_views" in failing(make_agreement(family_views=""))
    assert "family_views" not in failing(make_agreement())


def _health_visiting_from_directory(app, make_agreement):
    Agency.create(name="Riverside Health Visiting Service", kind="health_visiting", email="hv@example.org")
    baby = [{"name": "Ella Murphy", "date_of_birth": dt.date(2025, 5, 4)}]
    typed = {"name": "Kim Hale", "agency_name": "Riverside Health Visiting Service", "agency_kind": "school",
             "role": "Health visitor", "email": "", "breach_contact": False}
    agreement = make_agreement(children=baby, recipients=[typed])
    assert Recipient.get(Recipient.agreement == agreement).agency_kind == "health_visiting"
    assert "health_visiting" not in failing(agreement)
    school_only = make_agreement(children=baby)
    assert "health_visiting" in failing(school_only)


# --- 8. The agency directory in the form ----------------------------------------

def test_a_distribution_entry_is_filled_from_the_directory_without_javascript(client, people, login, good_partnership):
    hv = Agency.create(name="Riverside Health Visiting Service", kind="health_visiting", email="hv@example.org")
    login(people.worker)
    page = client.get("/agreements/new?kind=partnership").get_data(as_text=True)
    assert "Add someone to the distribution list" in page
    data = good_partnership(social_worker=str(people.worker.id), **{
        "recipients-0-name": "Kim Hale", "recipients-0-agency_name": "", "recipients-0-agency_kind": "other",
        "recipients-0-email": "", "recipients-0-directory": str(hv.id), "fill": "recipients-0"})
    data.pop("save")
    page = client.post("/agreements/new?kind=partnership", data=data).get_data(as_text=True)
    assert 'value="Riverside Health Visiting Service"' in page and 'value="hv@example.org"' in page
    assert '<option value="health_visiting" selected' in page
    data.pop("fill")
    data.update({"recipients-0-agency_name": "Riverside Health Visiting Service", "save": "1"})
    assert client.post("/agreements/new?kind=partnership", data=data).status_code == 302
    recipient = Recipient.get()
    assert (recipient.agency_id, recipient.agency_kind, recipient.email) == (hv.id, "health_visiting", "hv@example.org")


def test_htmx_suggests_agencies_as_you_type(client, people, login):
    Agency.create(name="Riverside Health Visiting Service", kind="health_visiting", email="hv@example.org")
    Agency.create(name="Market Street Surgery", kind="gp")
    login(people.worker)
    headers = {"HX-Request": "true", "HX-Current-URL": "http://tracker.test/agreements/new?kind=partnership"}
    response = client.get("/agreements/agency-suggestions?row=recipients-0&recipients-0-agency_name=river", headers=headers)
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in fragment
    assert "Use Riverside Health Visiting Service" in fragment and "Market Street" not in fragment
    assert 'value="recipients-0:' in fragment
    # Free entry: nothing suggested for a name the directory does not hold.
    response = client.get("/agreements/agency-suggestions?row=recipients-0&recipients-0-agency_name=zzz", headers=headers)
    assert "Use " not in response.get_data(as_text=True)


# --- 9. Other plans and legal advice (R14) --------------------------------------

def _past_plan_meeting(app, make_agreement):
    past = make_agreement(status="active", plan_meeting_on=NOW.date() - dt.timedelta(days=1))
    assert "past_plan_meeting" in sign_keys(past)
    assert "past_plan_meeting" not in sign_keys(make_agreement(status="active", plan_meeting_on=NOW.date() + dt.timedelta(days=7)))
    assert "past_plan_meeting" not in sign_keys(make_agreement(status="active"))


def _legal_advice_never_silently_no(client, people, login, make_agreement, good_undertaking):
    login(people.worker)
    page = client.get("/agreements/new?kind=undertaking").get_data(as_text=True)
    assert 'value="not_recorded" checked' in page
    data = good_undertaking(social_worker=str(people.worker.id), legal_advice=None)
    response = client.post("/agreements/new?kind=undertaking", data=data)
    agreement = Agreement.get(Agreement.kind == "undertaking")
    assert agreement.legal_advice == "not_recorded" and agreement.legal_advice_taken is False
    assert "Not recorded" in client.get(response.location).get_data(as_text=True)
    # Only when the setting asks for it does "not recorded" fail a check.
    assert "legal_advice" not in failing(agreement)
    settings.put("legal_advice_required", "yes")
    assert "Record whether legal advice was taken" in failing(agreement)["legal_advice"]
    assert "legal_advice" not in failing(make_agreement(kind="undertaking", legal_advice="no"))


def test_the_migration_fills_identities_names_and_legal_advice_on_existing_rows(tmp_path):
    import peewee
    from playhouse.migrations import Runner

    from tracker.db import MIGRATIONS

    database = peewee.SqliteDatabase(str(tmp_path / "old.db"))
    runner = Runner(database, str(MIGRATIONS))
    runner.up(target="0001_initial")

    def insert(table, **values):
        # The rows an older version wrote: every NOT NULL column without a default gets a blank.
        for _, name, kind, notnull, default, pk in database.execute_sql(f'PRAGMA table_info("{table}")').fetchall():
            if notnull and default is None and not pk and name not in values:
                values[name] = 0 if kind.upper() in ("INTEGER", "BOOLEAN") else "2026-01-01" if "DATE" in kind.upper() else ""
        names = ", ".join(f'"{n}"' for n in values)
        database.execute_sql(f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" for _ in values)})', list(values.values()))

    insert("team", name="North")
    insert("user", email="a@x", name="A", role="social_worker", team_id=1)
    insert("child", name="Zoë  O'Brien", date_of_birth="2019-05-04")
    insert("agreement", reference="WU-1", kind="undertaking", team_id=1, created_by_id=1, legal_advice_taken=1)
    insert("agreement", reference="WU-2", kind="undertaking", team_id=1, created_by_id=1, legal_advice_taken=0)
    runner.up()
    assert database.execute_sql("SELECT identity, id, normalised_name FROM child").fetchone() == (1, 1, "zoe o brien")
    assert [r[0] for r in database.execute_sql("SELECT legal_advice FROM agreement ORDER BY id")] == ["yes", "not_recorded"]


# --- 10. The printable copy ---------------------------------------------------

def test_the_printable_copy_says_everything_the_family_needs(client, people, login, make_agreement):
    agreement = make_agreement(status="active", worker_phone="01632 960 001", review_attendees="")
    login(people.worker)
    page = client.get(f"/agreements/{agreement.id}/print").get_data(as_text=True)
    assert "Partnership agreement between the Murphy family, Example Council and Riverside Primary School" in page
    assert "Child in need plan" in page and "Communication needs" in page
    assert "What Ms Murphy will do" in page and "What Social worker will do" in page
    assert "01632 960 001" in page and "0100 000 0000" in page and "0100 000 0999" in page
    assert "Who will attend the review" in page and "Ms Murphy (Mother), Sam Worker (social worker)" in page
    assert "on behalf of Example Council" in page
    assert "not a court order" in page and "independent advice" in page and "advocate" in page


def test_an_undertakings_copy_names_the_front_door_as_the_breach_contact(client, people, login, make_agreement):
    undertaking = make_agreement(kind="undertaking", status="active", recipients=[
        {"name": "Jo Bloggs", "agency_name": "Riverside Primary School", "agency_kind": "school",
         "role": "Designated safeguarding lead", "email": "dsl@school.example", "breach_contact": True}])
    login(people.worker)
    page = client.get(f"/agreements/{undertaking.id}/print").get_data(as_text=True)
    contact = page.split("Who to contact if this undertaking is broken")[1].split("</dl>")[0]
    assert "Front door" in contact and "0100 000 0000" in contact
    assert "Riverside Primary School" not in contact and "contact if it is breached" not in page



# Grouped so each database pays for one app per area, not one per case (test time).

def test_the_form_checks_nhs_numbers_takes_unborn_children_and_says_the_person_who_harms(client, people, login, good_partnership):
    _nhs_number_on_the_form(client, people, login, good_partnership)
    _unborn_child_on_the_form(client, people, login, good_partnership)
    _the_form_says_the_person_who_harms(client, people, login)


def test_sharper_quality_checks_fire_on_their_examples_only(app, make_agreement):
    _jargon_in_the_views(app, make_agreement)
    _vague_actions(app, make_agreement)
    _balance_from_who(app, make_agreement)
    _parents_views(app, make_agreement)


def test_health_visiting_reads_the_directory_and_an_unborn_child_needs_the_midwife(app, make_agreement):
    _unborn_needs_midwife(app, make_agreement)
    _health_visiting_from_directory(app, make_agreement)


def test_other_plans_and_legal_advice(client, people, login, make_agreement, good_undertaking):
    _legal_advice_never_silently_no(client, people, login, make_agreement, good_undertaking)
    _past_plan_meeting(client, make_agreement)



def test_the_record_page_names_the_childs_other_records_and_their_team(client, people, login, make_agreement):
    """Linked records of the same child are listed; one in another team is named with that team."""
    child = {"name": "Zoë O'Brien", "date_of_birth": dt.date(2019, 5, 4)}
    south = make_agreement(worker=people.other_worker, status="active", now=NOW - dt.timedelta(days=90), children=[child])
    north = make_agreement(status="active", now=NOW - dt.timedelta(days=30), children=[child])
    also_north = make_agreement(status="active", now=NOW - dt.timedelta(days=10), children=[child])
    mine = children_of(north)[0]
    for other in (south, also_north):
        identity.link(north, mine, children_of(other)[0], people.worker, NOW)
    login(people.worker)
    page = client.get(f"/agreements/{north.id}").get_data(as_text=True)
    assert "Other records for this child" in page
    assert f'<span class="app-ref">{south.reference}</span> (South team)' in page
    assert f'href="/agreements/{also_north.id}"><span class="app-ref">{also_north.reference}</span></a>' in page
    assert page.count(f"{north.reference}</span></a>") == 0  # not itself


# === Checks that read like a practitioner =======================================
#
# One table: for each rule, what a worker might write that SHOULD stop or warn,
# and sound records that should NOT. To add a case, add a line to its rule's
# "fires" or "quiet" list. Each entry is the text as typed (a tuple where a rule
# reads two things, such as an action and who is responsible for it).

from types import SimpleNamespace  # noqa: E402

from tracker.records import quality, reading  # noqa: E402
from tracker.records import warnings as signs_module  # noqa: E402

PLACEHOLDERS = [w.strip() for w in settings.BY_KEY["placeholders"].default.split(",")]
MURPHYS = reading.people("Ms Murphy", "Mr Murphy", [SimpleNamespace(name="Mr Murphy", role="Father")])
KHANS = ["Amir Khan", "Sara Khan"]


def _puts_control_on_the_person_at_risk(case) -> bool:
    what, who = case
    side = side_of(who, (), ())
    return reading.actor(what, who, MURPHYS, side) not in ("harms", "professional") and \
        reading.asks_to_control(what, MURPHYS)


def _unmet_need(text) -> bool:
    return reading.communication_need(text) and not reading.need_met(text)


def _a_family_party(parties) -> bool:
    return any(signs_module._is_family(SimpleNamespace(name=n, role=r, side="")) for n, r in parties)


RULES = {
    "a required field holding only a placeholder is empty": (
        lambda text: reading.is_empty(text, PLACEHOLDERS),
        ["TBC", "N/A", "…", "to follow", "see attached", "The Contingency Plan will be …..", "- ? -",
         "See CP plan", "To be confirmed at the review"],
        ["Ella will stay with her grandmother.", "Too young to say; he smiles when his mum arrives.",
         "The social worker will call a meeting within two working days.", "Every weekday",
         "Not needed: Mr Ahmed has spoken English since school."],
    ),
    "consequences that threaten rather than explain (coercion)": (
        reading.threatens,
        ["Sign this or the children will be removed.", "If you don't sign, we will take Ella into care.",
         "If Mr Jones breaks this agreement the children will be removed from his care.",
         "You will lose your children if this happens again.", "Keep to it or else."],
        ["The social worker will call a meeting within two working days.",
         "Ben may be moved to a foster carer and the police will be told.",
         "If the agreement is broken, the social worker will arrange a meeting and may seek legal advice about court.",
         "The children could stay with their grandmother while we talk about what happens next."],
    ),
    "the record says the case is closing": (
        reading.says_closing,
        ["We are closing the case next week.", "The case will close once the agreement is signed.",
         "Children's social care will no longer be involved after December.", "The case is stepping down to early help."],
        ["This agreement lasts until the review in three months.", "The case is not closing.",
         "Until the case closes the social worker will visit weekly.", "Ms Murphy will close the gate at night."],
    ),
    "an action puts controlling the person who harms on the person at risk": (
        _puts_control_on_the_person_at_risk,
        [("She will ensure he stays away from the house.", "Ms Murphy"),
         ("Will phone the police if he turns up.", "Ms Murphy"),
         ("Ms Murphy will not let Mr Murphy into the house.", ""),
         ("Mum will make sure Dad does not come to the flat.", "Mum"),
         ("Ms Murphy will keep him away from the children.", "Ms Murphy"),
         ("She will call the police if Mr Murphy comes to the door.", ""),
         ("Ms Murphy agrees not to let Mr Murphy stay overnight.", "")],
        [("Mr Murphy will stay away from the family home.", "Mr Murphy"),
         ("The social worker will call the police if Mr Murphy turns up.", "Social worker"),
         ("Ms Murphy will keep Ella away from the road.", "Ms Murphy"),
         ("Ms Murphy will take Ella to nursery every weekday.", "Ms Murphy"),
         ("He will not contact Ms Murphy.", ""),
         ("Dad will not come to the house.", "Dad")],
    ),
    "the record's words say there is domestic abuse": (
        reading.says_domestic_abuse,
        ["Mr Murphy has been violent towards Ms Murphy.", "There is a history of domestic violence.",
         "Police attended after a domestic abuse incident in October.", "Ms Murphy has been referred to MARAC."],
        ["There are no concerns about domestic abuse.", "Ella is settled at nursery.", "The family moved house in June."],
    ),
    "an IDVA or MARAC referral written as an action counts": (
        reading.is_referral,
        ["The social worker will refer Ms Murphy to the IDVA service by 1 December.", "Refer to MARAC.",
         "Ms Murphy will meet the independent domestic violence adviser weekly."],
        ["The social worker will visit weekly.", "Ms Murphy will take Ella to nursery.", "Mr Murphy will see his GP."],
    ),
    "a child is recorded as the interpreter": (
        lambda text: reading.child_interprets(text, KHANS),
        ["Amir will interpret for his mother.", "Her 12-year-old son translates.", "The eldest daughter helps with English.",
         "Sara, aged 10, reads letters to her."],
        ["Language Line Urdu interpreter booked for every meeting.", "Mrs Khan's sister-in-law and a professional interpreter.",
         "Amir's teacher speaks Urdu and the council's interpreter will attend."],
    ),
    "a learning difficulty or literacy need with no advocate or adapted copy": (
        _unmet_need,
        ["Mr Jones cannot read.", "Ms Lee has a learning difficulty.", "Struggles with reading letters."],
        ["Mr Jones cannot read: the social worker will read it through with him and an advocate will attend.",
         "No literacy needs.", "Easy read copy given; Ms Lee has a learning difficulty.", ""],
    ),
    "jargon or an acronym where the family reads": (
        lambda text: quality.jargon_in(text, DEFAULT_JARGON),
        ["The threshold for an S47 is met.", "The core group meets monthly.", "The MASH will look at it.",
         "Review at the CP conference."],
        ["Sausage and mash for tea on Fridays.", "They live at 4 Lac Street.", "Christmas at the cinema.",
         "Parents pick up when he wanted to engage in play."],
    ),
    "an action that is not specific": (
        lambda text: quality._vague(text, quality.VAGUE_COMMITMENTS),
        ["Ms Murphy will try to be a better parent.", "Mr Jones will engage with services.", "Dad will do his best."],
        ["Parents pick up Padraig's cues re when he wanted to engage in play.", "Ms Murphy will take Ella to nursery.",
         "Mr and Mrs McCarthy will ask the supervisors for help."],
    ),
    "no family member is a party": (
        lambda parties: not _a_family_party(parties),
        [[("Sam Worker", "Social worker")], [("Education", ""), ("CSC", "")],
         [("Jo Bloggs", "Designated safeguarding lead"), ("Kim Hale", "Health visitor")]],
        [[("Mr McCarthy", "")], [("Ann Lee", "Mother")], [("Sam Worker", "Social worker"), ("Ms Murphy", "")]],
    ),
}

CASES = [(rule, case, fires) for rule, (_, fires_list, quiet_list) in RULES.items()
         for fires, cases in ((True, fires_list), (False, quiet_list)) for case in cases]


@pytest.mark.parametrize(("rule", "case", "fires"), CASES,
                         ids=[f"{rule[:30]}|{'fires' if f else 'quiet'}|{str(c)[:40]}" for rule, c, f in CASES])
def test_each_rule_fires_on_its_examples_and_stays_quiet_on_its_counter_examples(rule, case, fires):
    read = RULES[rule][0]
    assert bool(read(case)) is fires, (rule, case)


def test_every_rule_has_three_examples_each_way():
    for rule, (_, fires, quiet) in RULES.items():
        assert len(fires) >= 3 and len(quiet) >= 3, rule


# --- The Cambridgeshire guidance's two model agreements, through the real forms ---

def _actions(rows) -> dict[str, str]:
    fields = {}
    for i, (what, who, when) in enumerate(rows):
        fields.update({f"actions-{i}-what": what, f"actions-{i}-who": who, f"actions-{i}-timescale": when})
    return fields


def _parties(rows) -> dict[str, str]:
    fields = {}
    for i, (name, role) in enumerate(rows):
        fields.update({f"parties-{i}-name": name, f"parties-{i}-role": role})
    return fields


MCCARTHY = dict(
    **{"children-0-name": "Padraig McCarthy", "children-0-date_of_birth-day": "1",
       "children-0-date_of_birth-month": "3", "children-0-date_of_birth-year": "2026",
       "review_at-day": "15", "review_at-month": "2", "review_at-year": "2027",
       "recipients-0-name": "Kim Hale", "recipients-0-agency_name": "Fenland Health Centre",
       "recipients-0-agency_kind": "other", "recipients-0-role": "Health visitor",
       "recipients-0-email": "hv@health.example"},
    purpose="To be clear what the arrangements are for contact between Mr and Mrs McCarthy and Padraig so that it "
            "goes smoothly and well for everyone, but especially for Padraig. To be clear what the contact "
            "supervisors are looking for.",
    child_views="Padraig is a baby and too young to give his views; his foster carers say he is settled after contact.",
    family_views="Mr and Mrs McCarthy want contact to go well and to show they can look after Padraig.",
    if_things_go_wrong="A contact visit will only be stopped by the supervisors if Mr and Mrs McCarthy do not keep to "
                       "this agreement. If at any time anyone has concerns about contact they will let Paul Picewicz "
                       "know, and a meeting will be arranged to meet to discuss it.",
    contingency="If at any time anyone has concerns about contact they will let Paul Picewicz know, and a meeting will "
                "be arranged to meet to discuss it.",
    duration="This agreement will last for 3 months when it will be reviewed at a meeting of Mr and Mrs McCarthy, "
             "Paul, Daisy and Shobna.",
    review_venue="Newtown Children's Centre",
    review_attendees="Mr and Mrs McCarthy, Paul Picewicz, Daisy Brown and Shobna Maharaj",
    **_actions([
        ("Mr or Mrs McCarthy will call Family Support Worker Daisy Brown before 9.30 each Tuesday and Thursday to "
         "confirm that they will be attending contact.", "Mr and Mrs McCarthy", "Before 9.30 each Tuesday and Thursday"),
        ("Daisy will collect Padraig from the foster carers and make sure that she and Padraig arrive on time; Mr and "
         "Mrs McCarthy will make sure they arrive on time also. Everyone will stay for the full 2 hours.",
         "Daisy Brown", "Every Monday and Thursday, 10.30 to 12.30"),
        ("Mr and Mrs McCarthy will focus on spending time and attention on Padraig. Mobiles will be switched off.",
         "Mr and Mrs McCarthy", "Each contact visit"),
        ("Mr and Mrs McCarthy will be polite and respectful towards the contact supervisors at all times.",
         "Mr and Mrs McCarthy", "Each contact visit"),
        ("Supervisors will observe and write down how well Mr and Mrs McCarthy look after Padraig: emotional needs - "
         "parents pick up Padraig's cues re when he's tired, wanted to engage in play, interact etc.",
         "Daisy Brown and Shobna Maharaj", "Each contact visit"),
        ("Supervisors will give Mr and Mrs McCarthy a copy of what they have written down at the same time that they "
         "provide this to the social worker.", "Daisy Brown and Shobna Maharaj", "Within a week of each visit"),
    ]),
    **_parties([("Mr McCarthy", "Father"), ("Mrs McCarthy", "Mother"), ("Paul Picewicz", "Social worker"),
                ("Shobna Maharaj", "Family Centre worker"), ("Daisy Brown", "Family support worker")]),
)

JONES = dict(
    **{"children-0-name": "Johnny Jones", "children-0-date_of_birth-day": "3",
       "children-0-date_of_birth-month": "9", "children-0-date_of_birth-year": "2016"},
    purpose="To be clear what the expectations are around ensuring Johnny is safe in the family home; to be clear "
            "what is expected by all those involved.",
    child_views="Johnny says he likes school.",
    family_views="Mr and Mrs Jones want Johnny to stay at home.",
    if_things_go_wrong="The Contingency Plan will be …..",
    contingency="The Contingency Plan will be …..",
    duration="This agreement will remain in place until the next formal CSC meeting when expectations then form part "
             "of the plan.",
    **_actions([
        ("Mr or Mrs Jones will ensure that Johnny is not left unsupervised with any adults unless they have been "
         "checked by CSC.", "Mr and Mrs Jones", "Until the next CSC meeting"),
        ("Mr and Mrs Jones will ensure appropriate …", "Mr and Mrs Jones", "Until the next CSC meeting"),
        ("Ensure Johnny arrives on time to school; report to CSC any missed education on the day.", "Education",
         "Every school day"),
        ("Provide support to ensure Mr and Mrs Jones develop the skills needed to keep Johnny safe.", "CSC",
         "Until the next CSC meeting"),
    ]),
    **_parties([("Mr Jones", "Father"), ("Mrs Jones", "Mother"), ("CSC", ""), ("Education", "")]),
)


def _through_the_forms(client, people, login, good_partnership, fields) -> tuple[Agreement, int]:
    """Create as the worker, submit, and the manager endorses without a reason: the record and the answer."""
    login(people.worker)
    data = good_partnership(social_worker=str(people.worker.id))
    for key in [k for k in data if k.startswith(("actions-", "parties-"))]:
        data.pop(key)
    data.update(fields)
    response = client.post("/agreements/new?kind=partnership", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    agreement = Agreement.select().order_by(Agreement.id.desc()).get()
    assert client.post(f"/agreements/{agreement.id}/submit").status_code == 303
    login(people.manager)
    return agreement, client.post(f"/agreements/{agreement.id}/endorse", data={}).status_code


def test_the_first_model_agreement_endorses_without_a_reason_and_the_second_does_not(client, people, login, good_partnership):
    first, status = _through_the_forms(client, people, login, good_partnership, MCCARTHY)
    assert failing(first) == {} and status == 302
    assert Agreement.get_by_id(first.id).status == "active"
    second, status = _through_the_forms(client, people, login, good_partnership, JONES)
    found = failing(second)
    assert status == 400 and Agreement.get_by_id(second.id).status == "awaiting_endorsement"
    assert "the contingency plan" in found["written"] and "what happens if things go wrong" in found["written"]
    assert "CSC" in found["plain_language"] and "party 3" in found["plain_language"]
    assert "Action 2" in found["actions_who_when"]  # "will ensure appropriate …" says nothing
    page = client.get(f"/agreements/{second.id}/endorse").get_data(as_text=True)
    assert "Endorse anyway, with this reason" in page and "Purpose, consequences and contingency are written" in page


# --- Bad reasons stop endorsement short of a manager's recorded reason (R8) --------

def _stops(agreement, people, key: str) -> None:
    assert f"sign_{key}" in failing(agreement), failing(agreement)
    assert key in sign_keys(agreement)
    record = Agreement.get_by_id(agreement.id)
    with pytest.raises(rules.RuleBroken):
        lifecycle.endorse(record, people.manager, NOW)
    lifecycle.endorse(record, people.manager, NOW, override="Agreed at the legal planning meeting.")
    assert Agreement.get_by_id(agreement.id).status == "active"


def test_bad_reasons_stop_endorsement_and_show_as_warning_signs(app, people, make_agreement):
    _stops(make_agreement(status="awaiting_endorsement", case_closing=True), people, "closing_case")
    _stops(make_agreement(status="awaiting_endorsement", purpose="We are closing the case next month; this keeps Ella "
                                                                  "safe at home."), people, "closing_case")
    _stops(make_agreement(status="awaiting_endorsement",
                          if_things_go_wrong="Sign this or the children will be removed."), people, "coercion")
    _stops(make_agreement(status="awaiting_endorsement",
                          parties=[{"name": "Sam Worker", "role": "Social worker", "signed_on": None}]),
           people, "no_family_party")
    sound = make_agreement()
    assert not {k for k in failing(sound) if k.startswith("sign_")}
    assert not signs_module.BLOCKING & sign_keys(sound)


def test_the_same_nhs_number_is_the_same_child_before_anyone_links_the_rows(client, people, login, make_agreement):
    child = {"name": "Zoë O'Brien", "date_of_birth": dt.date(2019, 5, 4), "nhs_number": "9434765919"}
    first = make_agreement(status="active", now=NOW - dt.timedelta(days=60), children=[child])
    lifecycle.end(Agreement.get_by_id(first.id), people.manager, NOW - dt.timedelta(days=30), "breached")
    respelled = {**child, "name": "Zoey OBrian"}
    second = make_agreement(status="awaiting_endorsement", children=[respelled])
    assert children_of(second)[0].id != children_of(first)[0].id  # two rows, not linked
    assert "new_after_breach" in sign_keys(second) and "sign_new_after_breach" in failing(second)
    login(people.manager)
    page = client.get(f"/agreements/{second.id}/endorse").get_data(as_text=True)
    assert "Possibly the same child" in page and "the same NHS number" in page and "Stops endorsement" in page
    assert client.post(f"/agreements/{second.id}/endorse", data={}).status_code == 400
    # A different NHS number is a different child, whatever the name.
    other = make_agreement(children=[{**child, "nhs_number": "4010232137"}])
    assert "new_after_breach" not in sign_keys(other)


# --- Domestic abuse read, genuine agreement, health visiting by the role typed ----

def test_domestic_abuse_said_in_the_record_is_checked_and_a_referral_action_counts(app, make_agreement):
    said = make_agreement(family_views="Ms Murphy says Mr Murphy has been violent towards her.", actions=[
        {"what": "She will ensure he stays away from the house.", "who": "Ms Murphy", "timescale": "Until the review",
         "due_on": None}], person_at_risk="Ms Murphy", person_who_harms="Mr Murphy")
    found = failing(said)
    assert {"da_confirm", "da_person_at_risk", "da_harmer_actions", "da_referral"} <= set(found)
    assert "domestic_abuse_exclusion" in sign_keys(said) and "domestic_abuse_no_harmer_action" in sign_keys(said)
    sound = make_agreement(domestic_abuse_concern=True, person_at_risk="Ms Murphy", person_who_harms="Mr Murphy",
                           actions=[ON_THE_HARMER[0], {"what": "The social worker will refer Ms Murphy to the IDVA "
                                                       "service.", "who": "Social worker", "timescale": "By 1 December",
                                                       "due_on": None}])
    assert not {"da_confirm", "da_person_at_risk", "da_harmer_actions", "da_referral"} & set(failing(sound))
    assert not {"domestic_abuse_exclusion", "domestic_abuse_no_harmer_action"} & sign_keys(sound)


def test_a_genuine_agreement_needs_its_communication_venue_and_duration(app, make_agreement):
    assert "First language Urdu" in failing(make_agreement(first_language="Urdu", interpreter="TBC"))["communication"]
    assert "communication" not in failing(make_agreement(first_language="Urdu", interpreter="Language Line, booked"))
    assert "never interpret" in failing(make_agreement(first_language="Urdu", interpreter="Ella will translate"))[
        "communication"]
    assert "advocate" in failing(make_agreement(literacy="Ms Murphy cannot read."))["communication"]
    assert "communication" not in failing(make_agreement(literacy="Ms Murphy cannot read.", advocacy="Voiceability "
                                                         "advocate booked for each meeting."))
    found = failing(make_agreement(review_venue="TBC", duration="N/A"))["venue_and_duration"]
    assert "where the review will be" in found and "how long" in found


def test_health_visiting_is_recognised_by_the_role_typed(app, make_agreement):
    baby = [{"name": "Ella Murphy", "date_of_birth": dt.date(2025, 5, 4)}]
    typed = {"name": "Kim Hale", "agency_name": "Fenland Health Centre", "agency_kind": "other",
             "role": "Health visitor", "email": "", "breach_contact": False}
    assert "health_visiting" not in failing(make_agreement(children=baby, recipients=[typed]))
    assert "health_visiting" in failing(make_agreement(children=baby, recipients=[{**typed, "role": "Receptionist"}]))
