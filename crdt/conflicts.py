"""A bounded record of resolved conflicts, for ``CRDT.CONFLICTS`` and ``INFO crdt``."""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

KINDS = ("lww", "type", "counter_masked", "expire")


class Conflict(NamedTuple):
    db: int
    key: bytes
    kind: str
    winner: tuple  # (hlc, region, seq) of the winning write
    loser: tuple | None


class ConflictLog:
    def __init__(self, capacity: int = 1024) -> None:
        self.recent: deque[Conflict] = deque(maxlen=capacity)
        self.counts: dict[str, int] = dict.fromkeys(KINDS, 0)

    def record(self, db: int, key: bytes, kind: str, a: tuple | None, b: tuple | None) -> None:
        """Record a conflict between writes tagged ``a`` and ``b``; the greater tag wins."""
        if a is not None and b is not None and b[:3] > a[:3]:
            a, b = b, a
        self.counts[kind] += 1
        self.recent.appendleft(
            Conflict(db, key, kind, a[:3] if a else (0, "", 0), b[:3] if b else None)
        )
