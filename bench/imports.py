"""`make bench` (after bench.run): the 5,000-row spreadsheet import against a bulk insert of the same rows.

Kept apart from bench/run.py. Makes a real XLSX with openpyxl, then, in one run
and on each engine (SQLite under bench/tmp/; PostgreSQL when DATABASE_URL names
one), alternates for ROUNDS rounds, each on a fresh database:

- the import: the job runner's steps, checking every row and recording it
  (tracker.governance.imports.check and commit), timed from the rows read;
  reading the XLSX (openpyxl) is timed apart, since the bulk insert has no file;
- the floor: the very rows that import wrote (every table it touches, read
  back from the imported database), inserted with `insert_many` in one
  transaction into a fresh database with the same users;
- and, for the database's own share, the same rows inserted by the import's
  SQL built once a table (import_writer.Rows): the import against it is the
  cost of its checks, versions and audit in Python.

Target: the import ≤ 2× the bulk insert (the median of each). Writes
bench/import_results.json (this run's figures only, with date, commit and load)
and prints a line per engine.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "5000"))
ROUNDS = int(os.environ.get("BENCH_IMPORT_ROUNDS", "3"))
TARGET_RATIO = 2.0
HERE = Path(__file__).resolve().parent


def spreadsheet(rows: int) -> bytes:
    from openpyxl import Workbook

    from tracker.governance.imports import NAMES

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Records")
    sheet.append(NAMES)
    for n in range(rows):
        partnership = n % 5 != 0
        values = {
            "reference": f"LEGACY-{n:05d}", "kind": "partnership" if partnership else "undertaking",
            "social_worker_email": f"worker{n % 20}@bench.example",
            "child_name": f"Child {n}", "child_date_of_birth": dt.date(2012 + n % 12, 1 + n % 12, 1 + n % 28),
            "completed_on": dt.date(2026, 10, 1 + n % 28), "purpose": "To keep the child safe at home.",
            "actions": "Parent will take the child to school; Social worker will visit fortnightly",
            "family_members": "A Parent (mother)",
            "next_review_date": dt.date(2026, 11, 1) + dt.timedelta(days=n % 120) if partnership else "",
            "next_review_time": "10:00" if partnership else "",
            "undertaking_starts": "" if partnership else "20/11/2026 09:00",
            "undertaking_ends": "" if partnership else f"{1 + n % 28:02d}/12/2026 09:00",
            "agency_name": "Riverside Primary School", "agency_contact": "Jo Bloggs", "agency_email": "dsl@school.example",
        }
        sheet.append([values.get(name, "") for name in NAMES])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# The tables an import writes, in an order their foreign keys allow.
def _written():
    from tracker.models import (
        Action,
        Agreement,
        AgreementChild,
        AgreementVersion,
        AuditEvent,
        Child,
        Party,
        Recipient,
        Review,
    )

    return [Child, Agreement, AgreementChild, Action, Party, Recipient, Review, AgreementVersion, AuditEvent]


def _fresh(url: str):
    """A migrated database at `url` with the bench's team, 20 workers and an administrator."""
    from tracker import create_app, db
    from tracker.models import Team
    from tracker.people.accounts import create_user

    if url.startswith("postgres"):
        import psycopg

        admin_url = url.rsplit("/", 1)[0] + "/postgres"
        name = url.rsplit("/", 1)[1]
        if db.database.obj is not None and not db.database.is_closed():
            db.database.close_all() if hasattr(db.database.obj, "close_all") else db.database.close()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
    else:
        Path(url[len("sqlite:///"):]).unlink(missing_ok=True)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "bench", "MAIL_SERVER": None})
    context = app.app_context()
    context.push()
    db.database.connect(reuse_if_open=True)
    db.migrate()
    team = Team.create(name="Bench team")
    for n in range(20):
        create_user(f"worker{n}@bench.example", f"Worker {n}", "bench-password-1", "social_worker", team)
    admin = create_user("admin@bench.example", "Admin", "bench-password-1", "administrator", None)
    return context, admin


def _counting():
    from tracker.db import database

    target = database.obj
    original = target.execute_sql
    counter = {"n": 0}

    def counted(sql, params=None, *args, **kwargs):
        counter["n"] += 1
        return original(sql, params, *args, **kwargs)

    target.execute_sql = counted
    return counter, lambda: target.__dict__.pop("execute_sql", None)


