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

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TypeAlias

from mypy_extensions import mypyc_attr

from crdt import expiry
from crdt.clock import VV, Tag, covers
from crdt.effects import register_effect
from crdt.numbers import EXACT, format_number, parse_float, parse_int

from . import CRDTType, register

if TYPE_CHECKING:
    from crdt.keyspace import Keyspace

STRING = "string"

Number: TypeAlias = int | Decimal
# Fold contributions when their count reaches a power of two above this: folding is O(n),
# and only stable contributions fold, so while the peers lag (nothing new is stable) an attempt
# per increment made INCR on a hot counter O(n); at 16, 32, 64... it costs O(1) per increment
# and the list stays within twice what cannot be folded yet.
FOLD_AFTER = 8
# (hlc, region, seq, value): an assignment; (hlc, region, seq, delta): a contribution, or
# (hlc, region, seq, sum, lo) once folded (see ``_fold``).
Assignment: TypeAlias = tuple[int, str, int, bytes]
Contribution: TypeAlias = tuple[int, str, int, Number] | tuple[int, str, int, Number, int]


# A winning assignment's hlc and seq share one int, ``stamp`` (one object instead of two).
SEQ_BITS = 64
SEQ_MASK = (1 << SEQ_BITS) - 1


@mypyc_attr(native_class=False)  # a builtin subclass: a Python class under mypyc
class Contribs(list):
    """Counter contributions with their sum, kept up to date by ``StrValue.add`` (``total`` None:
    not known; ``number`` computes it once). Whatever else changes the contributions (a reset,
    a fold, a merge) stores a plain list, so a stale sum can never be read."""

    __slots__ = ("total",)
    total: Number | None


class Extra:
    """What a value holds beyond one plain assignment, which is rare: concurrent assignments
    that lost the read (``more``, as tuples) and counter contributions."""

    __slots__ = ("more", "contribs")

    def __init__(self) -> None:
        self.more: list[Assignment] | None = None
        self.contribs: list[Contribution] | None = None


