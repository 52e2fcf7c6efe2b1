"""Sorted set: an observed-remove map from member to score (register + counter contributions).

Semantics (SEMANTICS.md, "Sorted sets"):

* Membership follows the set rules: a member exists while it holds any live assignment or
  contribution; ZREM (and DEL, ...) removes only what it observed of a member, so
  ``ZADD x ‖ ZREM x`` keeps ``x`` (add-wins).
* A member's score is a register: ZADD *assigns* (``ZAssign``). An assignment removes the
  assignments and contributions of the member that it observed; concurrent assignments stay
  side by side until observed, and the greatest tag wins the read.
* ZINCRBY and ZADD INCR add a *contribution* ``(tag, delta)`` (``ZIncr``), the increment as
  the user gave it (an IEEE double). The score is the winning assignment (0 when there is
  none) plus the contributions, added one by one **in tag order** with double arithmetic.
  Every region sums the same terms in the same order, so all print the same digits. At the
  origin the new contribution has the greatest tag of the member (its HLC is above every
  effect it has applied), so the score it reads afterwards is exactly Redis's
  ``current + increment``. After ``ZADD 4.1`` seen by both, ``ZREM ‖ ZINCRBY 2`` leaves the
  member with score 2: only the unobserved increment survives.
* NX/XX/GT/LT/CH are evaluated at the origin: what ships is the resulting assignment or
  increment.
* A score of -0 reads as 0, as Redis stores it.

Known anomalies:

* Merged infinities: an origin refuses a NaN result, but concurrent ``+inf`` and ``-inf``
  terms can meet in a sum. The rule is that a step whose double sum is NaN takes the later
  term (the one with the greater tag), so the score is never NaN and is the same everywhere.

Costs: an increment at the origin (or any contribution that arrives with the member's greatest
tag, the usual case) costs O(1): the score is the cached score plus the new term, which is
exactly the next step of the ordered sum. One arriving with a smaller tag (a concurrent one)
re-adds the member's terms. Once every region has observed them (``stable``), the oldest
contributions are *folded* (``_fold``): the longest tag-ordered prefix of stable contributions
becomes one term ``(hlc, region, seq, partial, seen)`` that carries the tag of its newest
contribution, the ordered sum of the assignment **and** the prefix (``partial``), and the newest
seq folded per region (``seen``, so a repeated contribution is still recognised). This is sound
because every later effect observed the whole prefix (causal stability): a later contribution has
a greater tag, so it lands after the prefix, and a later assignment or remove covers the folded
term, so the partial sum never outlives the assignment it started from. A leaderboard member
incremented a million times thus holds a handful of terms, not a million.

``index`` is a sorted list of ``(score, member)``, Redis's order (score, then the member's
bytes), kept in step with every change so rank and range reads are O(log n).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TypeAlias

from mypy_extensions import mypyc_attr
from sortedcontainers import SortedList

from crdt.clock import VV, Tag, covers
from crdt.effects import register_effect

from . import CRDTType, register

if TYPE_CHECKING:
    from crdt.keyspace import Keyspace

ZSET = "zset"

# (hlc, region, seq, score) for an assignment, (hlc, region, seq, delta) for a contribution.
Term: TypeAlias = tuple[int, str, int, float]


def _join(mine: list[Term], theirs: list[Term], my_vv: VV, their_vv: VV) -> list[Term]:
    """Keep what both hold, and what one side holds that the other has not observed."""
    a = {x[:3]: x for x in mine}
    b = {x[:3]: x for x in theirs}
    out = [x for t, x in a.items() if t in b or not covers(their_vv, x)]
    out += [y for t, y in b.items() if t not in a and not covers(my_vv, y)]
    out.sort()
    return out


FOLD_AFTER = 8


def _step(total: float, delta: float) -> float:
    s = total + delta
    return delta if s != s else s  # NaN (inf + -inf): the later term wins


def _seen(c: tuple, region: str) -> int:
    """The newest seq of ``region`` a contribution (or folded term) stands for; -1: none."""
    if len(c) > 4:
        return c[4].get(region, -1)
    return c[2] if c[1] == region else -1


class Member:
    """One member's score: its assignments (usually one) and contributions, both sorted by
    tag, and the score they give (``value``)."""

    __slots__ = ("regs", "contribs", "value")

    def __init__(self) -> None:
        self.regs: list[Term] = []
        self.contribs: list[tuple] = []
        self.value = 0.0

    def compute(self) -> float:
        contribs = self.contribs
        if contribs and len(contribs[0]) > 4:  # folded: its partial sum includes the assignment
            total = contribs[0][3]
            for c in contribs[1:]:
                total = _step(total, c[3])
        else:
            total = self.regs[-1][3] if self.regs else 0.0
            for c in contribs:
                total = _step(total, c[3])
        self.value = total + 0.0  # + 0.0: Redis stores -0 as 0
        return self.value

    def assign(self, tag: Tag, score: float, ctx: VV) -> bool:
        """Returns True when a concurrent assignment remains (an LWW conflict)."""
        if any(r[1] == tag[1] and r[2] == tag[2] for r in self.regs):
            return False  # already applied
        kept = [r for r in self.regs if not covers(ctx, r)]
        concurrent = bool(kept)
        kept.append((tag[0], tag[1], tag[2], score))
        kept.sort()
        self.regs = kept
        if self.contribs:
            self.contribs = [c for c in self.contribs if not covers(ctx, c)]
        self.compute()
        return concurrent

    def add(self, tag: Tag, delta: float, stable: VV) -> None:
        """Add a contribution; O(1) when it has the member's greatest tag (see the module
        docstring). One origin's terms are in seq order, so the newest of the same origin
        tells whether this one was applied already."""
        contribs = self.contribs
        org, seq = tag[1], tag[2]
        for i in range(len(contribs) - 1, -1, -1):
            seen = _seen(contribs[i], org)
            if seen >= 0:
                if seen >= seq:
                    return  # already applied
                break
        term = (tag[0], org, seq, delta)
        if not contribs or term > contribs[-1]:
            contribs.append(term)
            if len(contribs) == 1:
                self.compute()
            else:
                self.value = _step(self.value, delta) + 0.0
        else:
            contribs.append(term)
            contribs.sort()
            self.compute()
        n = len(contribs)
        if n > FOLD_AFTER and n & (n - 1) == 0:
            self._fold(stable)

    def _fold(self, stable: VV) -> None:
        contribs = self.contribs
        k = 0
        while k < len(contribs) and covers(stable, contribs[k]):
            k += 1
        if k < 2:
            return
        if len(contribs[0]) > 4:
            total, seen = contribs[0][3], dict(contribs[0][4])
            first = 1
        else:
            total, seen, first = (self.regs[-1][3] if self.regs else 0.0), {}, 0
        for c in contribs[first:k]:
            total = _step(total, c[3])
            if c[2] > seen.get(c[1], -1):
                seen[c[1]] = c[2]
        last = contribs[k - 1]
        self.contribs = [(last[0], last[1], last[2], total, seen), *contribs[k:]]

    def remove_observed(self, ctx: VV) -> None:
        self.regs = [r for r in self.regs if not covers(ctx, r)]
        self.contribs = [c for c in self.contribs if not covers(ctx, c)]
        if self.regs or self.contribs:
            self.compute()

    def is_empty(self) -> bool:
        return not self.regs and not self.contribs

    def latest(self) -> tuple:
        best: tuple = (0, "", 0)
        if self.regs:
            best = self.regs[-1][:3]
        if self.contribs and self.contribs[-1][:3] > best:
            best = self.contribs[-1][:3]
        return best


@mypyc_attr(native_class=False)  # a builtin subclass: a Python class under mypyc
class SmallIndex(list):
    """The index of a small sorted set: a plain sorted list with the part of SortedList's
    interface the commands use (a SortedList costs about 500 bytes more per key)."""

    __slots__ = ()

    def add(self, value: Any) -> None:
        insort(self, value)

    def remove(self, value: Any) -> None:
        del self[self.index(value)]

    def index(self, value: Any, *_: Any) -> int:
        i = bisect_left(self, value)
        if i < len(self) and self[i] == value:
            return i
        raise ValueError(f"{value!r} is not in the index")

    def bisect_left(self, value: Any) -> int:
        return bisect_left(self, value)

    def bisect_right(self, value: Any) -> int:
        return bisect_right(self, value)

    def islice(self, start: int | None = None, stop: int | None = None, reverse: bool = False) -> Iterator[Any]:
        part = self[start:stop]
        return reversed(part) if reverse else iter(part)


BIG = 1024  # members: beyond, the index is a SortedList (and back below BIG // 4)


class ZSet:
    """``members`` maps a member to its score: a plain ``Term`` when it holds exactly one
    assignment and no contribution (nearly always), else a ``Member``. ``index`` holds
    ``(score, member)`` in Redis's order: a ``SmallIndex`` up to ``BIG`` members, else a
    SortedList."""

    __slots__ = ("members", "index")
    type_name: ClassVar[str] = ZSET

    def __init__(self) -> None:
        self.members: dict[bytes, Term | Member] = {}
        self.index: Any = SmallIndex()

    # -- changes (each keeps ``index`` true) -----------------------------------------------
    def _member(self, name: bytes) -> Member:
        """The member as a ``Member``, out of the index until ``_settle``."""
        m = self.members.get(name)
        if m is None:
            fresh = self.members[name] = Member()
            return fresh
        if isinstance(m, Member):
            self.index.remove((m.value, name))
            return m
        self.index.remove((m[3], name))
        full = Member()
        full.regs, full.value = [m], m[3]
        self.members[name] = full
        return full

    def _settle(self, name: bytes, m: Member) -> None:
        index = self.index
        if m.is_empty():
            del self.members[name]
            if type(index) is not SmallIndex and len(index) < BIG // 4:
                self.index = SmallIndex(index)
            return
        if not m.contribs and len(m.regs) == 1:
            self.members[name] = m.regs[0]  # plain again
        index.add((m.value, name))
        if type(index) is SmallIndex and len(index) > BIG:
            self.index = SortedList(index)

    def assign(self, pairs: Iterable[tuple[bytes, float]], tag: Tag, ctx: VV) -> bool:
        conflict = False
        members, index = self.members, self.index
        for name, score in pairs:
            score += 0.0  # Redis stores -0 as 0
            old = members.get(name)
            if type(old) is tuple and covers(ctx, old):  # the usual case: replace a plain score
                if old[1] == tag[1] and old[2] == tag[2]:
                    continue  # already applied
                index.remove((old[3], name))
                members[name] = (tag[0], tag[1], tag[2], score)
                index.add((score, name))
                continue
            m = self._member(name)
            conflict |= m.assign(tag, score, ctx)
            self._settle(name, m)
        return conflict

    def add(self, name: bytes, tag: Tag, delta: float, stable: VV) -> None:
        m = self._member(name)
        m.add(tag, delta, stable)
        self._settle(name, m)

    def remove(self, names: Iterable[bytes], ctx: VV) -> None:
        members = self.members
        for name in names:
            old = members.get(name)
            if old is None:
                continue
            if type(old) is tuple:  # the usual case: a plain score, observed or not
                if covers(ctx, old):
                    del members[name]
                    self.index.remove((old[3], name))
                    if type(self.index) is not SmallIndex and len(self.index) < BIG // 4:
                        self.index = SmallIndex(self.index)
                continue
            m = self._member(name)
            m.remove_observed(ctx)
            self._settle(name, m)

    def remove_observed(self, ctx: VV) -> None:
        self.remove(list(self.members), ctx)

    def full(self, name: bytes) -> Member | None:
        """A member's terms as a ``Member`` (a copy for a plain one): for reading them."""
        m = self.members.get(name)
        if type(m) is tuple:
            full = Member()
            full.regs, full.value = [m], m[3]
            return full
        return m  # type: ignore[return-value]

    def merge_from(self, other: ZSet, self_vv: VV, other_vv: VV) -> None:
        for name in set(self.members) | set(other.members):
            theirs = other.full(name) or Member()
            m = self._member(name)
            m.regs = _join(m.regs, theirs.regs, self_vv, other_vv)
            m.contribs = _join(m.contribs, theirs.contribs, self_vv, other_vv)
            if not m.is_empty():
                m.compute()
            self._settle(name, m)

    def encode(self, region_id: Callable[[str], int]) -> Any:
        def terms(ts: list[tuple]) -> list[Any]:
            return [[t[0], region_id(t[1]), t[2], t[3]] if len(t) == 4 else
                    [t[0], region_id(t[1]), t[2], t[3], {region_id(r): q for r, q in t[4].items()}]
                    for t in ts]

        out = []
        for name, m in self.members.items():
            if type(m) is tuple:
                out.append([name, terms([m]), []])
            else:
                out.append([name, terms(m.regs), terms(m.contribs)])  # type: ignore[union-attr]
        return out

    @classmethod
    def decode(cls, data: Any, names: list[str]) -> ZSet:
        z = cls()
        for name, regs, contribs in data:
            m = Member()
            m.regs = sorted((t[0], names[t[1]], t[2], float(t[3])) for t in regs)
            m.contribs = sorted(
                (t[0], names[t[1]], t[2], float(t[3])) if len(t) == 4 else
                (t[0], names[t[1]], t[2], float(t[3]), {names[r]: q for r, q in t[4].items()})
                for t in contribs)
            if not m.is_empty():
                m.compute()
                z.members[name] = m
                z._settle(name, m)
        return z

    # -- reads -----------------------------------------------------------------------------
    def is_empty(self) -> bool:
        return not self.members

    def visible(self) -> list[tuple[bytes, float]]:
        return sorted((name, m[3] if type(m) is tuple else m.value)  # type: ignore[union-attr]
                      for name, m in self.members.items())

    def latest(self) -> tuple:
        best: tuple = (0, "", 0)
        for m in self.members.values():
            t = m[:3] if type(m) is tuple else m.latest()  # type: ignore[union-attr]
            if t > best:
                best = t
        return best

    def __len__(self) -> int:
        return len(self.members)

    def __contains__(self, name: bytes) -> bool:
        return name in self.members

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.members)

    def score(self, name: bytes) -> float | None:
        m = self.members.get(name)
        if m is None:
            return None
        return m[3] if type(m) is tuple else m.value  # type: ignore[union-attr]

    def score_of(self, name: bytes) -> float:
        """The score of a member that is there (KeyError otherwise)."""
        m = self.members[name]
        return m[3] if type(m) is tuple else m.value  # type: ignore[union-attr]

    def rank(self, name: bytes) -> int | None:
        score = self.score(name)
        return None if score is None else self.index.index((score, name))


