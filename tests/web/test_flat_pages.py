"""Issue 24: a record page and the register (plain and searched) run the same number of
SQL statements whatever the size of the service (bench.seed at two scales). Counts, not times."""

from __future__ import annotations

SMALL, LARGE = 0.004, 0.012


def test_record_and_register_do_not_run_more_statements_with_more_data(statements):
    counts = []
    for scale in (SMALL, LARGE):
        service = statements.seed(scale)
        record = service.record_ids[0]
        counts.append(statements.of(service.manager_email, [
            f"/agreements/{record}", "/agreements", "/agreements?q=Murphy", "/agreements?q=PA-0",
            "/agreements?status=active&page=2"]))
    small, large = counts
    grown = {page: (small[i], n) for i, (page, n) in enumerate(zip(small.values(), large.values()))
             if n > list(small.values())[i]}
    assert not grown, {"at 1x": small, "at 3x": large}