class StrValue:
    """A plain string costs one small object: the winning assignment lives in three slots
    (``stamp`` packs its hlc and seq, ``org`` is its region, ``val`` its value, None when there
    is no assignment) and ``x`` holds the rest, usually nothing:

    * None, or a list: no losing assignments, no contributions (an ``Entry`` keeps its expire
      entries there when they are all it has beyond its string);
    * an ``Extra``: the losing assignments and the contributions (and, in an ``Entry``, more).

    ``regs`` is the list view of all the assignments, as ``(hlc, region, seq, value)``."""

    __slots__ = ("stamp", "org", "val", "x")
    type_name: ClassVar[str] = STRING

    def __init__(self) -> None:
        self.stamp = 0
        self.org = ""
        self.val: bytes | None = None
        self.x: Any = None

    def _extra(self) -> Any:
        x = self.x
        if x is None:
            x = self.x = Extra()
        return x

    @property
    def hlc(self) -> int:
        return self.stamp >> SEQ_BITS

    @property
    def seq(self) -> int:
        return self.stamp & SEQ_MASK

    @property
    def more(self) -> list[Assignment] | None:
        x = self.x
        return None if x is None or type(x) is list else x.more

    @more.setter
    def more(self, value: list[Assignment] | None) -> None:
        if value is not None:
            self._extra().more = value
        elif isinstance(self.x, Extra):  # (an Entry's x may also be a packed content)
            self.x.more = None
            self._compact()

    @property
    def contribs(self) -> list[Contribution] | None:
        x = self.x
        return None if x is None or type(x) is list else x.contribs

    @contribs.setter
    def contribs(self, value: list[Contribution] | None) -> None:
        if value is not None:
            self._extra().contribs = value
        elif isinstance(self.x, Extra):
            self.x.contribs = None
            self._compact()

    def _will_change(self) -> None:
        """Called before ``regs`` replaces the assignments (an ``Entry`` pins what refers to
        its winning one)."""

    def _compact(self) -> None:
        """Drop an ``Extra`` that holds nothing (an ``Entry`` compacts in ``compact``)."""
        x = self.x
        if type(x) is Extra and x.more is None and x.contribs is None:
            self.x = None

    @property
    def regs(self) -> list[Assignment]:
        if self.val is None:
            return []
        stamp = self.stamp
        top = (stamp >> SEQ_BITS, self.org, stamp & SEQ_MASK, self.val)
        more = self.more
        return [top] if more is None else [*more, top]

    @regs.setter
    def regs(self, value: list[Assignment]) -> None:
        self._will_change()
        if not value:
            self.val = None
            self.more = None
            return
        i = value.index(max(value))
        hlc, self.org, seq, self.val = value[i]
        self.stamp = hlc << SEQ_BITS | seq
        self.more = value[:i] + value[i + 1 :] or None

    # -- effects ---------------------------------------------------------------------------
    def assign(self, tag: Tag, value: bytes, ctx: VV) -> bool:
        """Assign; returns True when a concurrent assignment remains (an LWW conflict).
        Applying the same assignment again changes nothing."""
        x = self.x
        plain = x is None or type(x) is list  # no losing assignments, no contributions
        concurrent = False
        if self.val is None:
            self.stamp = tag[0] << SEQ_BITS | tag[2]
            self.org = tag[1]
            self.val = value
        elif self.stamp & SEQ_MASK == tag[2] and self.org == tag[1]:
            return False
        elif (plain or x.more is None) and ctx.get(self.org, 0) >= self.stamp & SEQ_MASK:
            self.stamp = tag[0] << SEQ_BITS | tag[2]  # observed: replace
            self.org = tag[1]
            self.val = value
        else:
            regs = self.regs
            if any(r[2] == tag[2] and r[1] == tag[1] for r in regs):
                return False
            kept = [r for r in regs if not covers(ctx, r)]
            concurrent = bool(kept)
            kept.append((tag[0], tag[1], tag[2], value))
            self.regs = kept
        if not plain and x.contribs:
            self._reset_contribs(ctx)
        return concurrent

    def add(self, tag: Tag, delta: Number, stable: VV) -> None:
        """Add a contribution: O(1) however many are not yet stable (a hot counter while the
        peers lag). One origin's contributions are in seq order in the list (they are applied
        in causal order, and folding and merging keep that order), so the newest of this
        origin tells whether this one was applied already."""
        contribs = self.contribs
        org, seq = tag[1], tag[2]
        if contribs is None:
            fresh = Contribs([(tag[0], org, seq, delta)])
            fresh.total = delta
            self.contribs = fresh
            return
        for i in range(len(contribs) - 1, -1, -1):
            c = contribs[i]
            if c[1] == org:
                if c[2] >= seq:
                    return  # already applied (a folded entry carries its newest contribution's tag)
                break
        if type(contribs) is not Contribs:
            contribs = Contribs(contribs)
            contribs.total = None
            self.contribs = contribs
        contribs.append((tag[0], org, seq, delta))
        if contribs.total is not None:
            contribs.total = _add(contribs.total, delta)
        n = len(contribs)
        if n > FOLD_AFTER and n & (n - 1) == 0:
            self._fold(stable)

    def remove_observed(self, ctx: VV) -> None:
        if self.val is not None:
            if self.more is not None:
                self.regs = [r for r in self.regs if not covers(ctx, r)]
            elif ctx.get(self.org, 0) >= self.stamp & SEQ_MASK:
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

    def encode(self, region_id: Callable[[str], int]) -> Any:
        regs = [[t[0], region_id(t[1]), t[2], t[3]] for t in self.regs]
        contribs = [[c[0], region_id(c[1]), c[2], _num(c[3]), *c[4:]] for c in self.contribs or ()]
        return [regs, contribs]

    @classmethod
    def decode(cls, data: Any, names: list[str]) -> StrValue:
        sv = cls()
        sv.regs = [(t[0], names[t[1]], t[2], t[3]) for t in data[0]]
        contribs = [(c[0], names[c[1]], c[2], _unnum(c[3]), *c[4:]) for c in data[1]]
        sv.contribs = contribs or None
        return sv

    # -- reads -----------------------------------------------------------------------------
    def is_empty(self) -> bool:
        return self.val is None and not self.contribs

    def visible(self) -> bytes:
        return self.value()

    def latest(self) -> tuple:
        """The greatest tag of the value (the winning assignment is the greatest one)."""
        best: tuple = (self.hlc, self.org, self.seq) if self.val is not None else (0, "", 0)
        contribs = self.contribs
        if contribs:
            c = max(contribs)[:3]
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
        total = contribs.total if type(contribs) is Contribs else None
        if total is None:
            total = _sum(contribs)
            if type(contribs) is Contribs:
                contribs.total = total
        return _add(base, total), False

    def value(self) -> bytes:
        """What GET returns."""
        x = self.x
        if x is None or type(x) is list or not x.contribs:
            return self.val or b""
        total, masked = self.number()
        if total is None:
            return self.winner() or b""
        return format_number(total)


def _add(a: Number, b: Number) -> Number:
    if type(a) is int and type(b) is int:
        return a + b
    return EXACT.add(Decimal(a), Decimal(b))


def _sum(contribs: list[Contribution]) -> Number:
    """The exact sum of the contributions' deltas (integers stay integers)."""
    total: Number = 0
    for c in contribs:
        if type(c[3]) is not int:
            break
        total += c[3]
    else:
        return total
    exact: Number = 0
    for c in contribs:
        exact = _add(exact, c[3])
    return exact


def _num(x: Any) -> Any:
    return str(x) if type(x) is Decimal else x


def _unnum(x: Any) -> Any:
    return Decimal(x) if type(x) is str else x


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


# -- effects ------------------------------------------------------------------------------
# Expire-time field of Assign: KEEP_TTL leaves the TTL alone; 0 writes "no expiry".
KEEP_TTL = -1


class Assign(NamedTuple):
    """SET and every whole-value string write."""

    db: int
    key: bytes
    value: bytes
    expire_at: int = 0  # absolute ms, 0 = no expiry, KEEP_TTL = unchanged