# -- effects ------------------------------------------------------------------------------
class ZAssign(NamedTuple):
    """ZADD (without INCR): the members' resulting scores."""

    db: int
    key: bytes
    pairs: tuple[tuple[bytes, float], ...]


class ZIncr(NamedTuple):
    """ZINCRBY, ZADD INCR: the increment as given."""

    db: int
    key: bytes
    member: bytes
    delta: float


class ZRemove(NamedTuple):
    """ZREM, the pops: observed-remove of members."""

    db: int
    key: bytes
    members: tuple[bytes, ...]


register_effect(
    ZAssign, 11, creates=True,
    encode=lambda e: (11, e.db, e.key, [x for p in e.pairs for x in p]),  # pairs flattened
    decode=lambda f: ZAssign(f[0], f[1], tuple(zip(f[2][::2], map(float, f[2][1::2]), strict=True))),
)
register_effect(ZIncr, 12, creates=True, decode=lambda f: ZIncr(f[0], f[1], f[2], float(f[3])))
register_effect(ZRemove, 13, decode=lambda f: ZRemove(f[0], f[1], tuple(f[2])))


def _zassign(ks: Keyspace, e: ZAssign, tag: Tag, ctx: VV) -> None:
    db, entry, z = ks.open(e.db, e.key, ZSET, tag, ctx)
    if z.assign(e.pairs, tag, ctx):
        ks.conflicts.record(e.db, e.key, "lww", tag, None)
    ks.settle(db, e.key, entry)


def _zincr(ks: Keyspace, e: ZIncr, tag: Tag, ctx: VV) -> None:
    db, entry, z = ks.open(e.db, e.key, ZSET, tag, ctx)
    z.add(e.member, tag, e.delta, ks.stable)
    ks.settle(db, e.key, entry)


def _zremove(ks: Keyspace, e: ZRemove, tag: Tag, ctx: VV) -> None:
    db, entry, z = ks.open(e.db, e.key, ZSET, tag, ctx)
    z.remove(e.members, ctx)
    ks.settle(db, e.key, entry)


# version 2: contributions may be folded (five-element terms); version 1 has none.
register(CRDTType(ZSET, 2, ZSet, ZSet.decode, {ZAssign: _zassign, ZIncr: _zincr, ZRemove: _zremove},
                  reads=(1,)))
