"""One scheduler's worth of email whatever the deployment (issue 20): two gunicorn workers, each running the
in-process scheduler, send every queued email exactly once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.conftest import Inbox, free_port

ROOT = Path(__file__).resolve().parents[2]
QUEUED = 40

QUEUE = f"""
from wsgi import app
from tracker.notices.notify import enqueue
from tracker.db import database
with app.app_context():
    with database.atomic():
        for n in range({QUEUED}):
            enqueue(f"test/{{n}}", "retention_review", f"person{{n}}@council.example",
                    context={{"records": [], "manager": {{"name": "Maria"}}}})
"""


def test_two_gunicorn_workers_with_the_scheduler_on_send_each_email_once(tmp_path):
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    database = tmp_path / "gunicorn.db"
    env = {**os.environ, "TRACKER_INSTANCE": str(tmp_path / "instance"), "DATABASE_URL": f"sqlite:///{database}",
           "SCHEDULER_ENABLED": "false", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port), "PYTHONUNBUFFERED": "1"}
    bin_dir = ROOT / ".venv" / "bin"
    subprocess.run([str(bin_dir / "flask"), "--app", "wsgi", "init-db"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=60)
    subprocess.run([sys.executable, "-c", QUEUE], cwd=ROOT, env=env, check=True, capture_output=True, timeout=60)
    server = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{free_port()}", "wsgi:app"], cwd=ROOT,
        env={**env, "SCHEDULER_ENABLED": "true"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(inbox.messages) < QUEUED:
            time.sleep(0.25)
        time.sleep(2)  # a second sender would show itself now
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
        controller.stop()
    assert output.count("Scheduler started in gunicorn worker") == 2, output
    ids = Counter(message["Message-ID"] for _, message in inbox.messages)
    assert len(ids) == QUEUED and set(ids.values()) == {1}, ids.most_common(3)
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT status, count(*) FROM notification GROUP BY status").fetchall() == [("sent", QUEUED)]
