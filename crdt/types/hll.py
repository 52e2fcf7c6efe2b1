"""HyperLogLog: max-registers that merge register-wise (SEMANTICS.md, "HyperLogLog").

In Redis an HLL is a string; here it is a content of its own (``hll``) whose visible value is
exactly the string Redis would store (``crdt.hyperloglog.render``), and which string reads
(GET, STRLEN, GETRANGE, ...) see as a string: it subclasses ``StrValue`` for that read
interface only (``value``), so string commands and TYPE treat it as one.

Why a content and not a string assignment: concurrent PFADDs must all count, so a PFADD ships
the registers it raised (``HllUpdate.pairs``) and every region takes the maximum, which is
commutative and idempotent; an assignment would be last-writer-wins.

Delete wins: the content is a set of *sketches*, one per creation (the dot of the PFADD or
PFMERGE that created the key; more than one only after concurrent creations). An update names
the sketches it was made on (``gens``) and is applied only to those still present, so
``DEL ‖ PFADD`` leaves nothing, whatever the order: where the DEL arrives last it removes the
sketch it observed (updates included), where the PFADD arrives last its sketch is gone. No
tombstone is needed: by causal delivery a sketch named by an update was created here first, so
if it is missing, a delete (or a write of another type) removed it. An update that creates the
key (``gens`` empty) starts a sketch of its own, which a concurrent DEL did not observe.

The cached cardinality (PFCOUNT's, in the header) is a register too (tag, value and a hash of
the registers it was computed on; the greatest tag wins), kept per sketch so that removing a
sketch removes its cache: it reads as valid while the visible registers still hash the same,
so every region shows the same header bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from crdt import hyperloglog as H
from crdt.clock import VV, Tag
from crdt.effects import register_effect

from . import CRDTType, register
from .strings import StrValue

if TYPE_CHECKING:
    from crdt.keyspace import Keyspace

HLL = "hll"
Dot = tuple[str, int]  # (region, seq): a sketch's creation


# A cached cardinality: (hlc, region, seq, card, hash of the registers it counted, or None
# once invalidated); the greatest tag wins.
Cache = tuple[int, str, int, int, "int | None"]


class Sketch:
    """One creation's registers. While Redis would keep them sparse they are stored as the
    canonical sparse opcodes (``packed``: a few bytes for a small HLL, as in Redis), else as
    16384 register bytes (``full``)."""

    __slots__ = ("packed", "full", "dense", "latest", "cache")

    def __init__(self, regs: bytes | bytearray, dense: bool, latest: Tag, cache: Cache | None = None) -> None:
        self.packed: bytes | None = None
        self.full: bytearray | None = None
        self.dense = dense  # the dense encoding was chosen (never undone)
        self.latest = latest  # the greatest tag applied to it
        self.cache = cache  # the cache written with the updates applied to it
        self.store(bytearray(regs))

    def regs(self) -> bytes | bytearray:
        """The 16384 register values (do not change the result)."""
        if self.full is not None:
            return self.full
        packed = self.packed or b""
        hit = _decoded[0]
        if hit is not None and hit[0] is packed:
            return hit[1]
        regs = H.sparse_registers(_NO_HEADER + packed)
        _decoded[0] = (packed, regs)
        return regs

    def store(self, regs: bytearray) -> None:
        if not self.dense:
            body = H.sparse_bytes(regs)
            if body is not None and H.HDR_SIZE + len(body) <= H.SPARSE_MAX_BYTES:
                self.packed, self.full = body, None
                _decoded[0] = (body, regs)  # the next read of this sketch needs no decoding
                return
        self.packed, self.full = None, regs

    def raise_to(self, pairs: bytes, dense: bool) -> None:
        regs = self.full if self.full is not None else bytearray(self.regs())
        for i in range(0, len(pairs), 3):
            x = pairs[i] << 16 | pairs[i + 1] << 8 | pairs[i + 2]
            index, value = x >> 6, x & 63
            if regs[index] < value:
                regs[index] = value
        if dense:
            self.dense = True
        if self.full is None or dense:
            self.store(regs)

    def join(self, other: Sketch) -> Sketch:
        caches = [c for c in (self.cache, other.cache) if c is not None]
        return Sketch(H.reg_max(self.regs(), other.regs()), self.dense or other.dense,
                      max(self.latest, other.latest), max(caches, key=_cache_tag) if caches else None)


_NO_HEADER = bytes(H.HDR_SIZE)
# The registers of the packed sketch read or written last, keyed by its packed bytes object
# (immutable, and replaced on every change): the write that follows a read, and the next
# command on the same key, decode nothing. One entry: 16 KB whatever the number of keys.
_decoded: list[tuple[bytes, bytearray] | None] = [None]


def _cache_tag(c: Cache) -> tuple:
    return c[:3]


def regs_hash(regs: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(regs, digest_size=8).digest(), "little")


class HllValue(StrValue):
    __slots__ = ("sketches", "_bytes")
    type_name: ClassVar[str] = HLL
    reply_type = "string"  # what TYPE says (Entry.kind)

    def __init__(self) -> None:
        super().__init__()
        self.sketches: dict[Dot, Sketch] = {}
        self._bytes: bytes | None = None

    @property
    def cache(self) -> Cache | None:
        """The visible cached cardinality: the newest over the sketches (each sketch keeps the
        one written with its updates, so a delete that removes a sketch removes its cache)."""
        caches = [s.cache for s in self.sketches.values() if s.cache is not None]
        return max(caches, key=_cache_tag) if caches else None

    # -- reads --------------------------------------------------------------------------------
    def registers(self) -> bytes:
        """The visible registers: the maximum over the sketches."""
        sketches = list(self.sketches.values())
        if len(sketches) == 1:
            return bytes(sketches[0].regs())
        out = bytes(H.REGISTERS)
        for s in sketches:
            out = H.reg_max(out, s.regs())
        return out

    def packed(self) -> bytes | None:
        """The canonical sparse opcodes of the visible registers, when at hand (one sketch)."""
        if len(self.sketches) != 1:
            return None
        return next(iter(self.sketches.values())).packed

    def is_dense(self, regs: bytes | None = None) -> bool:
        sketches = self.sketches.values()
        if any(s.dense for s in sketches):
            return True
        if len(sketches) == 1:
            return next(iter(sketches)).full is not None  # (stored packed iff sparse fits)
        return H.needs_dense(regs if regs is not None else self.registers())

    def cache_state(self, regs: bytes) -> tuple[int, bool]:
        """(cached cardinality, valid)."""
        cache = self.cache
        if cache is None:
            return 0, False
        return cache[3], cache[4] is not None and cache[4] == regs_hash(regs)

    def value(self) -> bytes:
        """Redis's string for this HLL (what GET returns)."""
        if self._bytes is not None:
            return self._bytes
        regs = self.registers()
        card, valid = self.cache_state(regs)
        value = H.render(regs, self.is_dense(regs), card if valid else card | H.INVALID_BIT)
        if len(value) <= H.SPARSE_MAX_BYTES:
            self._bytes = value  # (a dense rendering is not kept: it would double the memory)
        return value

    def number(self) -> tuple[Any, bool]:
        return None, False  # never a number: "HYLL..."

    def winner(self) -> bytes | None:
        return self.value()

    def visible(self) -> bytes:
        return self.value()

    def is_empty(self) -> bool:
        return not self.sketches

    def latest(self) -> tuple:
        best: tuple = (0, "", 0)
        for s in self.sketches.values():
            if s.latest > best:
                best = s.latest
        return best

    # -- changes --------------------------------------------------------------------------------
    def apply(self, e: HllUpdate, tag: Tag) -> None:
        targets = [self.sketches[g] for g in e.gens if g in self.sketches]
        if not e.gens:
            dot = (tag[1], tag[2])
            sketch = self.sketches.get(dot)
            if sketch is None:
                sketch = self.sketches[dot] = Sketch(bytearray(H.REGISTERS), False, tag)
            targets = [sketch]
        for s in targets:
            if e.pairs or (e.dense and not s.dense):
                s.raise_to(e.pairs, e.dense)
            if tag > s.latest:
                s.latest = tag
            if e.cache is not None and (s.cache is None or tag > s.cache[:3]):
                s.cache = (tag[0], tag[1], tag[2], e.cache[0], e.cache[1])
        self._bytes = None

    def remove_observed(self, ctx: VV) -> None:
        for dot in [d for d in self.sketches if ctx.get(d[0], 0) >= d[1]]:
            del self.sketches[dot]
        self._bytes = None

    def merge_from(self, other: Any, mine: VV, theirs: VV) -> None:
        out: dict[Dot, Sketch] = {}
        for dot, s in self.sketches.items():
            o = other.sketches.get(dot)
            if o is not None:
                out[dot] = s.join(o)
            elif theirs.get(dot[0], 0) < dot[1]:
                out[dot] = s
        for dot, o in other.sketches.items():
            if dot not in self.sketches and mine.get(dot[0], 0) < dot[1]:
                out[dot] = Sketch(o.regs(), o.dense, o.latest, o.cache)
        self.sketches = out
        self._bytes = None

    def encode(self, region_id: Callable[[str], int]) -> Any:
        out = []
        for d, s in sorted(self.sketches.items()):
            c = s.cache
            cache = None if c is None else [c[0], region_id(c[1]), c[2], c[3], c[4]]
            regs = s.packed if s.packed is not None else bytes(s.full or b"")
            out.append([region_id(d[0]), d[1], regs, s.dense,
                        s.latest[0], region_id(s.latest[1]), s.latest[2], cache])
        return out

    @classmethod
    def decode(cls, data: Any, names: list[str]) -> HllValue:
        v = cls()
        for rid, seq, regs, dense, hlc, lrid, lseq, c in data:
            cache = None if c is None else (c[0], names[c[1]], c[2], c[3], c[4])
            if len(regs) != H.REGISTERS:  # the packed form
                regs = H.sparse_registers(_NO_HEADER + regs)
            v.sketches[(names[rid], seq)] = Sketch(regs, bool(dense), (hlc, names[lrid], lseq), cache)
        return v


