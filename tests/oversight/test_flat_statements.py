"""Issue 24: the dashboards, the service view and its CSV run the same number of SQL
statements whatever the size of the service (bench.seed at two scales, a team's
caseload growing with the number of teams). Counts, not times."""

from __future__ import annotations

SMALL, LARGE = 0.004, 0.012  # 400 and 1,200 records: 3 and 5 teams


def test_oversight_pages_do_not_run_more_statements_with_more_data(page_statements, monkeypatch):
    # Lists of ids were read in chunks of 500; at 10 a chunk the small services here
    # would show a count that grows with the records, if one were still chunked.
    monkeypatch.setattr("tracker.records.warnings.CHUNK", 10)
    counts = []
    for scale in (SMALL, LARGE):
        service = page_statements.seed(scale)
        assert service.counts["teams"] < round(50 * LARGE ** 0.5) or scale == LARGE
        found = {}
        for who, email, paths in (
                ("team manager", service.manager_email, ["/"]),
                ("front door", service.front_door_email, ["/"]),
                ("service manager", service.service_manager_email, ["/", "/service/", "/service/figures.csv"])):
            # Every statement counted: a dashboard asks for each table's page even when
            # it is empty, so which tables have rows must not change the count either.
            found[who] = page_statements.of(email, paths)
        counts.append(found)
    small, large = counts
    assert large == small, {"at 1x": small, "at 3x": large}
