"""Issue 24: a record page and the register (plain and searched) run the same number of
SQL statements whatever the size of the service (bench.seed at two scales). Counts, not times."""

from __future__ import annotations

SMALL, LARGE = 0.004, 0.012


def test_record_and_register_do_not_run_more_statements_with_more_data(page_statements, monkeypatch):
    # One candidate a child, so that at 3x a date of birth has more candidates than
    # that (a record page once read each child again past that number).
    monkeypatch.setattr("tracker.records.identity.CANDIDATES", 1)
    monkeypatch.setattr("tracker.records.warnings.CHUNK", 1)
    counts = []
    for scale in (SMALL, LARGE):
        service = page_statements.seed(scale)
        record = service.record_ids[0]
        if scale == LARGE:
            _share_a_birthday(record, service.record_ids[1:4])
        # Keyed by the page's role: the two seeds give the record different ids.
        pages = {"record page": f"/agreements/{record}", "register": "/agreements",
                 "register searched for a surname": "/agreements?q=Murphy",
                 "register searched for a reference": "/agreements?q=PA-0",
                 "register's second page of active records": "/agreements?status=active&page=2"}
        found = page_statements.of(service.manager_email, list(pages.values()))
        counts.append({role: found[path] for role, path in pages.items()})
    small, large = counts
    assert small.keys() == large.keys()
    grown = {page: (small[page], large[page]) for page in small if large[page] > small[page]}
    assert not grown, {"at 1x": small, "at 3x": large}


def _share_a_birthday(record: int, others: list[int]) -> None:
    """Children born the same day as the record's first child, named on other records of
    its team: candidates the record page must weigh, in the same statements."""
    from tracker.models import AgreementChild, Child

    born = Child.select(Child.date_of_birth).join(AgreementChild).where(AgreementChild.agreement == record).scalar()
    for i, other in enumerate(others):
        child = Child.create(name=f"Twin Number{i}", normalised_name=f"twin number{i}", date_of_birth=born)
        Child.update(identity=child.id).where(Child.id == child.id).execute()
        AgreementChild.create(agreement=other, child=child, position=5)
