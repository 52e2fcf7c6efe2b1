"""Hybrid logical clock, tags, dots and version vectors.

A **tag** identifies one effect and orders it in time: ``(hlc, region, seq)``.

* ``(region, seq)`` is the effect's **dot**: ``seq`` counts the origin region's effects, so a
  region's dots are contiguous and a version vector can summarise them.
* ``(hlc, region)`` is the effect's **timestamp**. Tuples compare element-wise, so tags order
  first by HLC, then by region name (the tie-break), then by seq (two effects of one batch
  share an HLC). This total order is what last-writer-wins resolves by.

A **version vector** (VV) is a plain ``dict[str, int]``: region -> highest seq applied
contiguously. An effect's causal context is the VV of its origin just before it was made;
an element whose dot that context covers was *observed* by the effect.

Nothing here reads the wall clock: physical time is passed in by the caller.
"""

from __future__ import annotations

from typing import TypeAlias

Tag: TypeAlias = tuple[int, str, int]
VV: TypeAlias = dict[str, int]

LOGICAL_BITS = 16
LOGICAL_MASK = (1 << LOGICAL_BITS) - 1


def covers(ctx: VV, tag: tuple) -> bool:
    """True when the context ``ctx`` has observed the dot of ``tag`` (tag[1], tag[2])."""
    return ctx.get(tag[1], 0) >= tag[2]


def physical_ms(hlc: int) -> int:
    return hlc >> LOGICAL_BITS


class HybridClock:
    """An HLC packed in one int: ``physical_ms << 16 | logical``.

    ``now`` never returns a value below one already returned, nor at or below one observed, so
    a write made after seeing another is ordered after it however skewed the wall clocks are.
    It returns the value it returned last again when nothing was observed since and the wall
    clock has not moved past it: this region's consecutive batches within one millisecond share
    an HLC (their tags differ by seq, which orders them as they were made), so the replicator
    can ship them as one batch.
    """

    __slots__ = ("last", "local")

    def __init__(self, last: int = 0) -> None:
        self.last = last
        self.local = False  # ``last`` was returned by ``now`` (not observed)

    def now(self, wall_ms: int) -> int:
        candidate = wall_ms << LOGICAL_BITS
        if candidate > self.last:
            self.last = candidate
        elif not self.local:
            self.last += 1
        self.local = True
        return self.last

    def observe(self, hlc: int) -> None:
        if hlc >= self.last:
            self.last = hlc
            self.local = False


def vv_merge(into: VV, other: VV) -> None:
    for region, seq in other.items():
        if seq > into.get(region, 0):
            into[region] = seq


def vv_leq(a: VV, b: VV) -> bool:
    """True when every dot covered by ``a`` is covered by ``b``."""
    return all(seq <= b.get(region, 0) for region, seq in a.items())

