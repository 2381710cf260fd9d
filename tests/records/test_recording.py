"""Recording agreements and undertakings through the pages, with good and bad input."""

from __future__ import annotations

import datetime as dt

import pytest

from tracker.agencies import tokens
from tracker.models import Action, Agreement, AuditEvent, Recipient, Review
from tracker.records import lifecycle


def test_worker_records_a_partnership_agreement(client, people, login, good_partnership):
    login(people.worker)
    response = client.post("/agreements/new?kind=partnership", data=good_partnership(social_worker=str(people.worker.id)))
    assert response.status_code == 302
    agreement = Agreement.get()
    assert agreement.reference == f"PA-{agreement.id:05d}"
    assert agreement.status == "draft"
    assert [a.who for a in agreement.actions.order_by(Action.position)] == ["Ms Murphy", "Social worker"]
    review = Review.get(Review.agreement == agreement)
    # 10:00 London in January is 10:00 UTC; the due moments are stored with it.
    assert review.scheduled_at == dt.datetime(2027, 1, 15, 10, 0)
    assert agreement.next_review_at == review.scheduled_at
    assert review.reports_due_at == dt.datetime(2027, 1, 12, 10, 0)
    page = client.get(response.location).get_data(as_text=True)
    assert "Ella Murphy" in page and "Riverside Primary School" in page and "15 January 2027 at 10am" in page
    assert AuditEvent.select().where((AuditEvent.action == "created") & (AuditEvent.agreement == agreement)).count() == 1
    assert AuditEvent.select().where((AuditEvent.action == "viewed") & (AuditEvent.agreement == agreement)).count() == 1


