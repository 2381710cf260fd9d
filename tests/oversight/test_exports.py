"""CSV exports read like the screen they came from, and say what filter made them."""

from __future__ import annotations

import csv
import io

import time_machine

from tests.conftest import NOW
from tracker.models import Breach


def _csv(client, url: str) -> list[list[str]]:
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_breaches_export_names_its_columns_as_the_screen_does(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    Breach.create(agreement=agreement, occurred_at=NOW, description="Dad came to the house.", reported_by="School",
                  created_at=NOW, immediate_risk=True)
    login(people.manager)
    with time_machine.travel(NOW, tick=False):
        page = client.get("/").get_data(as_text=True)
        made_by, header, row = _csv(client, "/dashboard/breaches.csv")
    assert made_by == ["Breaches awaiting acknowledgement: North team's records, as of 23 November 2026 at 9am (London time)"]
    assert header == ["Record", "Child", "Social worker", "Reported (London time)", "What happened"]
    for column in ("Record", "Child", "Social worker", "Reported", "What happened"):
        assert f'<th scope="col" class="govuk-table__header">{column}</th>' in page
    assert row[0] == agreement.reference and row[3] == "2026-11-23 09:00"
    assert row[4] == "URGENT: Dad came to the house."


def test_the_first_row_says_which_filter_made_the_export(client, people, login, make_agreement):
    make_agreement(status="active")
    login(people.head)
    made_by = _csv(client, f"/dashboard/overdue_reviews.csv?worker={people.worker.id}&kind=partnership")[0][0]
    assert made_by.startswith(f"Overdue reviews: {people.worker.name}'s records, partnership agreements only, as of ")
    assert _csv(client, "/dashboard/overdue_reviews.csv")[0][0].startswith("Overdue reviews: every team, as of ")
    login(people.worker)
    assert _csv(client, "/dashboard/unacknowledged.csv")[0][0].startswith("Copies not acknowledged: your caseload")
