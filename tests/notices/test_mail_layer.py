"""Flask-Mail as the mail layer, and the council's identity on every email and link."""

from __future__ import annotations

import socket
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from flask_mail import Message

from jobs import delivery
from jobs.delivery import deliver_pending
from tests.conftest import NOW
from tracker import config, settings
from tracker.models import Notification


def test_each_email_is_a_flask_mail_message_from_the_council_with_a_reply_to(smtp, make_agreement):
    settings.put("council_name", "Northshire Council")
    settings.put("service_name", "Children's Services")
    settings.put("front_door_email", "duty@northshire.example")
    make_agreement(status="active")  # queues the school's copy
    row = Notification.get()
    assert isinstance(delivery.build_message(row, delivery.identity({})), Message)

    assert deliver_pending(NOW).sent == 1
    [email] = smtp.to("dsl@school.example")
    assert email["From"].addresses[0].display_name == "Northshire Council Children's Services"
    assert email["From"].addresses[0].addr_spec == "agreement-tracker@localhost"
    assert email["Reply-To"] == "duty@northshire.example"
    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    assert text.rstrip().endswith("Children's Services, Northshire Council")
    assert "Children&#39;s Services, Northshire Council" in html or "Children's Services, Northshire Council" in html
    assert "Agreement tracker" not in text


def test_address_punctuation_in_the_council_name_cannot_split_the_from_header(smtp, make_agreement):
    settings.put("council_name", "Borough of Northshire, (Unitary) Council")
    make_agreement(status="active")
    deliver_pending(NOW)
    [sender] = smtp.to("dsl@school.example")[0]["From"].addresses
    assert sender.display_name == "Borough of Northshire Unitary Council Children's Social Care"
    assert sender.addr_spec == "agreement-tracker@localhost"


def test_mail_reply_to_setting_wins_over_the_front_door(smtp, app, make_agreement):
    app.config["MAIL_REPLY_TO"] = "replies@council.example"
    make_agreement(status="active")
    deliver_pending(NOW)
    assert smtp.to("dsl@school.example")[0]["Reply-To"] == "replies@council.example"


def test_a_long_subject_is_folded_without_an_empty_first_line(smtp, make_agreement):
    make_agreement(status="active")
    long_subject = ("Please acknowledge your copy of PA-00001 (AK) " + "and read it carefully " * 6).strip()
    Notification.update(subject=long_subject).execute()
    raw = delivery.build_message(Notification.get(), delivery.identity({})).as_bytes()
    headers = raw.split(b"\r\n\r\n")[0].split(b"\r\n")
    first = next(i for i, line in enumerate(headers) if line.startswith(b"Subject:"))
    assert headers[first].strip() != b"Subject:"  # words on the first line, not an empty one
    assert all(len(line) <= 78 for line in headers[first:first + 4])
    deliver_pending(NOW)
    assert smtp.to("dsl@school.example")[0]["Subject"] == long_subject


def test_with_no_mail_server_each_email_is_written_as_an_eml_file(app, make_agreement):
    make_agreement(status="active")
    assert deliver_pending(NOW).sent == 1
    [path] = (Path(app.instance_path) / "mail").glob("*.eml")
    email = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert email["To"] == "dsl@school.example"
    assert "Children's Social Care, Example Council" in email.get_body(("plain",)).get_content()


def test_a_server_that_accepts_but_never_answers_is_given_up_within_the_timeout(app, make_agreement):
    """The Connection subclass's timeout: a silent server costs one MAIL_TIMEOUT, not forever."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])  # and never say hello
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=listener.getsockname()[1], MAIL_TIMEOUT=1)
    make_agreement(status="active")
    began = time.monotonic()
    try:
        report = deliver_pending(NOW)
    finally:
        stop.set()
        thread.join()
        for sock in accepted:
            sock.close()
        listener.close()
    assert time.monotonic() - began < 5
    row = Notification.get()
    assert report.retry == 1 and row.status == "pending" and row.attempts == 0
    assert "timed out" in row.last_error


def test_a_4xx_answer_is_retried_and_a_5xx_answer_fails(smtp, make_agreement):
    make_agreement(status="active")
    smtp.temporary_failure = True
    deliver_pending(NOW)
    assert Notification.get().status == "pending" and "451" in Notification.get().last_error
    smtp.temporary_failure = False
    smtp.refuse.add("dsl@school.example")
    deliver_pending(NOW + delivery.FIRST_RETRY)
    row = Notification.get()
    assert row.status == "failed" and "550" in row.last_error


def test_production_without_base_url_stops_start_up_with_a_message(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 32)
    monkeypatch.delenv("BASE_URL", raising=False)
    with pytest.raises(config.ConfigError, match="BASE_URL is not set"):
        config.from_environment(tmp_path)


def test_in_development_links_point_at_the_host_and_port_served(tmp_path, monkeypatch):
    monkeypatch.delenv("TRACKER_ENV", raising=False)
    monkeypatch.delenv("BASE_URL", raising=False)
    monkeypatch.setenv("FLASK_RUN_HOST", "127.0.0.1")
    monkeypatch.setenv("FLASK_RUN_PORT", "8123")
    assert config.from_environment(tmp_path)["BASE_URL"] == "http://127.0.0.1:8123"
    monkeypatch.setenv("BASE_URL", "https://agreements.example.gov.uk/")
    assert config.from_environment(tmp_path)["BASE_URL"] == "https://agreements.example.gov.uk"


def test_seed_demo_prints_the_address_served(app):
    app.config["BASE_URL"] = "http://127.0.0.1:8123"
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "Sign in at http://127.0.0.1:8123 " in result.output
