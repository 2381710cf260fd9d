"""The demo (flask seed-demo) prints a parent's own link and code, and they work as the issue's "done when" says."""

from __future__ import annotations

import re

from tracker.models import FamilyRead, Notification


def test_the_demo_parent_opens_enters_their_code_reads_and_confirms(app):
    app.config["BASE_URL"] = "http://127.0.0.1:8123"
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    found = re.search(r"A parent's own copy \(open it on a phone\): http://127\.0\.0\.1:8123(/f/[a-z2-9]{12})  code "
                      r"([A-Z2-9]{6})", result.output)
    assert found, result.output
    path, code = found.groups()
    client = app.test_client()
    assert client.get(path).status_code == 302  # a new phone: the code first
    assert client.post(f"{path}/code", data={"code": code}).status_code == 303
    page = client.get(path).get_data(as_text=True)
    assert "Your copy of the agreement" in page and "Exit this page" in page
    assert client.post(f"{path}/read").status_code == 303
    assert FamilyRead.select().count() == 1
    # Their link went by email too, naming nobody in its subject.
    email = Notification.get(Notification.kind == "family_link")
    assert path in email.body_text and email.subject == "Your copy is ready to read"
