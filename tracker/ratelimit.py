"""A small in-process rate limiter for sign-in and agency links.

Counts are kept per process: with several web workers each keeps its own, so
the effective limit is the limit times the workers. That is enough to stop
guessing and hammering; it is not a quota.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

_hits: dict[tuple[str, str], deque] = defaultdict(deque)
_lock = threading.Lock()


def allow(bucket: str, key: str, limit: int, per_seconds: float, now: float | None = None) -> bool:
    """Record one hit; False when `key` has used up `limit` hits in the window."""
    now = time.monotonic() if now is None else now
    with _lock:
        hits = _hits[(bucket, key)]
        while hits and hits[0] <= now - per_seconds:
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        return True


def reset() -> None:
    with _lock:
        _hits.clear()
