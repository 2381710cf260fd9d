"""`make bench`, delivery (issue 24): the app's delivery passes against a plain build-and-send, in one run.

1. Seed a service (bench.seed, BENCH_DELIVERY_SCALE, 0.1 by default) into a
   fresh database: SQLite under bench/tmp/, or, when DATABASE_URL names a
   PostgreSQL database, a schema of its own inside it (dropped at the end).
2. Queue real emails through the real path: the sweeps at the seed's `now`
   (reminders, overdue reviews, agency requests and prompts, digests) and at
   its `due_at` (the planted reminders, undertaking warnings, copy chases and
   breach escalations). Those rows are the messages every round sends.
3. An SMTP sink (aiosmtpd's Sink, in a process of its own, as a mail server
   would be) on 127.0.0.1.
4. Rounds (BENCH_DELIVERY_ROUNDS, 7), the two variants interleaved, the order
   alternating (ABBA), each round starting from the same queued rows:
   - plain: one SELECT of the rows' columns as tuples, each message built with
     the stdlib email package (EmailMessage, policy SMTP: text, HTML, the
     calendar invitation) and sent over one smtplib connection kept for the
     whole run. No outbox bookkeeping, no checks.
   - email.mime: the same messages through email.mime and the compat32
     policy, the cheapest way the stdlib builds them (for comparison only).
   - app: `jobs.delivery.deliver_pending` in passes of the runner's size
     (jobs.scheduler.PASS_SIZE) until nothing is due, as the job runner does.
   Each round's rate is messages sent per second; the figure is the median of
   the rounds' app/plain ratios. Statements (peewee's execute_sql) and SMTP
   connections opened (smtplib.SMTP.connect) are counted in the app's rounds.
5. Written into bench/results-<engine>.json under "delivery_bench", with the
   date, commit and load; the file's other keys are kept.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import smtplib
import socket
import statistics
import subprocess
import sys
import time
from email import charset as email_charset
from email.encoders import encode_base64
from email.header import Header
from email.message import EmailMessage
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTP, compat32
from email.utils import formataddr, formatdate, make_msgid

from bench import run as bench_run  # sets the bench's environment first (SECRET_KEY, no scheduler)
from bench import seed as seeding
from tracker.db import database
from tracker.models import Notification

SCALE = float(os.environ.get("BENCH_DELIVERY_SCALE", "0.1"))
ROUNDS = int(os.environ.get("BENCH_DELIVERY_ROUNDS", "7"))
TARGET_RATIO = 0.8
TARGET_STATEMENTS = 1.5
log = bench_run.log


def start_sink() -> tuple[subprocess.Popen, int]:
    port = bench_run.free_port()
    sink = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
                             "-l", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return sink, port
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the SMTP sink did not start")


class Connections:
    """SMTP connections opened (smtplib.SMTP.connect) while counting."""

    def __init__(self):
        self.count = 0
        self.original = smtplib.SMTP.connect

    def __enter__(self):
        original = self.original

        def connect(smtp, *args, **kwargs):
            self.count += 1
            return original(smtp, *args, **kwargs)

        smtplib.SMTP.connect = connect
        return self

    def __exit__(self, *exc):
        smtplib.SMTP.connect = self.original


# --- the plain script -------------------------------------------------------------

COLUMNS = (Notification.id, Notification.to_address, Notification.subject, Notification.body_text,
           Notification.body_html, Notification.ics, Notification.created_at)


def plain_message(row: tuple, sender: tuple[str, str], reply_to: str) -> bytes:
    """The same message the app sends, the way a plain script would build it."""
    row_id, to_address, subject, text, html, calendar, created_at = row
    message = EmailMessage(policy=SMTP)
    message["Subject"] = " ".join(subject.split())
    message["From"] = formataddr(sender)
    message["To"] = to_address
    message["Date"] = formatdate(created_at.replace(tzinfo=dt.UTC).timestamp(), localtime=True)
    message["Message-ID"] = make_msgid(idstring=f"n{row_id}", domain=sender[1].rpartition("@")[2])
    message["Reply-To"] = reply_to
    message.set_content(text, cte="quoted-printable")
    if html:
        message.add_alternative(html, subtype="html", cte="quoted-printable")
    if calendar:
        message.add_attachment(calendar.encode(), maintype="text", subtype="calendar", filename="review.ics",
                               params={"method": "REQUEST"})
    return message.as_bytes()


def mime_message(row: tuple, sender: tuple[str, str], reply_to: str) -> bytes:
    """The same again through email.mime and the default (compat32) policy: the
    cheapest way the stdlib builds it, for comparison (not the target's plain)."""
    row_id, to_address, subject, text, html, calendar, created_at = row
    quoted = email_charset.Charset("utf-8")
    quoted.body_encoding = email_charset.QP
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText(text, "plain", quoted))
    if html:
        alternative.attach(MIMEText(html, "html", quoted))
    message = MIMEMultipart()
    message.attach(alternative)
    if calendar:
        part = MIMEBase("text", "calendar; method=REQUEST; charset=utf-8")
        part.set_payload(calendar.encode())
        encode_base64(part)
        part.add_header("Content-Disposition", "attachment", filename="review.ics")
        message.attach(part)
    message["Subject"] = Header(" ".join(subject.split()), "utf-8")
    message["From"] = formataddr(sender)
    message["To"] = to_address
    message["Date"] = formatdate(created_at.replace(tzinfo=dt.UTC).timestamp(), localtime=True)
    message["Message-ID"] = make_msgid(idstring=f"n{row_id}", domain=sender[1].rpartition("@")[2])
    message["Reply-To"] = reply_to
    return message.as_bytes(policy=COMPAT_SMTP)


