"""Lighthouse at phone size on the staff pages: `make lighthouse`.

1. Serve the app with the demo caseload on a free port of 127.0.0.1, in a
   throwaway instance folder.
2. Sign in as the demo team manager (the User-Agent Lighthouse will send, so
   Flask-Login's strong session protection keeps the session).
3. Run Lighthouse 12 (pinned in package.json beside this file) with Debian's
   Chromium on each page at 390 x 844, and hold each to: accessibility 100,
   best practices 100, cumulative layout shift at most 0.05.

It takes about half a minute a page, so it is its own make target, not part
of `make test`. Exit status 1 when any page misses a target.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FLASK = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi"]
LIGHTHOUSE = HERE / "node_modules" / ".bin" / "lighthouse"
AGENT = "Mozilla/5.0 (Linux; Android 11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36"
MOST_SHIFT = 0.05
MANAGER = "maria.manager@example.org"
PASSWORD = "demo-password-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sign_in(base: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", AGENT)]
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrf_token": token, "email": MANAGER, "password": PASSWORD}).encode()
    opener.open(f"{base}/login", form).read()
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def pages(base: str, cookie: str) -> list[str]:
    """The staff pages, with a real record, undertaking and breach from the demo."""
    opener = urllib.request.build_opener()
    opener.addheaders = [("User-Agent", AGENT), ("Cookie", cookie)]
    dashboard = opener.open(f"{base}/").read().decode()
    records = sorted(set(re.findall(r'href="/agreements/(\d+)"', dashboard)), key=int)
    record = records[0] if records else "1"
    return ["/", "/agreements", f"/agreements/{record}", f"/agreements/{record}/edit",
            f"/agreements/{record}/history", f"/agreements/{record}/review", "/agreements/new?kind=partnership",
            "/agreements/new?kind=undertaking", "/breaches/new"]


def audit(url: str, cookie: str, out: Path) -> dict:
    subprocess.run(
        [str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={out}",
         "--only-categories=accessibility,best-practices,performance",
         "--form-factor=mobile", "--screenEmulation.mobile", "--screenEmulation.width=390",
         "--screenEmulation.height=844", "--screenEmulation.deviceScaleFactor=2",
         f"--emulatedUserAgent={AGENT}", "--extra-headers", json.dumps({"Cookie": cookie}),
         "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"],
        check=True, env={**os.environ, "CHROME_PATH": shutil.which("chromium") or "/usr/bin/chromium"}, timeout=180,
    )
    report = json.loads(out.read_text())
    return {
        "url": report["finalDisplayedUrl"],
        "accessibility": report["categories"]["accessibility"]["score"],
        "best-practices": report["categories"]["best-practices"]["score"],
        "performance": report["categories"]["performance"]["score"],
        "cls": report["audits"]["cumulative-layout-shift"]["numericValue"],
        "failing": [a["id"] for a in report["audits"].values() if a.get("score") is not None and a["score"] < 1
                    and a.get("scoreDisplayMode") == "binary"],
    }


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="lighthouse-"))
    port = free_port()
    env = {**os.environ, "TRACKER_INSTANCE": str(work / "instance"), "FLASK_RUN_PORT": str(port),
           "FLASK_RUN_HOST": "127.0.0.1", "SCHEDULER_ENABLED": "false"}
    env.pop("MAIL_SERVER", None)
    env.pop("DATABASE_URL", None)
    subprocess.run([*FLASK, "init-db"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*FLASK, "seed-demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    server = subprocess.Popen([*FLASK, "run", "--no-reload"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    missed = []
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/login", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        cookie = sign_in(base)
        for path in pages(base, cookie):
            result = audit(base + path, cookie, work / "report.json")
            line = (f"{path:40} accessibility {result['accessibility']:.2f}  best practices "
                    f"{result['best-practices']:.2f}  performance {result['performance']:.2f}  CLS {result['cls']:.3f}")
            print(line, flush=True)
            if not result["url"].endswith(path) or "/login" in result["url"] and path != "/login":
                missed.append(f"{path}: was sent to {result['url']}")
            elif result["accessibility"] < 1 or result["best-practices"] < 1 or result["cls"] > MOST_SHIFT:
                missed.append(f"{path}: {result['failing']}")
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    for problem in missed:
        print("MISSED", problem)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
