"""Signing in, lockout, the secret key, the create-user command and administration."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tracker import config
from tracker.models import Agency, AuditEvent, Setting, SignInFailures, User


def test_sign_in_and_out(client, people):
    response = client.post("/login", data={"email": "WORKER@council.example ", "password": PASSWORD})
    assert response.status_code == 302
    assert "Signed in as Sam Worker" in client.get("/agreements").get_data(as_text=True)
    client.post("/logout")
    assert client.get("/agreements").status_code == 302


def test_wrong_password_and_unknown_email_read_the_same(client, people):
    wrong = client.post("/login", data={"email": people.worker.email, "password": "nope"})
    unknown = client.post("/login", data={"email": "nobody@council.example", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 400
    message = "The email address or password is not right"
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_five_wrong_passwords_make_the_next_try_wait_not_a_lock(client, people):
    for _ in range(5):
        client.post("/login", data={"email": people.worker.email, "password": "wrong"})
    response = client.post("/login", data={"email": people.worker.email, "password": PASSWORD})
    assert response.status_code == 429  # a short wait, which the page states
    assert "try again after" in response.get_data(as_text=True)
    # Once the wait is over, the right password works: nobody can lock a colleague out.
    SignInFailures.update(wait_until=None).execute()
    assert client.post("/login", data={"email": people.worker.email, "password": PASSWORD}).status_code == 302


def test_session_is_renewed_at_sign_in(client, people):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    client.post("/login", data={"email": people.worker.email, "password": PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session


def test_next_parameter_cannot_send_users_elsewhere(client, people):
    response = client.post("/login?next=https://evil.example/", data={"email": people.worker.email, "password": PASSWORD})
    assert response.location == "/"


def test_missing_secret_key_stops_production_start_up(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(config.ConfigError, match="SECRET_KEY is not set"):
        config.from_environment(tmp_path)


def test_development_secret_key_is_generated_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("TRACKER_ENV", raising=False)
    first = config.from_environment(tmp_path)["SECRET_KEY"]
    assert (tmp_path / "secret_key").read_text() == first
    assert config.from_environment(tmp_path)["SECRET_KEY"] == first


def test_bad_setting_in_the_environment_fails_loudly(tmp_path, monkeypatch):
    monkeypatch.setenv("MAIL_PORT", "twenty-five")
    with pytest.raises(config.ConfigError, match="MAIL_PORT must be a whole number"):
        config.from_environment(tmp_path)


def test_create_user_command(app, people):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "--email", "new@council.example", "--name", "New Worker",
                                 "--role", "social_worker", "--team", "North team", "--password", "a-long-password-1"])
    assert result.exit_code == 0, result.output
    assert "Created New Worker" in result.output
    assert User.get(User.email == "new@council.example").team_id == people.north.id
    result = runner.invoke(args=["create-user", "--email", "x@council.example", "--name", "X", "--role",
                                 "social_worker", "--password", "short"])
    assert result.exit_code != 0 and "12 characters" in result.output


def test_init_db_is_safe_to_run_twice(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["init-db"]).exit_code == 0
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0 and "up to date" in result.output


def test_admin_adds_a_user_with_good_and_bad_input(client, people, login):
    login(people.admin)
    response = client.post("/admin/users/new", data={"name": "", "email": "bad", "role": "social_worker", "team": "0"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Enter the person&#39;s full name" in page
    response = client.post("/admin/users/new", data={"name": "Kim New", "email": "kim@council.example",
                                                     "role": "social_worker", "team": str(people.north.id),
                                                     "password": "a-long-password-1", "active": "y"})
    assert response.status_code == 302
    assert User.get(User.email == "kim@council.example").role == "social_worker"
    assert AuditEvent.select().where(AuditEvent.action == "user_created").count() >= 1


def test_admin_adds_an_agency(client, people, login):
    login(people.admin)
    response = client.post("/admin/agencies/new", data={"name": "Hill Nursery", "kind": "nursery",
                                                        "email": "hill@nursery.example", "active": "y"})
    assert response.status_code == 302
    assert Agency.get().kind == "nursery"


def test_admin_settings_validate_and_save(client, people, login):
    login(people.admin)
    response = client.post("/admin/settings", data={"undertaking_ceiling_hours": "lots"})
    assert response.status_code == 400
    assert "enter a whole number" in response.get_data(as_text=True)
    form = {"undertaking_ceiling_hours": "48", "jargon": "CSC, CP, CIN, S47, LAC, PLO, ICPC, RCPC, FGC, MASH, TAF"}
    response = client.post("/admin/settings", data=form)
    assert response.status_code == 302
    assert Setting.get_by_id("undertaking_ceiling_hours").value == "48"
    assert "TAF" in Setting.get_by_id("jargon").value


def test_admin_settings_refuse_values_that_would_break_the_schedule(client, people, login):
    login(people.admin)
    response = client.post("/admin/settings", data={"report_request_days": "1000000"})
    assert response.status_code == 400 and "between 0 and 365" in response.get_data(as_text=True)
    response = client.post("/admin/settings", data={"report_request_days": "3", "report_due_days": "5"})
    assert response.status_code == 400
    assert "fewer days before a review than they are first asked for" in response.get_data(as_text=True)
    assert not Setting.select().exists()