# -- the effect ---------------------------------------------------------------------------------


class HllUpdate(NamedTuple):
    """PFADD, PFMERGE, PFCOUNT's cache, PFDEBUG's conversion to dense.

    ``gens``: the sketches it was made on (empty: it creates the key, with a sketch of its own);
    ``pairs``: raised registers, 3 bytes each (14-bit index, 6-bit value, big endian);
    ``dense``: the encoding is dense afterwards; ``cache``: None, or the new cached
    cardinality ``(card, registers hash or None for invalidated)``."""

    db: int
    key: bytes
    gens: tuple[Dot, ...]
    pairs: bytes
    dense: bool
    cache: tuple[int, int | None] | None


def pack_pairs(pairs: list[tuple[int, int]]) -> bytes:
    return b"".join((index << 6 | value).to_bytes(3, "big") for index, value in pairs)


def _encode(e: HllUpdate) -> tuple:
    cache = None if e.cache is None else list(e.cache)
    return (HLL_CODE, e.db, e.key, [list(g) for g in e.gens], e.pairs, e.dense, cache)


def _decode(f: list[Any]) -> HllUpdate:
    cache = None if f[5] is None else (f[5][0], f[5][1])
    return HllUpdate(f[0], f[1], tuple((g[0], g[1]) for g in f[2]), f[3], bool(f[4]), cache)


HLL_CODE = 50  # wire code (streams have 40-47, libraries 60-62)
register_effect(HllUpdate, HLL_CODE, encode=_encode, decode=_decode, creates=lambda e: not e.gens)


def _update(ks: Keyspace, e: HllUpdate, tag: Tag, ctx: VV) -> None:
    if e.gens:
        db = ks.dbs[e.db]
        entry = db.find(e.key)
        current = entry.part(HLL) if entry is not None else None
        if current is None or not any(g in current.sketches for g in e.gens):
            # every sketch it was made on was deleted: the delete wins. What it observed of
            # the key's other types (a string it shadowed) it still removes, as any write does.
            if entry is not None:
                ks.clear_others(e.db, e.key, entry, HLL, tag, ctx)
                ks.settle(db, e.key, entry)
            return
    db, entry, content = ks.open(e.db, e.key, HLL, tag, ctx)
    content.apply(e, tag)
    ks.settle(db, e.key, entry)


register(CRDTType(HLL, 1, HllValue, HllValue.decode, {HllUpdate: _update}))
