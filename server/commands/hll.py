"""HyperLogLog commands (Redis's hyperloglog.c): PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.

An HLL is a ``crdt.types.hll.HllValue`` (which reads as Redis's string), or a plain string
holding an HLL's bytes (written with SET, e.g. bytes from a real Redis' GET). A write to the
latter turns it into an ``HllValue`` (an ``HllUpdate`` that creates the key with every
register, removing the string it observed); reads and the cache update of PFCOUNT work on its
bytes directly, as Redis does. A string an ``HllValue`` would not render byte for byte (corrupt,
or not as Redis writes it) is written by Redis's own algorithm on its bytes and stays a string
(``_raw_write``), so its bytes stay Redis's too.

What ships is registers raised (never the elements), the encoding and the cache, so the
origin decides everything Redis would (promotion to dense included) and every region applies
the same result.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from crdt import hyperloglog as H
from crdt.types.hll import HLL, HllUpdate, HllValue, pack_pairs, regs_hash
from crdt.types.strings import KEEP_TTL, Assign, StrValue
from server import errors
from server.commands.common import lookup, prepare_write
from server.commands.registry import command
from server.rdb import objects as rdb
from server.rdb.rdbio import save_string
from server.resp import OK, Error, Status

if TYPE_CHECKING:
    from server.connection import Client


# DUMP: an HLL is a string to Redis (RESTORE loads it back as one, which PFADD then adopts)
rdb.DUMPERS[HLL] = lambda content: bytes([rdb.TYPE_STRING]) + save_string(content.value())


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

    def odd(self) -> bool:
        """A string HLL that an ``HllValue`` would not render byte for byte: corrupt, or not
        as Redis writes it (unused header bytes set, sparse runs split another way)."""
        try:
            parsed = H.parse(self.data)
        except H.Corrupt:
            return True
        return H.render(parsed.regs, parsed.encoding == H.DENSE, parsed.card) != self.data

    @property
    def gens(self) -> tuple:
        return tuple(self.content.sketches) if isinstance(self.content, HllValue) else ()


def _nonzero(regs: bytes | bytearray) -> list[tuple[int, int]]:
    return [(i, v) for i, v in enumerate(regs) if v]


def _write(c: Client, key: bytes, src: Source | None, updates: list[tuple[int, int]],
           dense: bool, cache: tuple[int, int | None] | None, always: bool) -> bool:
    """Raise registers as Redis would and emit the effect; True when a register changed."""
    regs = bytearray(H.REGISTERS) if src is None else src.load()
    packed = src.content.packed() if src is not None and isinstance(src.content, HllValue) else None
    changed, dense = H.write(regs, dense, updates, packed)
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
    if not isinstance(content, HllValue):
        if src.odd():
            return _raw_write(c, key, src.data, False, updates, False)
        return 1 if _write(c, key, src, updates, src.dense, (src.card, None), False) else 0
    return 1 if _write(c, key, src, updates, src.dense, None, False) else 0


def _raw_write(c: Client, key: bytes, data: bytes, to_dense: bool,
               updates: list[tuple[int, int]], always: bool) -> int:
    """Redis's own write path on a string HLL's bytes, for the odd ones a region could not
    hold as an ``HllValue`` byte for byte (a corrupt sparse string, one written with SET whose
    opcodes or header are not as Redis writes them): the result is assigned as a string.
    Each register is written where Redis's walk finds it; the first it cannot place is
    INVALIDOBJ, with what was written before it kept, as in Redis."""
    head = bytearray(data[: H.HDR_SIZE])
    writer: H.SparseWriter | None = None
    regs = bytearray()
    if data[4] == H.DENSE:
        regs = H.dense_registers(data, H.HDR_SIZE)
    elif to_dense:  # PFMERGE with a dense source converts the destination first
        regs = H.sparse_registers(data)  # (validated by the caller's merge)
        head[4] = H.DENSE
    else:
        writer = H.SparseWriter(data[H.HDR_SIZE :])
    changed = 0
    for index, value in updates:
        if writer is not None:
            r = writer.update(index, value)
            if r >= 0:
                changed += r
                if r:
                    head[15] |= 0x80  # hllSparseSet invalidates the cache at each update
                continue
            if r == -1:  # promotion: Redis converts the whole string (and fails if corrupt)
                try:
                    regs = H.sparse_registers(bytes(H.HDR_SIZE) + bytes(writer.s))
                except H.Corrupt:
                    r = -2
            if r == -2:
                if changed:
                    c.ks.emit(Assign(c.db, key, bytes(head) + bytes(writer.s), KEEP_TTL))
                raise Error(errors.HLL_INVALID)
            writer = None
            head[4] = H.DENSE
        if regs[index] < value:
            regs[index] = value
            changed += 1
    if not changed and not always:
        return 0
    head[15] |= 0x80
    body = bytes(writer.s) if writer is not None else H.dense_bytes(regs)
    c.ks.emit(Assign(c.db, key, bytes(head) + body, KEEP_TTL))
    return 1 if changed else 0


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
    if src is not None and not isinstance(content, HllValue) and src.odd():
        _raw_write(c, key, src.data, use_dense, updates, True)
    else:
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
    text = sub.split(b"\0", 1)[0].decode(errors="replace")  # Redis prints it with %s
    raise Error("ERR Unknown PFDEBUG subcommand '%s'" % text.replace("\r", " ").replace("\n", " "))


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
