"""What the load and fault tests drive from outside: gunicorn, the job runner, a browser.

The application runs here as it does in production, in processes of its own
started from this virtualenv's binaries, so a SIGKILL or four workers writing
at once are real. `SOAK=full` (`make soak`) makes every test full size.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from tests.conftest import Inbox

FULL = os.environ.get("SOAK") == "full"
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def size(small, full):
    """The small figure for `make test`, the full one for `make soak`."""
    return full if FULL else small


def environment(database_url: str, instance: Path, **extra: str) -> dict[str, str]:
    """A production environment for a child process: no mail server, no scheduler unless given."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAIL_SERVER", "SCHEDULER_ENABLED", "DATABASE_URL")}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY="load-test-secret-key",
        TRACKER_ENV="production",
        TRACKER_INSTANCE=str(instance),
        SESSION_COOKIE_SECURE="false",
        BASE_URL="http://tracker.test",
        PYTHONUNBUFFERED="1",
        OFFICE_HOURS="Mon-Sun 00:00-24:00",  # no out-of-hours copies coming and going with the clock
        # Production refuses a per-process limiter store; each environment counts apart from every other run.
        RATELIMIT_STORAGE_URI=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
        RATELIMIT_KEY_PREFIX=f"tracker-test-{uuid.uuid4().hex}",
    )
    env.update(extra)
    return env


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode} before it listened")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listened on port {port} within {timeout} seconds")


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if it does not go; always reaped."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


class Gunicorn:
    """`gunicorn -w N wsgi:app` on a free port, stopped on leaving the block."""

    def __init__(self, port: int, env: dict[str, str], log: Path, workers: int = 4):
        self.port = port
        self.log = log
        self.args = [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--chdir", str(ROOT),
                     "--timeout", "60", "--error-logfile", str(log), "wsgi:app"]
        self.env = env
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        self.process = subprocess.Popen(self.args, env=self.env, cwd=ROOT,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(self.port, self.process)
        except BaseException:
            stop(self.process)
            raise
        return self

    def __exit__(self, *exc) -> None:
        stop(self.process)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def errors(self) -> str:
        """Tracebacks from the workers' log: a 500 shows here."""
        text = self.log.read_text() if self.log.exists() else ""
        return text if "Traceback" in text else ""


def flask_command(*args: str, env: dict[str, str], **options) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "flask"), "--app", "wsgi", *args], env=env, cwd=ROOT, **options)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the test looks at the 302 itself


class Browser:
    """One person's browser: a cookie jar, no redirects followed, the CSRF token read from each form."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirects()
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, dict, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base_url + path, data=body, timeout=60) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as answer:
            with answer:
                return answer.code, dict(answer.headers), answer.read().decode()

    def form_token(self, path: str) -> str:
        status, _, page = self.request(path)
        assert status == 200, f"GET {path}: {status}\n{page[:500]}"
        found = CSRF.search(page)
        assert found, f"no csrf_token on {path}"
        return found.group(1)

    def submit(self, path: str, fields: dict) -> tuple[int, dict, str]:
        """GET the form for its token, then POST it, as a person would."""
        return self.request(path, {"csrf_token": self.form_token(path), **fields})

    def sign_in(self, email: str, password: str) -> None:
        status, headers, page = self.submit("/login", {"email": email, "password": password})
        assert status == 302, f"sign-in: {status}\n{page[:500]}"


class SlowInbox(Inbox):
    """A mail server that takes `delay` seconds over each message, so a runner can be caught mid-send."""

    def __init__(self, delay: float):
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)
