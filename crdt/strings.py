"""The string value: a last-writer-wins register plus an observed-reset counter.

Semantics (SEMANTICS.md, "Strings and counters"):

* An **assignment** (SET, APPEND, SETRANGE, ...) writes the whole value. It removes every
  assignment and every counter contribution it observed; concurrent assignments stay side by
  side (a multi-value register) and the greatest tag wins the read. Keeping the losers until
  they are observed is what makes a later observed-remove converge whatever the order.
* An **increment** adds a contribution ``(tag, delta)``. The value is the winning assignment
  (0 when there is none) plus the sum of the live contributions, so concurrent increments all
  count and an increment concurrent with a SET or DEL survives it.
* Integer deltas are ``int``; INCRBYFLOAT deltas are exact ``Decimal``s, so every region prints
  the same digits whatever order it summed in. Any decimal makes the value a float.
* If the winning assignment is not a number, the contributions are *masked*: reads return the
  assignment unchanged (a ``counter_masked`` conflict).

Contributions whose dots every region has applied (``stable``) are folded into one entry per
region: any reset that can still arrive observes all of them, so folding never changes what a
reset removes. Without that, a counter incremented a million times would hold a million
entries.

Known anomaly (as in Redis Enterprise): concurrent APPENDs keep one side; the other is lost.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypeAlias

from .clock import VV, Tag, covers
from .numbers import EXACT, format_number, parse_float, parse_int

Number: TypeAlias = int | Decimal
# Fold contributions once there are more than this many: folding is O(n), so doing it every
# few increments instead of every one keeps INCR cheap and the list short.
FOLD_AFTER = 8
# (hlc, region, seq, value): an assignment; (hlc, region, seq, delta): a contribution.
Assignment: TypeAlias = tuple[int, str, int, bytes]
Contribution: TypeAlias = tuple[int, str, int, Number]


class StrValue:
    """The winning assignment lives in four slots (no tuple per key: a plain string costs one
    object); concurrent assignments that lost the read are kept in ``more``, as tuples.
    ``val`` is None when there is no assignment. ``regs`` is the list view of all of them."""

    __slots__ = ("hlc", "org", "seq", "val", "more", "contribs")

    def __init__(self) -> None:
        self.hlc = 0
        self.org = ""
        self.seq = 0
        self.val: bytes | None = None
        self.more: list[Assignment] | None = None
        self.contribs: list[Contribution] | None = None

    @property
    def regs(self) -> list[Assignment]:
        if self.val is None:
            return []
        top = (self.hlc, self.org, self.seq, self.val)
        return [top] if self.more is None else [*self.more, top]

    @regs.setter
    def regs(self, value: list[Assignment]) -> None:
        if not value:
            self.val = None
            self.more = None
            return
        i = value.index(max(value))
        self.hlc, self.org, self.seq, self.val = value[i]
        self.more = value[:i] + value[i + 1 :] or None

    # -- effects ---------------------------------------------------------------------------
    def assign(self, tag: Tag, value: bytes, ctx: VV) -> bool:
        """Assign; returns True when a concurrent assignment remains (an LWW conflict).
        Applying the same assignment again changes nothing."""
        concurrent = False
        if self.val is None:
            self.hlc, self.org, self.seq = tag
            self.val = value
        elif self.seq == tag[2] and self.org == tag[1]:
            return False
        elif self.more is None and ctx.get(self.org, 0) >= self.seq:  # observed: replace
            self.hlc, self.org, self.seq = tag
            self.val = value
        else:
            regs = self.regs
            if any(x[2] == tag[2] and x[1] == tag[1] for x in regs):
                return False
            kept = [x for x in regs if not covers(ctx, x)]
            concurrent = bool(kept)
            kept.append((tag[0], tag[1], tag[2], value))
            self.regs = kept
        if self.contribs:
            self._reset_contribs(ctx)
        return concurrent

    def add(self, tag: Tag, delta: Number, stable: VV) -> None:
        contribs = self.contribs
        if contribs is None:
            self.contribs = [(tag[0], tag[1], tag[2], delta)]
            return
        org, seq = tag[1], tag[2]
        for c in contribs:
            if c[2] == seq and c[1] == org:
                return  # already applied (a folded entry carries its newest contribution's tag)
        contribs.append((tag[0], org, seq, delta))
        if len(contribs) > FOLD_AFTER:
            self._fold(stable)

    def remove(self, ctx: VV) -> None:
        if self.val is not None:
            if self.more is not None:
                self.regs = [x for x in self.regs if not covers(ctx, x)]
            elif ctx.get(self.org, 0) >= self.seq:
                self.val = None
        if self.contribs:
            self._reset_contribs(ctx)

    def _reset_contribs(self, ctx: VV) -> None:
        kept = [c for c in self.contribs or () if not covers(ctx, c)]
        self.contribs = kept or None

    def _fold(self, stable: VV) -> None:
        """Fold the stable contributions of each region into one entry.

        A folded entry is ``(hlc, region, seq, sum, lo)``: the tag of its newest contribution,
        their sum, and the seq of its oldest, so that a state merge can tell it apart from the
        single contribution that carries the same tag.
        """
        folded: dict[str, tuple] = {}
        rest: list[Contribution] = []
        for c in self.contribs or ():
            if covers(stable, c):
                prev = folded.get(c[1])
                if prev is None:
                    folded[c[1]] = c
                else:
                    hi, lo = (c, prev) if c[2] > prev[2] else (prev, c)
                    low = min(_low(hi), _low(lo))
                    folded[c[1]] = (hi[0], hi[1], hi[2], _add(prev[3], c[3]), low)
            else:
                rest.append(c)
        if len(folded) + len(rest) < len(self.contribs or ()):
            self.contribs = sorted(folded.values()) + rest

    def merge_from(self, other: StrValue, self_vv: VV, other_vv: VV) -> None:
        """State merge (catch-up by snapshot): keep what both have, and what one side has
        that the other has not observed."""
        self.regs = _join(self.regs, other.regs, self_vv, other_vv)
        joined = _join(self.contribs or [], other.contribs or [], self_vv, other_vv)
        self.contribs = joined or None

    # -- reads -----------------------------------------------------------------------------
    def is_empty(self) -> bool:
        return self.val is None and not self.contribs

    def latest(self) -> tuple:
        """The greatest tag of the value (the winning assignment is the greatest one)."""
        best: tuple = (self.hlc, self.org, self.seq) if self.val is not None else (0, "", 0)
        if self.contribs:
            c = max(self.contribs)[:3]
            if c > best:
                best = c
        return best

    def winner(self) -> bytes | None:
        return self.val

    def number(self) -> tuple[Number | None, bool]:
        """(numeric value, masked). None when the assignment is not a number."""
        base_raw = self.val
        base: Number | None
        if base_raw is None:
            base = 0
        else:
            base = parse_int(base_raw)
            if base is None:
                base = parse_float(base_raw)
                if base is not None and not base.is_finite():
                    base = None
        if base is None:
            return None, bool(self.contribs)
        contribs = self.contribs
        if not contribs:
            return base, False
        if type(base) is int:  # integers add exactly in any order
            total = base
            for c in contribs:
                if type(c[3]) is not int:
                    break
                total += c[3]
            else:
                return total, False
        exact: Number = base
        for c in sorted(contribs):
            exact = _add(exact, c[3])
        return exact, False

    def value(self) -> bytes:
        """What GET returns."""
        if not self.contribs:
            return self.winner() or b""
        total, masked = self.number()
        if total is None:
            return self.winner() or b""
        return format_number(total)


def _add(a: Number, b: Number) -> Number:
    if type(a) is int and type(b) is int:
        return a + b
    return EXACT.add(Decimal(a), Decimal(b))


def _low(c: tuple) -> int:
    return c[4] if len(c) > 4 else c[2]


def _join(mine: list, theirs: list, my_vv: VV, their_vv: VV) -> list:
    """Join two sets of tagged elements: keep what both have, and what one side has that the
    other has not observed. Elements are keyed by tag; when both sides hold the same tag, the
    one folded over more contributions (the smaller ``lo``) wins."""
    by_tag = {x[:3]: x for x in mine}
    other = {x[:3]: x for x in theirs}
    out = []
    for tag, x in by_tag.items():
        y = other.get(tag)
        if y is not None:
            out.append(x if _low(x) <= _low(y) else y)
        elif not covers(their_vv, x):
            out.append(x)
    out += [y for tag, y in other.items() if tag not in by_tag and not covers(my_vv, y)]
    out.sort()
    return out