class Incr(NamedTuple):
    """INCR/DECR/INCRBY/DECRBY (int delta) and INCRBYFLOAT (Decimal delta)."""

    db: int
    key: bytes
    delta: int | Decimal


def encode_delta(code: int) -> Callable[[Any], tuple]:
    """An effect whose last field is a delta: a Decimal travels as its exact string."""
    def enc(e: Any) -> tuple:
        return (code, *e[:-1], str(e[-1])) if type(e[-1]) is Decimal else (code, *e)
    return enc


def decode_delta(cls: Any) -> Callable[[list[Any]], Any]:
    def dec(fields: list[Any]) -> Any:
        fields[-1] = _unnum(fields[-1])
        return cls(*fields)
    return dec


# A SET that writes the TTL removes what it observed of the expire register itself: it needs no
# observed-remove of the key's remains first (``Keyspace.emit``).
register_effect(Assign, 1, creates=lambda e: e.expire_at == KEEP_TTL)
register_effect(Incr, 2, creates=True, encode=encode_delta(2), decode=decode_delta(Incr))


# -- interpreters -------------------------------------------------------------------------
def _assign(ks: Keyspace, e: Assign, tag: Tag, ctx: VV) -> None:
    db = ks.dbs[e.db]
    key = e.key
    entry = db.find(key)
    if entry is None:
        if e.expire_at == 0 and key not in db.orphan_expiry:
            # A SET without TTL of a new key (the bulk of a catch-up): what the general path
            # below leaves, built directly — the assignment, and its own "never" entry as
            # ``write_expire`` stores it (nothing at all without peers).
            entry = db.entries[key] = ks.new_entry()
            entry.stamp, entry.org, entry.val = tag[0] << SEQ_BITS | tag[2], tag[1], e.value
            if ks.has_peers:
                entry.x = expiry.OWN_NEVER
            db.generation += 1
            if db.expires:
                db.expires.pop(key, None)
            return
        entry = ks.entry(db, key)
    elif (e.expire_at == 0 and (entry.x is expiry.OWN_NEVER or entry.x is None)
          and ctx.get(entry.org, 0) >= entry.stamp & SEQ_MASK):
        # A SET without TTL over a plain value it observed: the same, replaced (what the
        # general path below leaves: no conflict, and the new assignment's own "never").
        entry.stamp, entry.org, entry.val = tag[0] << SEQ_BITS | tag[2], tag[1], e.value
        entry.x = expiry.OWN_NEVER if ks.has_peers else None
        if db.expires:
            db.expires.pop(key, None)
        return
    elif entry.x is expiry.OWN_NEVER:
        if e.expire_at != KEEP_TTL and ctx.get(entry.org, 0) >= entry.stamp & SEQ_MASK:
            entry.x = None  # this write observed that "never" entry: it replaces it below
    elif entry.x is not None and entry.has_other_types():
        ks.clear_others(e.db, key, entry, STRING, tag, ctx)
    x = entry.x
    if x is None or type(x) is list or x.contribs is None:  # a plain register (common)
        if entry.assign(tag, e.value, ctx):
            _lww_conflict(ks, e, entry, tag)
    else:
        # Contributions this assignment did not observe survive it; if it makes them
        # masked, that is a counter_masked conflict here too, not only where the increment
        # arrives last (_incr), so every region counts it whatever the delivery order.
        masked_before = entry.number()[1]
        if entry.assign(tag, e.value, ctx):
            _lww_conflict(ks, e, entry, tag)
        if entry.contribs and not masked_before and entry.number()[1]:
            for c in entry.contribs:
                ks.conflicts.record(e.db, key, "counter_masked", tag, c)
    x = entry.x
    if x is not None and type(x) is not list:  # rare: other parts beside the value
        entry.compact()  # (the assignment may have replaced all of them)
    if e.expire_at != KEEP_TTL:
        ks.write_expire(e.db, key, entry, tag, e.expire_at, ctx)
    ks.index_expire(db, key, entry)  # the entry has content: nothing else to settle


def _lww_conflict(ks: Keyspace, e: Assign, sv: StrValue, tag: Tag) -> None:
    loser = max(r for r in sv.regs if r[2] != tag[2] or r[1] != tag[1])
    ks.conflicts.record(e.db, e.key, "lww", tag, loser)


def _incr(ks: Keyspace, e: Incr, tag: Tag, ctx: VV) -> None:
    db = ks.dbs[e.db]
    entry = ks.entry(db, e.key)
    if entry.has_other_types():
        ks.clear_others(e.db, e.key, entry, STRING, tag, ctx)
    entry.add(tag, e.delta, ks.stable)
    if tag[1] != ks.region and entry.regs and entry.number()[1]:
        ks.conflicts.record(e.db, e.key, "counter_masked", tag, max(entry.regs))
    ks.settle(db, e.key, entry)


register(CRDTType(STRING, 1, StrValue, StrValue.decode, {Assign: _assign, Incr: _incr}))
