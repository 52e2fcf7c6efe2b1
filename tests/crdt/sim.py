"""A deterministic in-process multi-region simulator for the CRDT layer.

Several regions (one ``Keyspace`` each) make writes the way a server would (reading their own
state first: WRONGTYPE, non-integer values, overflow and absent keys ship nothing; an expired
key is deleted in the same batch before a write touches it), and batches are delivered between
them in any order consistent with causality, with duplicates and codec round trips mixed in.

Every choice is taken through a ``draw(strategy)`` callable, so a hypothesis ``data.draw``
drives the simulation and shrinks failures to short schedules.

It also holds the *oracle*: from the batches alone (tags and causal contexts) it computes which
dots of which write must still be live for each key, following SEMANTICS.md's observed-remove
rules, so tests can check the keyspace's bookkeeping and not only that regions agree.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterable
from decimal import Decimal, localcontext
from typing import Any

from hypothesis import strategies as st

from crdt.clock import VV, Tag, covers
from crdt.codec import decode_batch, encode_batch
from crdt.effects import Batch, Delete, Effect, Expire, Flush
from crdt.keyspace import Keyspace
from crdt.numbers import INT64_MAX, INT64_MIN, format_float, parse_float, parse_int
from crdt.types.ormap import HASH, HashDelete, HashIncr, HashSet, ORMap
from crdt.types.orset import SET, ORSet, SetAdd, SetRemove
from crdt.types.strings import KEEP_TTL, STRING, Assign, Incr, StrValue

Draw = Callable[[st.SearchStrategy[Any]], Any]
BOOLS = st.booleans()


# Strategies are cached: building one per draw costs more than the simulation itself.
@functools.lru_cache(maxsize=4096)
def choice(options: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from(options)


@functools.cache
def ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.integers(lo, hi)


@functools.cache
def some(options: tuple[bytes, ...]) -> st.SearchStrategy[list[bytes]]:
    return st.lists(st.sampled_from(options), min_size=1, max_size=2, unique=True)

REGIONS = ("ap", "eu", "us")
DATABASES = 2
KEYS = (b"a", b"b", b"c", b"d")
MEMBERS = (b"x", b"y", b"z")
FIELDS = (b"f", b"g", b"n")
VALUES = (b"1", b"100", b"-3", b"abc", b"2.5", b"", b"9223372036854775806")
INT_DELTAS = (1, 2, -1, 7, 3, -100, 0, 9223372036854775000)
DEC_DELTAS = (Decimal("0.1"), Decimal("0.2"), Decimal("-2.5"), Decimal("1e-3"), Decimal("3"),
              Decimal("10.25"), Decimal("-0.30"))
# db 1 holds keys that are only ever incremented: property (e).
COUNTER_DB = 1
COUNTER_KEY = b"ctr"
HCOUNTER_KEY = b"hctr"

STRING_CMDS = ("set", "set", "set_ex", "set_keepttl", "incr", "incr", "incrbyfloat")
SET_CMDS = ("sadd", "sadd", "sadd", "srem", "srem")
HASH_CMDS = ("hset", "hset", "hdel", "hincrby", "hincrbyfloat")
KEY_CMDS = ("del", "expire", "expire", "persist")
COUNTER_CMDS = ("ctr_incr", "ctr_hincr")
PROFILES: dict[str, tuple[str, ...]] = {
    "all": STRING_CMDS + SET_CMDS + HASH_CMDS + KEY_CMDS + COUNTER_CMDS + ("flushdb", "flushall"),
    "string": STRING_CMDS + ("del", "expire", "persist", "ctr_incr", "flushdb"),
    "set": SET_CMDS + ("del", "expire", "persist", "flushdb"),
    "hash": HASH_CMDS + ("del", "expire", "ctr_hincr", "flushdb"),
    "types": ("set", "incr", "sadd", "srem", "hset", "hdel", "hincrby", "del"),
}


# -- the write side: commands -> effects, as a server would build them --------------------
def _visible(ks: Keyspace, db: int, key: bytes) -> Any:
    return ks.dbs[db].get(key, ks.now_ms)


def _lazy_expire(ks: Keyspace, db: int, key: bytes) -> None:
    if key in ks.dbs[db].entries and ks.dbs[db].is_expired(key, ks.now_ms):
        ks.emit(Delete(db, key))


def _incr_ok(current: bytes | None, delta: int | Decimal) -> bool:
    """Would the origin accept the increment (Redis's errors ship nothing)?"""
    cur = b"0" if current is None else current
    if type(delta) is int:
        base = parse_int(cur)
        return base is not None and INT64_MIN <= base + delta <= INT64_MAX
    fbase = parse_float(cur)
    return fbase is not None and fbase.is_finite()


def command(ks: Keyspace, draw: Draw, cmds: tuple[str, ...]) -> None:
    """Run one write command at ``ks`` (emitting its effects, maybe none)."""
    cmd = draw(choice(cmds))
    now = ks.now_ms
    if cmd == "flushdb":
        ks.emit(Flush(0))
        return
    if cmd == "flushall":
        ks.emit(Flush(-1))
        return
    if cmd in ("ctr_incr", "ctr_hincr"):
        db = COUNTER_DB
        key = COUNTER_KEY if cmd == "ctr_incr" else HCOUNTER_KEY
        delta = draw(choice(INT_DELTAS[:5] + DEC_DELTAS))
        entry = _visible(ks, db, key)
        if cmd == "ctr_incr":
            if _incr_ok(None if entry is None else entry.string.value(), delta):
                ks.emit(Incr(db, key, delta))
        else:
            cur = None if entry is None else entry.part(HASH).get(b"n")
            if _incr_ok(cur, delta):
                ks.emit(HashIncr(db, key, b"n", delta))
        return
    db = 0
    key = draw(choice(KEYS))
    _lazy_expire(ks, db, key)
    entry = _visible(ks, db, key)
    kind = None if entry is None else entry.kind
    if cmd == "set":
        ks.emit(Assign(db, key, draw(choice(VALUES))))
    elif cmd == "set_ex":
        ttl = draw(ints(1, 120))
        ks.emit(Assign(db, key, draw(choice(VALUES)), now + ttl))
    elif cmd == "set_keepttl":
        ks.emit(Assign(db, key, draw(choice(VALUES)), KEEP_TTL))
    elif cmd in ("incr", "incrbyfloat"):
        delta = draw(choice(INT_DELTAS if cmd == "incr" else DEC_DELTAS))
        if kind in (None, STRING) and _incr_ok(None if entry is None else entry.string.value(), delta):
            ks.emit(Incr(db, key, delta))
    elif cmd == "del":
        if entry is not None:
            ks.emit(Delete(db, key))
    elif cmd == "expire":
        if entry is not None:
            ks.emit(Expire(db, key, now + draw(ints(1, 120))))
    elif cmd == "persist":
        if entry is not None and entry.expire_at():
            ks.emit(Expire(db, key, 0))
    elif cmd == "sadd":
        if kind in (None, SET):
            members = draw(some(MEMBERS))
            ks.emit(SetAdd(db, key, tuple(members)))
    elif cmd == "srem":
        if kind == SET:
            members = draw(some(MEMBERS))
            ks.emit(SetRemove(db, key, tuple(members)))
    elif cmd == "hset":
        if kind in (None, HASH):
            fields = draw(some(FIELDS))
            ks.emit(HashSet(db, key, tuple((f, draw(choice(VALUES))) for f in fields)))
    elif cmd == "hdel":
        if kind == HASH:
            fields = draw(some(FIELDS))
            ks.emit(HashDelete(db, key, tuple(fields)))
    elif cmd in ("hincrby", "hincrbyfloat"):
        field = draw(choice(FIELDS))
        delta = draw(choice(INT_DELTAS if cmd == "hincrby" else DEC_DELTAS))
        if kind in (None, HASH) and _incr_ok(None if entry is None else entry.part(HASH).get(field), delta):
            ks.emit(HashIncr(db, key, field, delta))
    else:  # pragma: no cover
        raise AssertionError(cmd)


# -- the network ---------------------------------------------------------------------------
def new_region(name: str) -> Keyspace:
    ks = Keyspace(name, DATABASES)
    ks.expect_peers()  # nothing is known stable (so nothing is folded or dropped)
    return ks


class Sim:
    def __init__(self, regions: Iterable[str] = REGIONS, cmds: tuple[str, ...] = PROFILES["all"]):
        self.regions: dict[str, Keyspace] = {name: new_region(name) for name in regions}
        self.cmds = cmds
        self.batches: list[Batch] = []  # every batch made, in the order made (a causal order)
        self.applied: dict[str, set[int]] = {name: set() for name in self.regions}
        self.time = 1_000_000
        self.skew = dict.fromkeys(self.regions, 0)
        self.duplicates = 0

    # time: each region's wall clock is the global time plus its own skew
    def tick(self, draw: Draw) -> None:
        self.time += draw(ints(0, 40))

    def set_skew(self, draw: Draw) -> None:
        for name in self.regions:
            self.skew[name] = draw(ints(-60, 60))

    def write(self, region: str, draw: Draw) -> Batch | None:
        """One batch (MULTI/EXEC of 1-3 commands) at ``region``; None if nothing shipped."""
        ks = self.regions[region]
        ks.now_ms = self.time + self.skew[region]
        for _ in range(draw(ints(1, 3))):
            command(ks, draw, self.cmds)
        batch = ks.commit()
        if batch is None:
            return None
        self.batches.append(batch)
        self.applied[region].add(len(self.batches) - 1)
        return batch

    def deliverable(self, region: str) -> list[int]:
        ks = self.regions[region]
        return [i for i, b in enumerate(self.batches)
                if i not in self.applied[region] and ks.ready(b)]

    def deliver(self, region: str, index: int, via_codec: bool) -> int:
        ks = self.regions[region]
        batch = self.batches[index]
        if via_codec:
            batch = decode_batch(encode_batch(batch))
        assert ks.ready(batch), (region, index)
        ks.now_ms = self.time + self.skew[region]
        applied = ks.apply_batch(batch)
        self.applied[region].add(index)
        return applied

    def step(self, draw: Draw) -> None:
        action = draw(choice(("write", "write", "write", "deliver", "deliver", "dup",
                                       "tick", "tick")))
        if action == "tick":
            self.tick(draw)
        elif action == "write":
            self.write(draw(choice(tuple(sorted(self.regions)))), draw)
        elif action == "deliver":
            region = draw(choice(tuple(sorted(self.regions))))
            ready = self.deliverable(region)
            if ready:
                self.deliver(region, draw(choice(tuple(ready))), draw(BOOLS))
        else:
            self.redeliver(draw(choice(tuple(sorted(self.regions)))), draw)

    def redeliver(self, region: str, draw: Draw) -> None:
        """A duplicate: must be accepted (``ready``) and change nothing (G3)."""
        done = sorted(self.applied[region])
        if not done:
            return
        index = draw(choice(tuple(done)))
        before = internal_state(self.regions[region])
        assert self.deliver(region, index, draw(BOOLS)) == 0
        assert internal_state(self.regions[region]) == before
        self.duplicates += 1

    def deliver_all(self, draw: Draw) -> None:
        """Deliver everything everywhere, in a drawn causal order, with duplicates mixed in."""
        while True:
            pending = [(r, i) for r in sorted(self.regions) for i in self.deliverable(r)]
            if not pending:
                break
            region, index = draw(choice(tuple(pending)))
            self.deliver(region, index, draw(BOOLS))
            if draw(ints(0, 4)) == 0:
                self.redeliver(region, draw)
        for name in self.regions:
            assert self.applied[name] == set(range(len(self.batches))), "causal delivery stuck"

    def run(self, draw: Draw, max_steps: int = 40) -> None:
        self.set_skew(draw)
        for _ in range(draw(ints(1, max_steps))):
            self.step(draw)


def replay(batches: list[Batch], order: Iterable[int], name: str = "zz-observer") -> Keyspace:
    """A fresh region that applied ``batches`` in ``order`` (which must be causal)."""
    ks = new_region(name)
    for i in order:
        assert ks.ready(batches[i]), i
        ks.apply_batch(batches[i])
    return ks


def causal_order(batches: list[Batch], draw: Draw, subset: Iterable[int] | None = None) -> list[int]:
    """A drawn order of ``subset`` (default: all) in which every batch comes after its deps."""
    probe = new_region("zz-probe")
    left = set(range(len(batches)) if subset is None else subset)
    order: list[int] = []
    while left:
        ready = sorted(i for i in left if probe.ready(batches[i]))
        assert ready, "no causal order"
        i = draw(choice(tuple(ready)))
        probe.apply_batch(batches[i])
        order.append(i)
        left.discard(i)
    return order


# -- canonical dumps -----------------------------------------------------------------------
def _num(x: int | Decimal) -> tuple[str, str]:
    return (type(x).__name__, str(x))


def str_state(sv: StrValue | None) -> tuple:  # type: ignore[type-arg]
    if sv is None:
        return ((), ())
    regs = tuple(sorted(sv.regs))
    contribs = tuple(sorted((c[:3] + (_num(c[3]),)) for c in sv.contribs or ()))
    return regs, contribs


def set_state(s: ORSet | None) -> dict[bytes, tuple[Tag, ...]]:
    if s is None:
        return {}
    return {m: tuple(sorted(s.tags_of(m))) for m in s.members}


def map_state(m: ORMap | None) -> dict[bytes, tuple]:  # type: ignore[type-arg]
    if m is None:
        return {}
    return {f: str_state(sv) for f, sv in m.fields.items()}


def internal_state(ks: Keyspace) -> Any:
    """Everything the keyspace holds, order-independent (what must converge exactly)."""
    out = []
    for db in ks.dbs:
        entries = {}
        for key, e in db.entries.items():
            entries[key] = (str_state(e.string) if e.string is not None else None,
                            set_state(e.part(SET)) if e.part(SET) is not None else None,
                            map_state(e.part(HASH)) if e.part(HASH) is not None else None,
                            tuple(sorted(e.expire or ())))
        orphans = {k: tuple(sorted(v)) for k, v in db.orphan_expiry.items() if v}
        out.append((entries, orphans, dict(db.expires)))
    return out, {r: s for r, s in ks.vv.items() if s}


def visible_state(ks: Keyspace, now_ms: int) -> dict[tuple[int, bytes], tuple]:  # type: ignore[type-arg]
    """What a client can read: key -> (type, value, absolute expire time)."""
    out: dict[tuple[int, bytes], tuple] = {}  # type: ignore[type-arg]
    for dbi, db in enumerate(ks.dbs):
        for key in sorted(db.entries):
            e = db.get(key, now_ms)
            if e is None:
                continue
            kind = e.kind
            value: Any
            if kind == STRING:
                value = e.string.value()  # type: ignore[union-attr]
            elif kind == SET:
                value = tuple(sorted(e.part(SET).members))  # type: ignore[union-attr]
            else:
                value = tuple(sorted(e.part(HASH).items()))  # type: ignore[union-attr]
            out[(dbi, key)] = (kind, value, e.expire_at())
    return out


def typed(x: Any) -> Any:
    """A structure whose equality also compares types (1 == Decimal(1), but not here)."""
    if isinstance(x, tuple | list):
        return (type(x).__name__, tuple(typed(v) for v in x))
    if isinstance(x, dict):
        return ("dict", tuple(sorted((k, typed(v)) for k, v in x.items())))
    return (type(x).__name__, x)


# -- the oracle: live dots from the causal history -----------------------------------------
class Write:
    __slots__ = ("effect", "tag", "ctx")

    def __init__(self, effect: Effect, tag: Tag, ctx: VV) -> None:
        self.effect, self.tag, self.ctx = effect, tag, ctx

    def observes(self, other: Write) -> bool:
        return covers(self.ctx, other.tag)


def writes(batches: Iterable[Batch]) -> list[Write]:
    out = []
    for b in batches:
        for i, e in enumerate(b.effects):
            seq = b.first_seq + i
            ctx = dict(b.deps)
            ctx[b.origin] = seq - 1
            out.append(Write(e, (b.hlc, b.origin, seq), ctx))
    return out


_TYPE_OF = {Assign: STRING, Incr: STRING, SetAdd: SET, SetRemove: SET, HashSet: HASH,
            HashDelete: HASH, HashIncr: HASH}


def _touches(w: Write, db: int, key: bytes) -> bool:
    e = w.effect
    if type(e) is Flush:
        return e.db in (-1, db)
    return e.db == db and e.key == key


def _removes_all(w: Write, kind: str) -> bool:
    """Does ``w`` remove every observed dot of content of type ``kind`` on its key?"""
    t = type(w.effect)
    if t in (Delete, Flush):
        return True
    return t in _TYPE_OF and _TYPE_OF[t] != kind


class Oracle:
    """Expected live dots per key, computed from the batches (SEMANTICS.md's rules)."""

    def __init__(self, batches: Iterable[Batch]) -> None:
        self.writes = writes(batches)

    def on(self, db: int, key: bytes) -> list[Write]:
        return [w for w in self.writes if _touches(w, db, key)]

    @staticmethod
    def _live(cands: list[Write], removers: list[Write]) -> list[Write]:
        return [c for c in cands if not any(r.observes(c) for r in removers)]

    def string(self, db: int, key: bytes) -> tuple:  # type: ignore[type-arg]
        ws = self.on(db, key)
        resets = [w for w in ws if type(w.effect) is Assign or _removes_all(w, STRING)]
        regs = self._live([w for w in ws if type(w.effect) is Assign], resets)
        contribs = self._live([w for w in ws if type(w.effect) is Incr], resets)
        return (tuple(sorted(w.tag + (w.effect.value,) for w in regs)),
                tuple(sorted(w.tag + (_num(w.effect.delta),) for w in contribs)))

    def set(self, db: int, key: bytes) -> dict[bytes, tuple[Tag, ...]]:
        ws = self.on(db, key)
        out = {}
        for m in MEMBERS:
            adds = [w for w in ws if type(w.effect) is SetAdd and m in w.effect.members]
            removers = [w for w in ws if _removes_all(w, SET)
                        or (type(w.effect) in (SetAdd, SetRemove) and m in w.effect.members)]
            live = self._live(adds, removers)
            if live:
                out[m] = tuple(sorted(w.tag for w in live))
        return out

    def hash(self, db: int, key: bytes) -> dict[bytes, tuple]:  # type: ignore[type-arg]
        ws = self.on(db, key)
        out = {}
        for f in FIELDS:
            def sets(w: Write, f: bytes = f) -> bool:
                return type(w.effect) is HashSet and any(p[0] == f for p in w.effect.pairs)

            resets = [w for w in ws if _removes_all(w, HASH) or sets(w)
                      or (type(w.effect) is HashDelete and f in w.effect.fields)]
            regs = self._live([w for w in ws if sets(w)], resets)
            incrs = [w for w in ws if type(w.effect) is HashIncr and w.effect.field == f]
            contribs = self._live(incrs, resets)
            if regs or contribs:
                values = [w.tag + (dict(w.effect.pairs)[f],) for w in regs]
                out[f] = (tuple(sorted(values)),
                          tuple(sorted(w.tag + (_num(w.effect.delta),) for w in contribs)))
        return out

    def expire(self, db: int, key: bytes) -> tuple:  # type: ignore[type-arg]
        ws = self.on(db, key)

        def at(w: Write) -> int | None:
            e = w.effect
            if type(e) is Expire:
                return e.at_ms
            if type(e) is Assign and e.expire_at != KEEP_TTL:
                return e.expire_at
            return None

        writers = [w for w in ws if at(w) is not None]
        resets = writers + [w for w in ws if type(w.effect) in (Delete, Flush)]
        return tuple(sorted(w.tag + (at(w),) for w in self._live(writers, resets)))


def all_keys() -> list[tuple[int, bytes]]:
    return [(0, k) for k in KEYS] + [(COUNTER_DB, COUNTER_KEY), (COUNTER_DB, HCOUNTER_KEY)]


def deepcopy(x: Any) -> Any:
    return copy.deepcopy(x)


# -- the oracle for what a client reads ---------------------------------------------------
def _read_str(regs: tuple, contribs: tuple) -> bytes:  # type: ignore[type-arg]
    """GET of a string from its live dots: the greatest assignment plus the contributions,
    or the assignment alone when it is not a number (masked)."""
    winner = max(regs)[3] if regs else None
    if not contribs:
        return winner or b""
    deltas = [Decimal(v) if t == "Decimal" else int(v) for (_h, _r, _s, (t, v)) in contribs]
    base: int | Decimal | None = 0
    if winner is not None:
        base = parse_int(winner)
        if base is None:
            base = parse_float(winner)
            if base is not None and not base.is_finite():
                base = None
    if base is None:
        return winner or b""
    if type(base) is int and all(type(d) is int for d in deltas):
        return b"%d" % (base + sum(deltas))  # type: ignore[arg-type]
    with localcontext(prec=10_000):  # exact: the digits must not depend on rounding
        total = sum((Decimal(d) for d in deltas), Decimal(base))
    return format_float(total)


def expected_visible(oracle: Oracle, now_ms: int) -> dict[tuple[int, bytes], tuple]:  # type: ignore[type-arg]
    out: dict[tuple[int, bytes], tuple] = {}  # type: ignore[type-arg]
    for dbi, key in all_keys():
        regs, contribs = oracle.string(dbi, key)
        members = oracle.set(dbi, key)
        fields = oracle.hash(dbi, key)
        latest = {}
        if regs or contribs:
            latest[STRING] = max(x[:3] for x in regs + contribs)
        if members:
            latest[SET] = max(t for tags in members.values() for t in tags)
        if fields:
            latest[HASH] = max(x[:3] for r, c in fields.values() for x in r + c)
        if not latest:
            continue
        ats = [e[3] for e in oracle.expire(dbi, key)]
        at = 0 if not ats or 0 in ats else max(ats)  # the longest lifetime wins
        if at and at <= now_ms:
            continue
        kind = max(latest, key=lambda k: latest[k])  # the most recent live write's type
        value: Any
        if kind == STRING:
            value = _read_str(regs, contribs)
        elif kind == SET:
            value = tuple(sorted(members))
        else:
            value = tuple(sorted((f, _read_str(r, c)) for f, (r, c) in fields.items()))
        out[(dbi, key)] = (kind, value, at)
    return out
