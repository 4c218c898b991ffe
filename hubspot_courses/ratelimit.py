"""Client-side pacing that keeps requests under HubSpot's limits.

HubSpot counts requests per app on a rolling window (100 or 190 per 10 s for
private apps, 110 per installing account for public apps) and CRM search
requests separately (5 per second per account). Each response but search's
carries ``X-HubSpot-RateLimit-Max``, ``-Remaining`` and
``-Interval-Milliseconds``; :class:`RollingWindowLimiter` learns the limit
from them and spaces requests so the window never overflows, instead of
recovering from 429 answers.
"""

from __future__ import annotations

import collections
import threading
import time
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["RollingWindowLimiter"]


class RollingWindowLimiter:
    """Admit at most ``max_requests`` per rolling ``interval`` seconds.

    Thread-safe: every thread of a plugin shares one instance, so concurrent
    batch calls stay inside the same budget.
    """

    def __init__(
        self,
        max_requests: int,
        interval: float,
        *,
        headroom: int = 1,
        learn_from_headers: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Create a limiter.

        Args:
            max_requests: requests allowed per window until headers say
                otherwise.
            interval: window length in seconds.
            headroom: requests of the window left unused, so a clock skew
                against the server cannot produce a 429.
            learn_from_headers: adopt the limit HubSpot reports in responses.
            clock: monotonic clock, replaceable in tests.
            sleep: sleep function, replaceable in tests.
        """
        self.max_requests = max_requests
        self.interval = interval
        self.headroom = headroom
        self._learn = learn_from_headers
        self._clock = clock
        self._sleep = sleep
        self._sent: collections.deque[float] = collections.deque()
        self._blocked_until = 0.0
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    @property
    def span(self) -> float:
        """Seconds a request stays booked: the window plus a margin.

        A request is booked when it is sent and counted by HubSpot when it
        arrives; with several in flight, one that travels faster than the
        one booked a window earlier would otherwise land inside that
        request's window on the server. The margin (5 % of the window, at
        most 250 ms) absorbs that spread.
        """
        return self.interval + min(0.25, self.interval * 0.05)

    @property
    def allowance(self) -> int:
        """Requests this limiter admits per window."""
        return max(1, self.max_requests - self.headroom)

    def acquire(self) -> None:
        """Block until one more request fits in the window, then count it."""
        while True:
            with self._lock:
                now = self._clock()
                span = self.span
                horizon = now - span
                while self._sent and self._sent[0] <= horizon:
                    self._sent.popleft()
                wait = self._blocked_until - now
                if wait <= 0 and len(self._sent) < self.allowance:
                    self._sent.append(now)
                    return
                if wait <= 0:
                    wait = self._sent[0] + span - now
            wait = max(wait, 0.001)
            self.waited_seconds += wait
            self._sleep(wait)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn the window from a response's ``X-HubSpot-RateLimit-*`` headers.

        When HubSpot reports fewer remaining requests than this limiter
        believes (another process shares the token), the difference is booked
        as requests sent now.
        """
        if not self._learn:
            return
        limit = _int_header(headers, "X-HubSpot-RateLimit-Max")
        interval_ms = _int_header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
        remaining = _int_header(headers, "X-HubSpot-RateLimit-Remaining")
        with self._lock:
            if limit and limit > 0:
                self.max_requests = limit
            if interval_ms and interval_ms > 0:
                self.interval = interval_ms / 1000
            if remaining is None or limit is None:
                return
            now = self._clock()
            horizon = now - self.span
            while self._sent and self._sent[0] <= horizon:
                self._sent.popleft()
            foreign = (limit - remaining) - len(self._sent)
            for _ in range(max(0, foreign)):
                self._sent.append(now)

    def block_for(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` (after a 429)."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None
