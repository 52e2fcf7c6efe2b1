"""HyperLogLog commands (Redis's hyperloglog.c): PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.

An HLL is a ``crdt.types.hll.HllValue`` (which reads as Redis's string), or a plain string
holding an HLL's bytes (written with SET, e.g. bytes from a real Redis' GET). A write to the
latter turns it into an ``HllValue`` (an ``HllUpdate`` that creates the key with every
register, removing the string it observed); reads and the cache update of PFCOUNT work on its
bytes directly, as Redis does.

What ships is registers raised (never the elements), the encoding and the cache, so the
origin decides everything Redis would (promotion to dense included) and every region applies
the same result.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from crdt import hyperloglog as H
from crdt.types.hll import HllUpdate, HllValue, pack_pairs, regs_hash
from crdt.types.strings import KEEP_TTL, Assign, StrValue
from server import errors
from server.commands.common import lookup, prepare_write
from server.commands.registry import command
from server.resp import OK, Error, Status

if TYPE_CHECKING:
    from server.connection import Client


class Source:
    """One key's HLL as a command sees it: its registers, encoding and cached cardinality."""

    __slots__ = ("content", "data", "regs", "dense", "card", "valid")

    def __init__(self, content: Any) -> None:
        self.content = content
        self.data: bytes = b""
        if isinstance(content, HllValue):
            self.regs = bytearray(content.registers())
            self.dense = content.is_dense(bytes(self.regs))
            self.card, self.valid = content.cache_state(bytes(self.regs))
            return
        if not isinstance(content, StrValue):
            raise Error(errors.WRONGTYPE)
        data = self.data = content.value()
        try:
            encoding = H.check_header(data)
        except H.NotHll:
            raise Error(errors.HLL_WRONGTYPE) from None
        self.dense = encoding == H.DENSE
        card = int.from_bytes(data[8:16], "little")
        self.valid = not card & H.INVALID_BIT
        self.card = card & ~H.INVALID_BIT

    def load(self) -> bytearray:
        """The registers of a string HLL (parsed on demand: a valid cache needs no parse)."""
        if isinstance(self.content, HllValue):
            return self.regs
        try:
            self.regs = H.parse(self.data).regs
        except H.Corrupt:
            raise Error(errors.HLL_INVALID) from None
        return self.regs

    @property
    def gens(self) -> tuple:
        return tuple(self.content.sketches) if isinstance(self.content, HllValue) else ()


def _nonzero(regs: bytes | bytearray) -> list[tuple[int, int]]:
    return [(i, v) for i, v in enumerate(regs) if v]


def _write(c: Client, key: bytes, src: Source | None, updates: list[tuple[int, int]],
           dense: bool, cache: tuple[int, int | None] | None, always: bool) -> bool:
    """Raise registers as Redis would and emit the effect; True when a register changed."""
    regs = bytearray(H.REGISTERS) if src is None else src.load()
    changed, dense = H.write(regs, dense, updates)
    if not changed and not always:
        return False
    if src is not None and isinstance(src.content, HllValue):
        c.ks.emit(HllUpdate(c.db, key, src.gens, pack_pairs(changed), dense, cache))
    else:  # a new key, or a string HLL becoming one: every register, from scratch
        c.ks.emit(HllUpdate(c.db, key, (), pack_pairs(_nonzero(regs)), dense, cache))
    return bool(changed)


@command("pfadd")
def cmd_pfadd(c: Client, argv: list[bytes]) -> Any:
    key = argv[1]
    content = prepare_write(c, key)
    src = None if content is None else Source(content)
    updates = [H.pat_len(e) for e in argv[2:]]
    if src is None:
        _write(c, key, None, updates, False, None, True)
        return 1
    cache = None
    if not isinstance(content, HllValue):
        cache = (src.card, None)
        if not src.dense:
            try:
                src.load()
            except Error:
                return _pfadd_corrupt(c, key, src.data, updates)
    return 1 if _write(c, key, src, updates, src.dense, cache, False) else 0


def _pfadd_corrupt(c: Client, key: bytes, data: bytes, updates: list[tuple[int, int]]) -> int:
    """PFADD into a corrupt sparse string, as Redis does it: each element is written in place
    where Redis's walk finds its register, and the first one it cannot place is INVALIDOBJ
    (the elements before it stay written, the cache untouched)."""
    writer = H.SparseWriter(data[H.HDR_SIZE :])
    changed = 0
    for index, value in updates:
        r = writer.update(index, value)
        if r < 0:  # unplaceable, or a promotion (which parses the whole string: corrupt)
            if changed:
                c.ks.emit(Assign(c.db, key, data[: H.HDR_SIZE] + bytes(writer.s), KEEP_TTL))
            raise Error(errors.HLL_INVALID)
        changed += r
    if not changed:
        return 0
    head = data[:15] + bytes([data[15] | 0x80])
    c.ks.emit(Assign(c.db, key, head + bytes(writer.s), KEEP_TTL))
    return 1


