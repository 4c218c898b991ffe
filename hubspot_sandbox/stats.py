"""Request counters of a running sandbox."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Stats:
    """Thread-safe counters of what the sandbox served.

    Attributes:
        total: Requests received (dropped ones included).
        by_route: Requests per route kind: ``list``, ``get``, ``create``,
            ``update``, ``archive``, ``merge``, ``search``, ``batch_read``,
            ``batch_create``, ``batch_update``, ``batch_upsert``,
            ``batch_archive``, ``properties_list``, ``properties_get``,
            ``properties_batch_read``, ``assoc_batch_read``,
            ``assoc_batch_create``, ``assoc_batch_default``,
            ``assoc_batch_archive``, ``assoc_labels``, ``assoc_record_get``,
            ``assoc_record_put``, ``assoc_record_put_default``,
            ``assoc_record_delete``, ``enablement``, ``oauth_token``, ``unknown``.
        by_status: Responses per HTTP status (dropped requests have none).
        rate_limited: 429 answers sent, injected ones included.
        faults: Injected faults per kind: ``latency``, ``hang``, ``drop``,
            ``error_5xx``, ``fail_next``, ``burst_429``, ``malformed``,
            ``token_expired``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0
        self.by_route: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()
        self.rate_limited = 0
        self.faults: Counter[str] = Counter()

    def count_request(self, route: str) -> None:
        """Count a received request.

        Args:
            route: Its route kind.
        """
        with self._lock:
            self.total += 1
            self.by_route[route] += 1

    def count_status(self, status: int) -> None:
        """Count a sent response.

        Args:
            status: Its HTTP status.
        """
        with self._lock:
            self.by_status[status] += 1
            if status == 429:
                self.rate_limited += 1

    def count_fault(self, kind: str) -> None:
        """Count an injected fault.

        Args:
            kind: The fault kind.
        """
        with self._lock:
            self.faults[kind] += 1

    def route(self, kind: str) -> int:
        """Return how many requests of one route kind arrived.

        Args:
            kind: The route kind.

        Returns:
            The count.
        """
        with self._lock:
            return self.by_route[kind]

    def snapshot(self) -> dict[str, Any]:
        """Copy every counter.

        Returns:
            A plain dict.
        """
        with self._lock:
            return {
                "total": self.total,
                "by_route": dict(self.by_route),
                "by_status": dict(self.by_status),
                "rate_limited": self.rate_limited,
                "faults": dict(self.faults),
            }

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self.total = 0
            self.by_route.clear()
            self.by_status.clear()
            self.rate_limited = 0
            self.faults.clear()
