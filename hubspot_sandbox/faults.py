"""Fault injection for the sandbox: latency, errors, drops and token expiry."""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field

DEFAULT_5XX_STATUSES: tuple[int, ...] = (500, 502, 503, 504)


@dataclass
class _FailNext:
    remaining: int
    status: int
    path_regex: str | None


@dataclass
class Faults:
    """Faults the sandbox injects; every field may be changed while it runs.

    Each fault applies to requests whose path matches ``path_regexes[name]`` when
    that key is present, else ``path_regex`` when set, else to every request.
    Random decisions come from a private ``random.Random(seed)`` so a run is
    reproducible for a given order of requests.

    Attributes:
        latency_ms: Delay added before every matching request is answered.
        error_5xx_rate: Probability of answering with a random status from
            ``error_5xx_statuses`` instead of handling the request.
        error_5xx_statuses: The statuses used by ``error_5xx_rate``.
        burst_429: The next N matching requests get a ``TEN_SECONDLY_ROLLING``
            429, whatever the real rate-limit state.
        expire_tokens_after: OAuth access tokens expire after serving this many
            requests (None: only their TTL applies).
        drop_rate: Probability of closing the connection without any response.
        malformed_rate: Probability of turning a 200 JSON answer into a truncated,
            unparsable body.
        hang_seconds: How long a hanging request sleeps before being answered.
        hang_rate: Probability that a request hangs for ``hang_seconds``.
        path_regex: Default path filter for all faults.
        path_regexes: Per-fault path filters keyed by field name (for example
            ``{"latency_ms": "/search$"}``).
        seed: Seed of the private random generator.
    """

    latency_ms: int = 0
    error_5xx_rate: float = 0.0
    error_5xx_statuses: tuple[int, ...] = DEFAULT_5XX_STATUSES
    burst_429: int = 0
    expire_tokens_after: int | None = None
    drop_rate: float = 0.0
    malformed_rate: float = 0.0
    hang_seconds: float = 0.0
    hang_rate: float = 0.0
    path_regex: str | None = None
    path_regexes: dict[str, str] = field(default_factory=dict)
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False, compare=False)
    _lock: threading.Lock = field(
        init=False, repr=False, compare=False, default_factory=threading.Lock
    )
    _fail_next: list[_FailNext] = field(
        init=False, repr=False, compare=False, default_factory=list
    )

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - reproducible faults

    def reseed(self, seed: int) -> None:
        """Restart the random generator from ``seed``.

        Args:
            seed: The new seed.
        """
        with self._lock:
            self.seed = seed
            self._rng = random.Random(seed)  # noqa: S311 - reproducible faults

    def reset(self) -> None:
        """Switch every fault off and forget pending ``fail_next`` requests."""
        with self._lock:
            self.latency_ms = 0
            self.error_5xx_rate = 0.0
            self.error_5xx_statuses = DEFAULT_5XX_STATUSES
            self.burst_429 = 0
            self.expire_tokens_after = None
            self.drop_rate = 0.0
            self.malformed_rate = 0.0
            self.hang_seconds = 0.0
            self.hang_rate = 0.0
            self.path_regex = None
            self.path_regexes = {}
            self._fail_next.clear()

    def fail_next(
        self, n: int, status: int = 500, path_regex: str | None = None
    ) -> None:
        """Answer the next ``n`` matching requests with ``status``.

        Args:
            n: How many requests to fail.
            status: The HTTP status to answer with (a JSON error body is sent).
            path_regex: Only requests whose path matches count; None for all.
        """
        with self._lock:
            self._fail_next.append(_FailNext(n, status, path_regex))

    # The methods below are used by the server; each takes the lock briefly.

    def applies(self, name: str, path: str) -> bool:
        """Tell whether fault ``name`` is restricted away from ``path``.

        Args:
            name: A fault field name.
            path: The request path (without query string).

        Returns:
            True when the fault applies to the path.
        """
        pattern = self.path_regexes.get(name, self.path_regex)
        return pattern is None or re.search(pattern, path) is not None

    def roll(self, name: str, rate: float, path: str) -> bool:
        """Draw whether a probabilistic fault fires for this request.

        Args:
            name: The fault field name, for its path filter.
            rate: Probability in [0, 1].
            path: The request path.

        Returns:
            True when the fault fires.
        """
        if rate <= 0 or not self.applies(name, path):
            return False
        with self._lock:
            return self._rng.random() < rate

    def choose_5xx(self) -> int:
        """Pick one of ``error_5xx_statuses``.

        Returns:
            An HTTP status code.
        """
        with self._lock:
            return self._rng.choice(self.error_5xx_statuses or DEFAULT_5XX_STATUSES)

    def take_fail_next(self, path: str) -> int | None:
        """Consume one pending ``fail_next`` entry matching ``path``.

        Args:
            path: The request path.

        Returns:
            The status to answer with, or None.
        """
        with self._lock:
            for entry in self._fail_next:
                if entry.remaining > 0 and (
                    entry.path_regex is None or re.search(entry.path_regex, path)
                ):
                    entry.remaining -= 1
                    status = entry.status
                    self._fail_next = [e for e in self._fail_next if e.remaining > 0]
                    return status
            return None

    def take_burst_429(self, path: str) -> bool:
        """Consume one of the pending ``burst_429`` answers if it applies.

        Args:
            path: The request path.

        Returns:
            True when this request must get a 429.
        """
        if self.burst_429 <= 0 or not self.applies("burst_429", path):
            return False
        with self._lock:
            if self.burst_429 <= 0:
                return False
            self.burst_429 -= 1
            return True
