"""`make bench` (after bench.run): a 5,000-row spreadsheet import, which must take under a minute.

Kept apart from bench/run.py. Makes a real XLSX with openpyxl, then times the
three steps the import page runs (read, check every row, commit in one
transaction) on a fresh SQLite database under bench/tmp/, and on PostgreSQL
when DATABASE_URL names one. Writes bench/import_results.json and prints a line.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import time
from pathlib import Path

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "5000"))
TARGET_SECONDS = 60
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


def measure(url: str) -> dict:
    from tracker import create_app, db
    from tracker.clock import utcnow
    from tracker.governance import imports
    from tracker.models import Agreement, Team
    from tracker.people.accounts import create_user

    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "bench", "MAIL_SERVER": None})
    with app.app_context():
        database = db.database.obj
        database.connect(reuse_if_open=True)
        db.migrate()
        team = Team.create(name="Bench team")
        for n in range(20):
            create_user(f"worker{n}@bench.example", f"Worker {n}", "bench-password-1", "social_worker", team)
        admin = create_user("admin@bench.example", "Admin", "bench-password-1", "administrator", None)
        data = spreadsheet(ROWS)
        now = utcnow()
        started = time.perf_counter()
        rows = imports.read("bench.xlsx", data)
        read_s = time.perf_counter() - started
        plans = imports.check(rows, admin, now)
        check_s = time.perf_counter() - started - read_s
        assert imports.error_count(plans) == 0, [p.errors for p in plans if p.errors][:3]
        imports.commit(plans, admin, now, filename="bench.xlsx")
        total = time.perf_counter() - started
        assert Agreement.select().count() == ROWS
        database.close()
    return {"rows": ROWS, "file_bytes": len(data), "read_s": round(read_s, 2), "check_s": round(check_s, 2),
            "commit_s": round(total - read_s - check_s, 2), "total_s": round(total, 2),
            "target_s": TARGET_SECONDS, "met": total < TARGET_SECONDS}


def main() -> None:
    tmp = HERE / "tmp" / "imports"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    os.environ["TRACKER_INSTANCE"] = str(tmp / "instance")
    results = {"sqlite": measure(f"sqlite:///{tmp / 'import.db'}")}
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        admin_url = url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS bench_import")
            conn.execute("CREATE DATABASE bench_import")
        try:
            results["postgresql"] = measure(url.rsplit("/", 1)[0] + "/bench_import")
        finally:
            from tracker import db

            if db.database.obj is not None and not db.database.is_closed():
                db.database.close()
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS bench_import WITH (FORCE)")
    (HERE / "import_results.json").write_text(json.dumps(results, indent=2) + "\n")
    for engine, r in results.items():
        print(f"Import of {r['rows']:,} rows ({engine}): {r['total_s']} s (read {r['read_s']}, check {r['check_s']}, "
              f"commit {r['commit_s']}); target under {TARGET_SECONDS} s: {'met' if r['met'] else 'MISSED'}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
