"""Per-token rolling-window, per-second and per-portal daily request limits."""

from __future__ import annotations

import threading
from collections import deque
from datetime import UTC, date, datetime


class RollingWindow:
    """A rolling-window limiter keyed by token.

    Refused requests are not recorded, so a client that keeps retrying while
    throttled does not extend its own penalty.

    Args:
        max_requests: Requests allowed within one window.
        interval_s: Window length in seconds.
    """

    def __init__(self, max_requests: int, interval_s: float) -> None:
        self.max_requests = max_requests
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def acquire(self, key: str, now: float) -> tuple[bool, int]:
        """Try to admit one request.

        Args:
            key: The token.
            now: Monotonic seconds.

        Returns:
            Whether it is admitted, and the requests left in the window.
        """
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            horizon = now - self.interval_s
            while hits and hits[0] <= horizon:
                hits.popleft()
            if len(hits) >= self.max_requests:
                return False, 0
            hits.append(now)
            return True, self.max_requests - len(hits)

    def reset(self) -> None:
        """Forget every recorded request."""
        with self._lock:
            self._hits.clear()


class DailyCounter:
    """The portal-wide daily allowance, reset at midnight UTC.

    Args:
        limit: Requests allowed per day.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._day: date | None = None
        self.used = 0

    def acquire(self) -> tuple[bool, int]:
        """Try to admit one request.

        Returns:
            Whether it is admitted, and the requests left today.
        """
        with self._lock:
            today = datetime.now(UTC).date()
            if today != self._day:
                self._day = today
                self.used = 0
            if self.used >= self.limit:
                return False, 0
            self.used += 1
            return True, self.limit - self.used

    def remaining(self) -> int:
        """Return the requests left today.

        Returns:
            The count.
        """
        with self._lock:
            return max(0, self.limit - self.used)

    def reset(self) -> None:
        """Start a new day."""
        with self._lock:
            self.used = 0