def _count_one(c: Client, key: bytes) -> int:
    entry = lookup(c, key)
    if entry is None:
        return 0
    src = Source(entry.content())
    if src.valid:
        return src.card
    regs = src.load()
    card = H.count(regs)
    if isinstance(src.content, HllValue):
        c.ks.emit(HllUpdate(c.db, key, src.gens, b"", False, (card, regs_hash(bytes(regs)))))
    else:  # a string HLL: Redis writes the cache into the string
        data = src.data
        c.ks.emit(Assign(c.db, key, data[:8] + card.to_bytes(8, "little") + data[16:], KEEP_TTL))
    return card


def _union(c: Client, keys: list[bytes]) -> tuple[bytearray, bool]:
    """The register-wise maximum of the keys' HLLs, and whether one of them is dense."""
    out = bytearray(H.REGISTERS)
    dense = False
    for key in keys:
        entry = lookup(c, key)
        if entry is None:
            continue
        src = Source(entry.content())
        dense = dense or src.dense
        out = bytearray(H.reg_max(out, src.load()))
    return out, dense


@command("pfcount")
def cmd_pfcount(c: Client, argv: list[bytes]) -> Any:
    if len(argv) == 2:
        return _count_one(c, argv[1])
    return H.count(_union(c, argv[1:])[0])


@command("pfmerge")
def cmd_pfmerge(c: Client, argv: list[bytes]) -> Any:
    key = argv[1]
    merged, use_dense = _union(c, argv[1:])
    content = prepare_write(c, key)
    src = None if content is None else Source(content)
    dense = use_dense or (src is not None and src.dense)
    card = 0 if src is None else src.card
    updates = [(i, v) for i, v in enumerate(merged) if v]
    _write(c, key, src, updates, dense, (card, None), True)  # always invalidates the cache
    return OK


@command("pfdebug")
def cmd_pfdebug(c: Client, argv: list[bytes]) -> Any:
    sub, key = argv[1], argv[2]
    content = prepare_write(c, key)
    if content is None:
        raise Error("ERR The specified key does not exist")
    src = Source(content)
    name = sub.lower()
    if name == b"getreg":
        regs = src.load()
        if not src.dense:
            _to_dense(c, key, src)
        return list(regs)
    if name == b"decode":
        if src.dense:
            raise Error("ERR HLL encoding is not sparse")
        return H.decode_sparse(content.value()).encode()
    if name == b"encoding":
        return Status("dense" if src.dense else "sparse")
    if name == b"todense":
        if src.dense:
            return 0
        src.load()
        _to_dense(c, key, src)
        return 1
    raise Error("ERR Unknown PFDEBUG subcommand '%s'" % sub.decode(errors="replace"))


def _to_dense(c: Client, key: bytes, src: Source) -> None:
    if isinstance(src.content, HllValue):
        c.ks.emit(HllUpdate(c.db, key, src.gens, b"", True, None))
    else:  # Redis's hllSparseToDense: the header as it was, the encoding byte set to dense
        data = src.data
        dense = data[:4] + bytes([H.DENSE]) + data[5:16] + H.dense_bytes(src.regs)
        c.ks.emit(Assign(c.db, key, dense, KEEP_TTL))


@command("pfselftest")
def cmd_pfselftest(c: Client, argv: list[bytes]) -> Any:
    """A quick form of Redis's self test: the dense register layout round-trips, and sparse
    and dense agree on the count as elements are added (Redis runs 10M elements; we run a few
    thousand so the server is not stalled)."""
    rng = random.Random()
    regs = bytearray(rng.randrange(64) for _ in range(H.REGISTERS))
    back = H.dense_registers(H.header(H.DENSE, 0) + H.dense_bytes(regs), H.HDR_SIZE)
    for i in range(H.REGISTERS):
        if back[i] != regs[i]:
            raise Error("ERR TESTFAILED Register %d should be %d but is %d" % (i, regs[i], back[i]))
    sparse, dense = H.SparseWriter(H.sparse_bytes(bytes(H.REGISTERS)) or b""), bytearray(H.REGISTERS)
    seed = rng.getrandbits(64)
    for j in range(1, 1001):
        index, value = H.pat_len((j ^ seed).to_bytes(8, "little"))
        dense[index] = max(dense[index], value)
        if sparse.update(index, value) == -1:
            raise Error("ERR TESTFAILED sparse encoding not used")
        if j in (1, 10, 100, 1000):
            if H.count(H.sparse_registers(H.header(H.SPARSE, 0) + bytes(sparse.s))) != H.count(dense):
                raise Error("ERR TESTFAILED dense/sparse disagree")
    return OK