def _import_round(url: str, data: bytes) -> tuple[dict, dict]:
    from tracker.clock import utcnow
    from tracker.db import database
    from tracker.governance import imports

    context, admin = _fresh(url)
    try:
        before = {model: model.select(model.id).order_by(model.id.desc()).scalar() or 0 for model in _written()}
        started = time.perf_counter()
        rows = imports.read("bench.xlsx", data)
        read_s = time.perf_counter() - started
        now = utcnow()
        counter, stop = _counting()
        started = time.perf_counter()
        plans = imports.check(rows, admin, now)
        check_s = time.perf_counter() - started
        assert imports.error_count(plans) == 0, [p.errors for p in plans if p.errors][:3]
        imports.commit(plans, admin, now, filename="bench.xlsx")
        import_s = time.perf_counter() - started
        stop()
        # What the import wrote, to insert again as the floor (read after the timing).
        written = {model: list(model.select().where(model.id > before[model]).dicts()) for model in _written()}
        written_rows = sum(len(v) for v in written.values())
        database.close()
    finally:
        context.pop()
    return ({"read_s": read_s, "check_s": check_s, "import_s": import_s, "statements": counter["n"],
             "table_rows": written_rows}, written)


def _bulk_round(url: str, written: dict, prepared: bool = False) -> float:
    """The rows inserted in one transaction: by `insert_many` (the target's floor), or with `prepared` by the
    import's own SQL built once a table (import_writer.Rows), the database's share of the import alone."""
    from tracker.db import database
    from tracker.governance.import_writer import Rows

    context, _admin = _fresh(url)
    try:
        started = time.perf_counter()
        with database.atomic():
            for model, rows in written.items():
                if prepared:
                    Rows.insert(model, rows)
                    continue
                width = max(1, len(model._meta.sorted_fields))
                size = max(1, 30000 // width)  # within SQLite's bound parameters
                for start in range(0, len(rows), size):
                    model.insert_many(rows[start:start + size]).execute()
        bulk_s = time.perf_counter() - started
        database.close()
    finally:
        context.pop()
    return bulk_s


def measure(url: str, bulk_url: str, data: bytes) -> dict:
    imports_, bulks, prepared = [], [], []
    for _ in range(ROUNDS):
        figures, written = _import_round(url, data)
        imports_.append(figures)
        bulks.append(_bulk_round(bulk_url, written))
        prepared.append(_bulk_round(bulk_url, written, prepared=True))
    median = {key: statistics.median(f[key] for f in imports_) for key in ("read_s", "check_s", "import_s")}
    bulk = statistics.median(bulks)
    floor = statistics.median(prepared)
    ratio = median["import_s"] / bulk
    return {"rows": ROWS, "rounds": ROUNDS, "table_rows": imports_[0]["table_rows"],
            "statements": imports_[0]["statements"], "read_xlsx_s": round(median["read_s"], 2),
            "check_s": round(median["check_s"], 2), "import_s": round(median["import_s"], 2),
            "bulk_insert_s": round(bulk, 2), "ratio": round(ratio, 2),
            "prepared_insert_s": round(floor, 2), "ratio_to_prepared": round(median["import_s"] / floor, 2),
            "ratio_with_reading": round((median["import_s"] + median["read_s"]) / bulk, 2),
            "import_rounds_s": [round(f["import_s"], 2) for f in imports_], "bulk_rounds_s": [round(b, 2) for b in bulks],
            "prepared_rounds_s": [round(b, 2) for b in prepared],
            "target_ratio": TARGET_RATIO, "met": ratio <= TARGET_RATIO}


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except OSError:
        return ""


def main() -> None:
    tmp = HERE / "tmp" / "imports"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    os.environ["TRACKER_INSTANCE"] = str(tmp / "instance")
    data = spreadsheet(ROWS)
    results = {"measured_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%MZ"), "commit": _commit(),
               "load_average": [round(x, 2) for x in os.getloadavg()], "file_bytes": len(data)}
    results["sqlite"] = measure(f"sqlite:///{tmp / 'import.db'}", f"sqlite:///{tmp / 'bulk.db'}", data)
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        base = url.rsplit("/", 1)[0]
        try:
            results["postgresql"] = measure(base + "/bench_import", base + "/bench_bulk", data)
        finally:
            import psycopg

            from tracker import db

            if db.database.obj is not None and not db.database.is_closed():
                db.database.close()
            with psycopg.connect(base + "/postgres", autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS bench_import WITH (FORCE)")
                conn.execute("DROP DATABASE IF EXISTS bench_bulk WITH (FORCE)")
    (HERE / "import_results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"Import bench at {results['measured_at']} (commit {results['commit']}, load {results['load_average']}):")
    for engine in ("sqlite", "postgresql"):
        r = results.get(engine)
        if r is None:
            continue
        print(f"  {engine}: {r['rows']:,} rows ({r['table_rows']:,} table rows, {r['statements']} statements): "
              f"import {r['import_s']} s (check {r['check_s']}), bulk insert {r['bulk_insert_s']} s: "
              f"{r['ratio']}x (target <= {TARGET_RATIO}x: {'met' if r['met'] else 'MISSED'}); "
              f"the same rows by SQL built once {r['prepared_insert_s']} s ({r['ratio_to_prepared']}x); "
              f"reading the XLSX {r['read_xlsx_s']} s more ({r['ratio_with_reading']}x with it)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