COMPAT_SMTP = compat32.clone(linesep="\r\n")


def plain_round(ids: list[int], smtp: smtplib.SMTP, sender: tuple[str, str], reply_to: str, build=plain_message) -> int:
    rows = list(Notification.select(*COLUMNS).where(Notification.id.in_(ids)).order_by(Notification.id).tuples())
    for row in rows:
        smtp.sendmail(sender[1], [row[1]], build(row, sender, reply_to))
    return len(rows)


# --- the app ----------------------------------------------------------------------

def requeue(ids: list[int], moment: dt.datetime) -> None:
    """Every round starts from the same queued rows."""
    for start in range(0, len(ids), 500):
        Notification.update(status="pending", attempts=0, claimed_until=None, sent_at=None, last_error="",
                            next_attempt_at=moment).where(Notification.id.in_(ids[start:start + 500])).execute()


def app_round(moment: dt.datetime, counter: bench_run.Queries) -> dict:
    from jobs.delivery import deliver_pending
    from jobs.scheduler import PASS_SIZE

    sent = cancelled = other = passes = 0
    with counter.counting():
        while True:
            report = deliver_pending(moment, limit=PASS_SIZE)
            passes += 1
            sent, cancelled = sent + report.sent, cancelled + report.cancelled
            other += report.failed + report.retry
            if report.errors:
                log(f"app round: errors {report.errors[:3]}")
            if report.sent + report.failed + report.retry + report.cancelled < PASS_SIZE or report.errors:
                break
    return {"sent": sent, "cancelled": cancelled, "failed_or_retry": other, "passes": passes}


def measure(engine: str, base_url: str) -> dict:
    url = bench_run.fresh_database(engine, "delivery", base_url)
    instance = bench_run.TMP / f"instance-{engine}-delivery"
    app = bench_run.make_app(url, instance)
    context = app.app_context()
    context.push()
    sink = None
    try:
        log(f"{engine}: seeding at scale {SCALE:g}")
        service = seeding.seed(SCALE, bench_run.choose_now())
        database.execute_sql("ANALYZE")
        before = Notification.select(Notification.id).where(Notification.status == "pending")
        assert not before.exists()
        queued = {}
        for moment in (service.now, service.due_at):
            queued.update({f"{k} at {'now' if moment == service.now else 'due_at'}": v["queued"]
                           for k, v in bench_run.sweep_once(moment)["by_job"].items() if v["queued"]})
        ids = [n.id for n in Notification.select(Notification.id).where(Notification.status == "pending")
               .order_by(Notification.id)]
        kinds = {kind: count for kind, count in Notification.select(Notification.kind, peewee_count())
                 .where(Notification.id.in_(ids)).group_by(Notification.kind).tuples()}
        log(f"{len(ids)} messages queued through the sweeps: {kinds}")
        moment = service.due_at + dt.timedelta(minutes=1)

        sink, port = start_sink()
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False)
        from jobs.delivery import identity

        who = identity(app.config)
        plain_smtp = smtplib.SMTP("127.0.0.1", port, timeout=20)
        counter = bench_run.Queries()
        rounds = []
        # A warm-up of each (templates, prepared statements, the email package's caches).
        requeue(ids, moment)
        app_round(moment, bench_run.Queries())
        plain_round(ids, plain_smtp, who.sender, who.reply_to)
        plain_round(ids, plain_smtp, who.sender, who.reply_to, build=mime_message)
        for number in range(ROUNDS):
            order = ("plain", "app", "mime") if number % 2 == 0 else ("mime", "app", "plain")
            here = {}
            for variant in order:
                requeue(ids, moment)
                if variant == "plain":
                    begun = time.perf_counter()
                    sent = plain_round(ids, plain_smtp, who.sender, who.reply_to)
                    seconds = time.perf_counter() - begun
                    here["plain"] = {"sent": sent, "seconds": seconds, "per_second": sent / seconds}
                elif variant == "mime":
                    begun = time.perf_counter()
                    sent = plain_round(ids, plain_smtp, who.sender, who.reply_to, build=mime_message)
                    seconds = time.perf_counter() - begun
                    here["mime"] = {"sent": sent, "seconds": seconds, "per_second": sent / seconds}
                else:
                    counter.count = 0
                    with Connections() as connections:
                        begun = time.perf_counter()
                        outcome = app_round(moment, counter)
                        seconds = time.perf_counter() - begun
                    here["app"] = {**outcome, "seconds": seconds, "per_second": outcome["sent"] / seconds,
                                   "statements": counter.count, "smtp_connections": connections.count}
            here["ratio"] = here["app"]["per_second"] / here["plain"]["per_second"]
            here["ratio_mime"] = here["app"]["per_second"] / here["mime"]["per_second"]
            rounds.append(here)
            log(f"round {number + 1}: plain {here['plain']['per_second']:.0f}/s, "
                f"email.mime {here['mime']['per_second']:.0f}/s, app {here['app']['per_second']:.0f}/s "
                f"({here['ratio']:.2f}), {here['app']['statements']} statements, "
                f"{here['app']['smtp_connections']} SMTP connection(s), {here['app']['passes']} passes")
        plain_smtp.quit()
        app_rounds = [r["app"] for r in rounds]
        messages = statistics.median(a["sent"] for a in app_rounds)
        figures = {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "scale": SCALE, "rounds": ROUNDS, "messages_per_round": len(ids), "kinds": kinds, "queued_by": queued,
            "plain_per_second": round(statistics.median(r["plain"]["per_second"] for r in rounds), 1),
            "app_per_second": round(statistics.median(a["per_second"] for a in app_rounds), 1),
            "ratio_median_of_rounds": round(statistics.median(r["ratio"] for r in rounds), 3),
            "ratio_by_round": [round(r["ratio"], 3) for r in rounds],
            "mime_per_second": round(statistics.median(r["mime"]["per_second"] for r in rounds), 1),
            "ratio_to_mime_median_of_rounds": round(statistics.median(r["ratio_mime"] for r in rounds), 3),
            "app_sent_per_round": messages,
            "app_cancelled_per_round": statistics.median(a["cancelled"] for a in app_rounds),
            "app_failed_or_retry_per_round": max(a["failed_or_retry"] for a in app_rounds),
            "statements_per_message": round(statistics.median(a["statements"] / max(1, a["sent"]) for a in app_rounds), 3),
            "statements_per_round": statistics.median(a["statements"] for a in app_rounds),
            "smtp_connections_per_round": max(a["smtp_connections"] for a in app_rounds),
            "passes_per_round": statistics.median(a["passes"] for a in app_rounds),
        }
        figures["targets"] = {
            "app >= 80% of plain": {"value": figures["ratio_median_of_rounds"], "target": TARGET_RATIO,
                                    "holds": figures["ratio_median_of_rounds"] >= TARGET_RATIO},
            "statements per message <= 1.5": {"value": figures["statements_per_message"], "target": TARGET_STATEMENTS,
                                              "holds": figures["statements_per_message"] <= TARGET_STATEMENTS},
            "one SMTP connection across passes": {"value": figures["smtp_connections_per_round"], "target": 1,
                                                  "holds": figures["smtp_connections_per_round"] == 1},
        }
        return figures
    finally:
        if sink is not None:
            sink.terminate()
            sink.wait(timeout=10)
        context.pop()
        bench_run.drop_database(engine, url, base_url)


