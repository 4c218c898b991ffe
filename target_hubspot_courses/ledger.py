"""What one run did: counts, the rejects file, and the ids it learned.

Every sink and worker thread of a run books into one :class:`Ledger`, which
is what the summary line, ``max_rejects`` and the association writes read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import pathlib
import threading
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["Ledger", "Reject"]

COUNTERS = (
    "created",
    "updated",
    "archived",
    "associated",
    "rejected",
    "deduplicated",
)


@dataclasses.dataclass(frozen=True)
class Reject:
    """A record that was not written, and why.

    ``category`` is HubSpot's error category when HubSpot refused the record,
    ``LOCAL_VALIDATION`` when the target refused it before sending.
    """

    stream: str
    record: Mapping[str, t.Any]
    reason: str
    fix: str
    category: str = "LOCAL_VALIDATION"
    code: str = ""
    message: str = ""
    correlation_id: str = ""
    property_name: str | None = None

    def to_json(self) -> str:
        """One line of the rejects file."""
        entry = {
            "rejected_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "stream": self.stream,
            "reason": self.reason,
            "category": self.category,
            "code": self.code,
            "message": self.message,
            "property": self.property_name,
            "fix": self.fix,
            "correlation_id": self.correlation_id or None,
            "record": self.record,
        }
        return json.dumps(entry, default=_json_default, ensure_ascii=False)


class Ledger:
    """Thread-safe counts, rejects and id maps of one run."""

    def __init__(
        self, rejects_path: str | pathlib.Path, *, keep_seen: bool = True
    ) -> None:
        """Book into a rejects file at ``rejects_path`` (created on first use).

        Args:
            rejects_path: the rejects file.
            keep_seen: remember the key and id of every course row read, for
                the mirror of ``overwrite``. Without it the ledger holds no
                per-row state, so memory does not grow with the input.
        """
        self.rejects_path = pathlib.Path(rejects_path)
        self.keep_seen = keep_seen
        self.counts: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.ids_by_source_id: dict[str, str] = {}
        """HubSpot id of each course written, by the record id the input gave."""
        self.ids_by_key: dict[str, str] = {}
        """HubSpot id of each course written, by its ``id_property`` value."""
        self.seen_keys: set[str] = set()
        """``id_property`` values of every course row read (mirror keeps them)."""
        self.seen_ids: set[str] = set()
        """HubSpot record ids of every course row read (mirror keeps them)."""
        self.course_rows = 0
        self._lock = threading.Lock()

    def add(self, counter: str, amount: int = 1) -> None:
        """Add ``amount`` to one of the summary counters."""
        with self._lock:
            self.counts[counter] += amount

    def reject(self, reject: Reject) -> None:
        """Append ``reject`` to the rejects file and count it."""
        line = reject.to_json()
        with self._lock:
            self.rejects_path.parent.mkdir(parents=True, exist_ok=True)
            # A lone surrogate (the reason a record may be here) is written
            # as its JSON escape, so the line stays readable JSON.
            with self.rejects_path.open(
                "a", encoding="utf-8", errors="backslashreplace"
            ) as handle:
                handle.write(line + "\n")
            self.counts["rejected"] += 1

    def learn(self, source_id: str | None, key: str | None, target_id: str) -> None:
        """Remember the HubSpot id of a course the run wrote."""
        with self._lock:
            if source_id:
                self.ids_by_source_id[source_id] = target_id
            if key:
                self.ids_by_key[key] = target_id

    def see(self, record_id: str | None, key: str | None) -> None:
        """Note a course row of the input, whatever becomes of it."""
        with self._lock:
            self.course_rows += 1
            if not self.keep_seen:
                return
            if record_id:
                self.seen_ids.add(record_id)
            if key:
                self.seen_keys.add(key)


def _json_default(value: t.Any) -> t.Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)
