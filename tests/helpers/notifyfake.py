"""A local stand-in for GOV.UK Notify: a real HTTP server on 127.0.0.1 speaking the two requests we use.

GOV.UK Notify cannot be reached from the tests, so this implements what its
documentation says of them (docs.notifications.service.gov.uk, REST API and the
Python client's documentation):

- POST /v2/notifications/sms with a JSON body (phone_number, template_id,
  personalisation, reference): 201 and the notification (id, reference,
  content.body and from_number, uri, template); 400 with
  {"status_code": 400, "errors": [{"error": "BadRequestError", "message": ...}]}.
- GET /v2/notifications/<id>: 200 and the notification with its status; 404
  NoResultFound; 400 ValidationError for an id that is not a UUID.
- GET /v2/notifications?template_type=sms&reference=…: {"notifications": [...], "links": {...}},
  the texts sent under that reference (the runner asks before sending a text a second time).
- Every request carries "Authorization: Bearer <JWT>", HS256, whose `iss` is the
  service id and which is signed with the secret part of the API key
  (`{key name}-{service id}-{secret}`), `iat` within 30 seconds: else 403 AuthError.

Numbers with a fixed outcome (the fake's own, in the 07700 900xxx range Ofcom keeps for drama):
REFUSED is refused at sending (400, as Notify answers a number a team key may not
send to); PERMANENT and TEMPORARY are accepted, and their status read back is
permanent-failure or temporary-failure; any other number is delivered.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import jwt

REFUSED = "+447700900400"
PERMANENT = "+447700900500"
TEMPORARY = "+447700900600"
FINAL = {PERMANENT: "permanent-failure", TEMPORARY: "temporary-failure"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _normal(number: str) -> str:
    digits = re.sub(r"[^\d+]", "", number)
    return "+44" + digits[1:] if digits.startswith("0") else ("+" + digits if not digits.startswith("+") else digits)


class FakeNotify:
    """The server, what it received, and the knobs a test turns."""

    def __init__(self, templates: dict[str, str]):
        self.service_id = str(uuid.uuid4())
        self.secret = str(uuid.uuid4())
        self.api_key = f"tracker_tests-{self.service_id}-{self.secret}"
        self.templates = dict(templates)  # template id -> its words, with ((placeholders))
        self.sent: list[dict] = []  # every text accepted, in order
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status) of every request
        self.fail_next: list[int] = []  # answer the next sends with these statuses (500, 503, 429 ...)
        self.lose_answer_next = False  # take the next text, then answer 500 as if the answer were lost
        self.slow_answer_next = 0.0  # take the next text, then wait this many seconds before answering
        self.statuses: dict[str, str] = {}  # a notification's status as a test sets it ("sending")
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                fake._handle(self, "POST")

            def do_GET(self):
                fake._handle(self, "GET")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeNotify:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def to(self, number: str) -> list[dict]:
        return [s for s in self.sent if s["phone_number"] == _normal(number)]

    # --- the protocol -------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        status, body = self._answer(handler, method)
        with self.lock:
            self.requests.append((method, handler.path, status))
        data = json.dumps(body).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped waiting (a test of a timed-out answer)

    @staticmethod
    def _error(status: int, error: str, message: str) -> tuple[int, dict]:
        return status, {"status_code": status, "errors": [{"error": error, "message": message}]}

    def _authorised(self, handler) -> tuple[int, dict] | None:
        header = handler.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return self._error(401, "AuthError", "Unauthorized: authentication token must be provided")
        try:
            claims = jwt.decode(header[7:], self.secret, algorithms=["HS256"], options={"verify_iat": False})
        except jwt.InvalidTokenError:
            return self._error(403, "AuthError", "Invalid token: signature, api token not found")
        if claims.get("iss") != self.service_id:
            return self._error(403, "AuthError", "Invalid token: service not found")
        if abs(time.time() - int(claims.get("iat", 0))) > 30:
            return self._error(403, "AuthError", "Error: Your system clock must be accurate to within 30 seconds")
        return None

    def _answer(self, handler, method: str) -> tuple[int, dict]:
        refused = self._authorised(handler)
        if refused:
            return refused
        if method == "POST" and handler.path == "/v2/notifications/sms":
            length = int(handler.headers.get("Content-Length") or 0)
            try:
                body = json.loads(handler.rfile.read(length) or b"{}")
            except ValueError:
                return self._error(400, "ValidationError", "Invalid JSON supplied in POST data")
            return self._send(body)
        path, _, query = handler.path.partition("?")
        if method == "GET" and path == "/v2/notifications":
            return self._list(parse_qs(query))
        found = re.fullmatch(r"/v2/notifications/([^/?]+)", handler.path)
        if method == "GET" and found:
            return self._status(found.group(1))
        return self._error(404, "NoResultFound", "No result found")

    def _send(self, body: dict) -> tuple[int, dict]:
        with self.lock:
            if self.fail_next:
                code = self.fail_next.pop(0)
                return self._error(code, "Exception" if code >= 500 else "RateLimitError",
                                   "Internal server error" if code >= 500 else "Exceeded rate limit")
        for required in ("phone_number", "template_id"):
            if not body.get(required):
                return self._error(400, "ValidationError", f"{required} is a required property")
        template = self.templates.get(body["template_id"])
        if template is None:
            return self._error(400, "BadRequestError", "Template not found")
        values = body.get("personalisation") or {}
        missing = [name for name in re.findall(r"\(\(([^)]+)\)\)", template) if name not in values]
        if missing:
            return self._error(400, "BadRequestError", f"Missing personalisation: {', '.join(missing)}")
        number = _normal(str(body["phone_number"]))
        if number == REFUSED:
            return self._error(400, "BadRequestError", "Can't send to this recipient using a team-only API key")
        words = re.sub(r"\(\(([^)]+)\)\)", lambda m: str(values[m.group(1)]), template).strip()  # Notify trims the text (a value left empty at its start)
        notification_id = str(uuid.uuid4())
        sent = {"id": notification_id, "phone_number": number, "template_id": body["template_id"],
                "personalisation": values, "reference": body.get("reference"), "body": words,
                "status": FINAL.get(number, "delivered")}
        with self.lock:
            self.sent.append(sent)
            if self.lose_answer_next:
                self.lose_answer_next = False
                return self._error(500, "Exception", "Internal server error")
            slow, self.slow_answer_next = self.slow_answer_next, 0.0
        time.sleep(slow)
        return 201, {"id": notification_id, "reference": body.get("reference"),
                     "content": {"body": words, "from_number": "GOVUK"},
                     "uri": f"{self.url}/v2/notifications/{notification_id}",
                     "template": {"id": body["template_id"], "version": 1,
                                  "uri": f"{self.url}/v2/template/{body['template_id']}/version/1"}}

    def _list(self, query: dict) -> tuple[int, dict]:
        """GET /v2/notifications?template_type=sms&reference=…: the newest first, as Notify lists them."""
        reference = (query.get("reference") or [None])[0]
        kind = (query.get("template_type") or [None])[0]
        if kind not in (None, "sms", "email", "letter"):
            return self._error(400, "ValidationError", f"{kind} is not one of [sms, email, letter]")
        found = [self._status(s["id"])[1] for s in reversed(self.sent)
                 if (reference is None or s["reference"] == reference) and kind in (None, "sms")]
        return 200, {"notifications": found, "links": {"current": f"{self.url}/v2/notifications"}}

    def _status(self, notification_id: str) -> tuple[int, dict]:
        if not UUID.fullmatch(notification_id):
            return self._error(400, "ValidationError", "id is not a valid UUID")
        sent = next((s for s in self.sent if s["id"] == notification_id), None)
        if sent is None:
            return self._error(404, "NoResultFound", "No result found")
        return 200, {"id": sent["id"], "reference": sent["reference"], "phone_number": sent["phone_number"],
                     "type": "sms", "status": self.statuses.get(notification_id, sent["status"]),
                     "template": {"version": 1, "id": sent["template_id"],
                                  "uri": f"/v2/template/{sent['template_id']}/1"},
                     "body": sent["body"], "created_at": "2026-11-23T09:00:00.000000Z",
                     "sent_at": "2026-11-23T09:00:01.000000Z", "completed_at": None}
