"""Practice the guidance asks for (issue 10, items 5-10): each check fires on its
example and stays quiet on its counter-example."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import NOW
from tests.formdata import good_partnership, good_undertaking
from tracker import models, settings
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


def _nhs_number_on_the_form(client, people, login):
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


def test_a_similar_child_is_offered_linked_and_counted_as_one_history(client, people, login, make_agreement):
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


def _unborn_child_on_the_form(client, people, login):
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

def test_a_distribution_entry_is_filled_from_the_directory_without_javascript(client, people, login):
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


def _legal_advice_never_silently_no(client, people, login, make_agreement):
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

def test_the_form_checks_nhs_numbers_takes_unborn_children_and_says_the_person_who_harms(client, people, login):
    _nhs_number_on_the_form(client, people, login)
    _unborn_child_on_the_form(client, people, login)
    _the_form_says_the_person_who_harms(client, people, login)


def test_sharper_quality_checks_fire_on_their_examples_only(app, make_agreement):
    _jargon_in_the_views(app, make_agreement)
    _vague_actions(app, make_agreement)
    _balance_from_who(app, make_agreement)
    _parents_views(app, make_agreement)


def test_health_visiting_reads_the_directory_and_an_unborn_child_needs_the_midwife(app, make_agreement):
    _unborn_needs_midwife(app, make_agreement)
    _health_visiting_from_directory(app, make_agreement)


def test_other_plans_and_legal_advice(client, people, login, make_agreement):
    _legal_advice_never_silently_no(client, people, login, make_agreement)
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