def test_undertaking_keeps_its_window_and_legal_advice(client, people, login, good_undertaking):
    login(people.worker)
    response = client.post("/agreements/new?kind=undertaking", data=good_undertaking(social_worker=str(people.worker.id)))
    assert response.status_code == 302
    agreement = Agreement.get()
    assert agreement.reference.startswith("WU-")
    assert agreement.window_ends_at == dt.datetime(2026, 11, 25, 9, 0)
    assert agreement.legal_advice_taken is True
    assert Recipient.get().breach_contact is True


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"children-0-name": ""}, "Enter the child&#39;s full name"),
        ({"children-0-date_of_birth-day": "31", "children-0-date_of_birth-month": "2"}, "must be a real date"),
        ({"children-0-date_of_birth-year": "2099"}, "must be today or in the past"),
        ({"completed_on-month": ""}, "Date completed must include a month"),
        ({"review_at-time": "25:61"}, "must have a real time"),
        ({"purpose": "x" * 20_000}, "Purpose must be 10,000 characters or fewer"),
        ({"purpose": "<script>alert(1)</script>"}, "must not contain HTML tags"),
        ({"recipients-0-email": "not-an-email"}, "Enter an email address in the right format"),
        ({"actions-0-what": ""}, "Describe the action"),
    ],
)
def test_bad_partnership_input_is_shown_beside_the_field(client, people, login, overrides, message, good_partnership):
    login(people.worker)
    data = good_partnership(social_worker=str(people.worker.id), **overrides)
    response = client.post("/agreements/new?kind=partnership", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in page  # the GOV.UK error summary
    assert message in page
    assert "govuk-error-message" in page
    # Every typed value comes back.
    assert "Riverside Family Centre" in page and "The social worker will visit every two weeks." in page
    assert Agreement.select().count() == 0


def test_markup_typed_into_a_field_comes_back_inert(client, people, login, good_partnership):
    login(people.worker)
    data = good_partnership(social_worker=str(people.worker.id), purpose='<img src=x onerror="alert(1)">')
    page = client.post("/agreements/new?kind=partnership", data=data).get_data(as_text=True)
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=" in page


def test_undertaking_ending_before_it_starts_is_refused(client, people, login, good_undertaking):
    login(people.worker)
    data = good_undertaking(social_worker=str(people.worker.id), **{"window_ends_at-day": "22"})
    response = client.post("/agreements/new?kind=undertaking", data=data)
    assert response.status_code == 400
    assert "Undertaking must end after it starts" in response.get_data(as_text=True)


def test_undertaking_over_the_ceiling_needs_a_manager(client, people, login, good_undertaking):
    login(people.worker)
    data = good_undertaking(social_worker=str(people.worker.id), **{"window_ends_at-day": "30"})
    response = client.post("/agreements/new?kind=undertaking", data=data)
    assert response.status_code == 400
    assert "at most 72 hours unless a team manager agrees" in response.get_data(as_text=True)

    login(people.manager)
    data["social_worker"] = str(people.worker.id)
    response = client.post("/agreements/new?kind=undertaking", data=data)
    assert response.status_code == 400
    assert "Give the reason this undertaking needs longer than 72 hours" in response.get_data(as_text=True)

    data["window_reason"] = "The strategy meeting cannot be held until Friday."
    response = client.post("/agreements/new?kind=undertaking", data=data)
    assert response.status_code == 302
    assert Agreement.get().window_reason.startswith("The strategy meeting")


def test_adding_and_removing_action_rows_works_without_javascript(client, people, login, good_partnership):
    login(people.worker)
    data = good_partnership(social_worker=str(people.worker.id))
    data.pop("save")
    page = client.post("/agreements/new?kind=partnership", data={**data, "add": "actions"}).get_data(as_text=True)
    assert 'name="actions-2-what"' in page
    assert "Ms Murphy will take Ella to nursery every weekday." in page  # nothing typed is lost
    assert Agreement.select().count() == 0

    page = client.post("/agreements/new?kind=partnership", data={**data, "remove": "actions-0"}).get_data(as_text=True)
    assert "Ms Murphy will take Ella to nursery every weekday." not in page
    assert "The social worker will visit every two weeks." in page


def test_htmx_row_request_returns_only_the_section(client, people, login, good_partnership):
    login(people.worker)
    data = good_partnership(social_worker=str(people.worker.id))
    data.pop("save")
    response = client.post("/agreements/new?kind=partnership", data={**data, "add": "recipients"},
                           headers={"HX-Request": "true"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="section-recipients">')
    assert 'name="recipients-1-email"' in page
    assert "<html" not in page


def test_editing_keeps_history_and_retires_removed_rows(client, people, login, make_agreement, good_partnership):
    agreement = make_agreement()
    login(people.worker)
    form = good_partnership(social_worker=str(people.worker.id), purpose="A clearer purpose, agreed with Ms Murphy.")
    first = Action.select().where(Action.agreement == agreement).order_by(Action.position).first()
    form["actions-0-id"] = str(first.id)  # as the edit page's hidden field carries it
    for key in [k for k in form if k.startswith("actions-1-")]:
        form.pop(key)
    response = client.post(f"/agreements/{agreement.id}/edit", data=form)
    assert response.status_code == 302
    actions = list(Action.select().where(Action.agreement == agreement).order_by(Action.position))
    assert len(actions) == 2 and actions[1].removed_at is not None  # retired, not deleted
    event = AuditEvent.get((AuditEvent.action == "changed") & (AuditEvent.agreement == agreement))
    changes = dict((field, (old, new)) for field, old, new in event.change_list())
    assert changes["purpose"][1] == "A clearer purpose, agreed with Ms Murphy."
    assert "actions" in changes


def test_moving_the_review_keeps_the_old_date(client, people, login, make_agreement, good_partnership):
    agreement = make_agreement()
    login(people.worker)
    client.post(f"/agreements/{agreement.id}/edit",
                data=good_partnership(social_worker=str(people.worker.id), **{"review_at-day": "22"}))
    review = Review.get(Review.agreement == agreement)
    assert review.scheduled_at == dt.datetime(2027, 1, 22, 10, 0)
    assert review.sequence == 1
    assert review.moved_from() == [dt.datetime(2027, 1, 15, 10, 0)]


def test_register_search_and_filters(client, people, login, make_agreement):
    make_agreement()
    make_agreement(kind="undertaking", children=[{"name": "Ben Carter", "date_of_birth": dt.date(2018, 2, 1)}])
    make_agreement(worker=people.other_worker, children=[{"name": "Southern Child", "date_of_birth": dt.date(2015, 1, 1)}])
    login(people.worker)
    page = client.get("/agreements").get_data(as_text=True)
    assert "Ella Murphy" in page and "Ben Carter" in page
    assert "Southern Child" not in page  # another team's record
    page = client.get("/agreements?q=ben").get_data(as_text=True)
    assert "Ben Carter" in page and "Ella Murphy" not in page
    page = client.get("/agreements?kind=partnership").get_data(as_text=True)
    assert "Ella Murphy" in page and "Ben Carter" not in page
    page = client.get("/agreements?status=active").get_data(as_text=True)
    assert "No records match" in page
    fragment = client.get("/agreements?q=PA-", headers={"HX-Request": "true", "HX-Target": "register-results"})
    assert fragment.get_data(as_text=True).startswith('<div id="register-results">')


def test_impossible_register_filters_do_not_fail(client, people, login):
    login(people.worker)
    for query in ("?page=-4", "?page=abc", "?status=nonsense", "?worker=%27", "?q=" + "x" * 5000):
        assert client.get("/agreements" + query).status_code == 200


def test_removing_a_row_keeps_every_other_rows_identity(client, people, login, make_agreement, good_partnership):
    """An agency's link, acknowledgement and reports, and a breach's action, stay with their own row."""
    from tracker.records import breaches

    second = {"name": "Dr Patel", "agency_name": "Market Street Surgery", "agency_kind": "gp", "role": "GP",
              "email": "gp@surgery.example", "breach_contact": False}
    agreement = make_agreement(status="active", recipients=[
        {"name": "Jo Bloggs", "agency_name": "Riverside Primary School", "agency_kind": "school",
         "role": "DSL", "email": "dsl@school.example", "breach_contact": False}, second])
    school, gp = list(Recipient.select().where(Recipient.agreement == agreement).order_by(Recipient.position))
    Recipient.update(acknowledged_at=dt.datetime(2026, 11, 24, 9, 0)).where(Recipient.id == gp.id).execute()
    school_link, gp_link = tokens.token_for(school), tokens.token_for(gp)
    first_action, second_action = list(Action.select().where(Action.agreement == agreement).order_by(Action.position))
    breach = breaches.log(agreement, {"description": "Visit missed", "reported_by": "School",
                                      "action": str(second_action.id)}, dt.datetime(2026, 11, 23, 10, 0),
                          user=people.worker)
    login(people.worker)
    page = client.get(f"/agreements/{agreement.id}/edit").get_data(as_text=True)
    assert f'name="recipients-1-id" value="{gp.id}"' in page
    form = good_partnership(social_worker=str(people.worker.id), **{
        "actions-0-id": str(second_action.id), "actions-0-what": second_action.what, "actions-0-who": second_action.who,
        "actions-0-side": "professional", "actions-0-timescale": second_action.timescale,
        "actions-1-what": None, "actions-1-who": None, "actions-1-side": None, "actions-1-timescale": None,
        "recipients-0-id": str(gp.id), "recipients-0-name": "Dr Patel", "recipients-0-agency_name": "Market Street Surgery",
        "recipients-0-agency_kind": "gp", "recipients-0-role": "GP", "recipients-0-email": "gp@surgery.example"})
    assert client.post(f"/agreements/{agreement.id}/edit", data=form).status_code == 302
    # Removing an action from an active record is a variation: in force once a manager endorses it (R11).
    assert Action.get_by_id(first_action.id).removed_at is None
    client.post("/logout")
    assert client.get(f"/a/{school_link}").status_code == 410  # the removed agency's link stops (and offers a new one)
    page = client.get(f"/a/{gp_link}").get_data(as_text=True)
    assert "Your copy, Dr Patel" in page and "Acknowledged on" in page  # the GP keeps its own entry
    assert Recipient.get_by_id(school.id).removed_at is not None

    lifecycle.submit(Agreement.get_by_id(agreement.id), people.worker, dt.datetime(2026, 11, 23, 10, 0))
    lifecycle.endorse(Agreement.get_by_id(agreement.id), people.manager, dt.datetime(2026, 11, 23, 11, 0), "test")
    assert Action.get_by_id(first_action.id).removed_at is not None
    assert breach.__class__.get_by_id(breach.id).action.what == second_action.what


def test_someone_added_to_an_active_record_gets_their_copy(client, people, login, make_agreement, good_partnership):
    from tracker.models import Notification

    agreement = make_agreement(status="active")
    school = Recipient.get(Recipient.agreement == agreement)
    login(people.worker)
    form = good_partnership(social_worker=str(people.worker.id), **{
        "recipients-0-id": str(school.id),
        "recipients-1-name": "Kim Hale", "recipients-1-agency_name": "Riverside Health Visiting Service",
        "recipients-1-agency_kind": "health_visiting", "recipients-1-role": "Health visitor",
        "recipients-1-email": "hv@health.example"})
    assert client.post(f"/agreements/{agreement.id}/edit", data=form).status_code == 302
    added = Recipient.get(Recipient.email == "hv@health.example")
    assert added.copy_sent_at is not None and added.chase_at is not None
    assert Notification.select().where((Notification.kind == "copy_issued")
                                       & (Notification.to_address == "hv@health.example")).count() == 1
    assert Notification.select().where((Notification.kind == "copy_issued")
                                       & (Notification.to_address == "dsl@school.example")).count() == 1


def test_an_active_undertakings_window_cannot_be_moved_through_the_edit_form(client, people, login, make_agreement, good_undertaking):
    from tests.conftest import NOW

    agreement = make_agreement(kind="undertaking", status="active")
    login(people.worker)
    form = good_undertaking(social_worker=str(people.worker.id), **{
        "window_ends_at-day": "26", "window_ends_at-time": "08:00"})
    response = client.post(f"/agreements/{agreement.id}/edit", data=form)
    # A new window is something the family agrees to: it is a variation, in
    # force only once a manager endorses it (R11), never a silent restart of R4's ladder.
    assert response.status_code == 302
    assert Agreement.get_by_id(agreement.id).window_ends_at == agreement.window_ends_at
    from tracker.models import Variation

    assert "2026-11-26T08:00" in Variation.get(Variation.agreement == agreement).data
    assert Agreement.get_by_id(agreement.id).window_ends_at == NOW + dt.timedelta(hours=48)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"review_at-year": "9999", "review_at-month": "12", "review_at-day": "31"}, "between 1900 and 2100"),
        ({"review_at-year": "0001"}, "must be a real date"),
        ({"completed_on-year": "2100"}, "Date completed must be today or in the past"),
        ({"children-0-date_of_birth-year": "1850"}, "between 1900 and 2100"),
    ],
)
def test_dates_far_out_are_refused_beside_the_field_not_with_a_500(client, people, login, overrides, message, good_partnership):
    login(people.worker)
    response = client.post("/agreements/new?kind=partnership",
                           data=good_partnership(social_worker=str(people.worker.id), **overrides))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_a_service_manager_oversees_records_but_does_not_create_them(client, people, login, good_undertaking):
    login(people.head)
    assert client.post("/agreements/new?kind=undertaking", data=good_undertaking()).status_code == 403
    assert "New agreement" not in client.get("/agreements").get_data(as_text=True)


def test_huge_numbers_in_queries_and_forms_do_not_fail(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    login(people.worker)
    assert client.get("/agreements?page=99999999999999999999999").status_code == 200
    response = client.post(f"/agreements/{agreement.id}/breaches/new", data={
        "immediate_risk": "no", "description": "Missed nursery", "reported_by": "Nursery",
        "action": "99999999999999999999999"})
    assert response.status_code == 302