def peewee_count():
    from peewee import fn

    return fn.COUNT(Notification.id)


def main() -> None:
    base_url = os.environ.get("DATABASE_URL", "")
    engine = "postgresql" if bench_run.is_postgres(base_url) else "sqlite"
    os.environ.pop("DATABASE_URL", None)  # the app is always given the bench's own database
    bench_run.TMP.mkdir(parents=True, exist_ok=True)
    facts = bench_run.machine(engine)
    figures = measure(engine, base_url)
    facts["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    figures["machine"] = facts
    out = bench_run.RESULTS.with_name(f"results-{engine}.json")
    results = json.loads(out.read_text()) if out.exists() else {}
    results["delivery_bench"] = figures  # the other keys (bench.run's) are kept as they were
    out.write_text(json.dumps(results, indent=2, sort_keys=False, default=str) + "\n")
    print()
    print(f"Delivery, {engine}: {facts['date']}, commit {facts.get('commit', '?')}, load {facts['load_average_at_start']} "
          f"at start, {facts['load_average_at_end']} at end")
    print(f"  {figures['messages_per_round']} messages a round, {figures['rounds']} rounds interleaved: {figures['kinds']}")
    print(f"  plain build-and-send  {figures['plain_per_second']:>7}/s")
    print(f"  app delivery passes   {figures['app_per_second']:>7}/s  (ratio, median of rounds: "
          f"{figures['ratio_median_of_rounds']}; by round {figures['ratio_by_round']})")
    print(f"  email.mime (compat32) {figures['mime_per_second']:>7}/s  (app's ratio to it: "
          f"{figures['ratio_to_mime_median_of_rounds']}; for comparison, not the target)")
    print(f"  statements/message    {figures['statements_per_message']:>7}   ({figures['statements_per_round']} a round, "
          f"{figures['passes_per_round']} passes)")
    print(f"  SMTP connections      {figures['smtp_connections_per_round']:>7}   a round (most)")
    for name, check in figures["targets"].items():
        print(f"  {'holds' if check['holds'] else 'MISSES':6}  {name}: {check['value']} (target {check['target']})")
    print(f"Written to {out.relative_to(bench_run.ROOT)} (key delivery_bench)")


if __name__ == "__main__":
    main()
