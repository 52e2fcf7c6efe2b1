"""Redis's HyperLogLog, byte for byte (the algorithms of Redis 7.0's ``hyperloglog.c``).

Pure functions over a register array (``bytearray`` of 16384 values, one per register):

* ``pat_len``: an element's register index and run length (MurmurHash64A, seed 0xadc83b19);
* ``parse``: Redis's string (``HYLL`` header, dense or sparse encoding) -> registers, encoding
  and cached cardinality, or ``Corrupt`` / ``NotHll`` (the two errors Redis tells apart);
* ``render``: registers, encoding and cache -> the string Redis stores. A sparse string is
  rendered canonically (maximal runs, as Redis writes registers set in index order), so
  regions that hold the same registers hold the same bytes;
* ``SparseWriter``: Redis's ``hllSparseSet`` on a sparse string, to decide exactly when a write
  promotes the sparse encoding to dense (over ``SPARSE_MAX_BYTES``, or a value above 32);
* ``count``: Redis 7's cardinality estimator (Ertl's improved estimator, ``hllCount``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import NamedTuple

P = 14
REGISTERS = 1 << P  # 16384
P_MASK = REGISTERS - 1
Q = 64 - P  # 50
BITS = 6
REGISTER_MAX = (1 << BITS) - 1
HDR_SIZE = 16
DENSE_SIZE = HDR_SIZE + (REGISTERS * BITS + 7) // 8  # 12304
DENSE, SPARSE = 0, 1
MAGIC = b"HYLL"
SPARSE_MAX_BYTES = 3000  # hll-sparse-max-bytes, Redis's default
SPARSE_VAL_MAX_VALUE = 32
SPARSE_VAL_MAX_LEN = 4
SPARSE_ZERO_MAX_LEN = 64
SPARSE_XZERO_MAX_LEN = 16384
ALPHA_INF = 0.721347520444481703680  # 1 / (2 ln 2)
SEED = 0xADC83B19
_M64 = (1 << 64) - 1
_MUR_M = 0xC6A4A7935BD1E995
_MUR_R = 47
INVALID_BIT = 1 << 63  # the cached cardinality's MSB: set = the cache is stale


def murmurhash64a(data: bytes, seed: int = SEED) -> int:
    """MurmurHash64A as Redis has it (endian neutral: 8-byte blocks read little endian)."""
    n = len(data)
    h = (seed ^ (n * _MUR_M)) & _M64
    end = n - (n & 7)
    for i in range(0, end, 8):
        k = int.from_bytes(data[i : i + 8], "little")
        k = (k * _MUR_M) & _M64
        k ^= k >> _MUR_R
        k = (k * _MUR_M) & _M64
        h ^= k
        h = (h * _MUR_M) & _M64
    rest = n & 7
    if rest:
        h ^= int.from_bytes(data[end:], "little")
        h = (h * _MUR_M) & _M64
    h ^= h >> _MUR_R
    h = (h * _MUR_M) & _M64
    h ^= h >> _MUR_R
    return h


def pat_len(element: bytes) -> tuple[int, int]:
    """(register index, count): Redis's hllPatLen. ``count`` is 1 + the number of trailing
    zero bits of the hash after the index bits, at most Q + 1."""
    h = murmurhash64a(element)
    index = h & P_MASK
    h = (h >> P) | (1 << Q)
    return index, (h & -h).bit_length()


# -- parsing Redis's string ----------------------------------------------------------------


class NotHll(Exception):
    """Not an HLL string: Redis's ``WRONGTYPE Key is not a valid HyperLogLog string value.``"""


class Corrupt(Exception):
    """A sparse HLL whose opcodes do not cover exactly 16384 registers: ``INVALIDOBJ``."""


class Parsed(NamedTuple):
    regs: bytearray
    encoding: int  # DENSE or SPARSE
    card: int  # the cached cardinality's 64 bits, the validity bit included


def check_header(data: bytes) -> int:
    """Redis's isHLLObjectOrReply: the encoding, or NotHll."""
    if len(data) < HDR_SIZE or data[:4] != MAGIC or data[4] > SPARSE:
        raise NotHll
    if data[4] == DENSE and len(data) != DENSE_SIZE:
        raise NotHll
    return data[4]


def parse(data: bytes) -> Parsed:
    encoding = check_header(data)
    card = int.from_bytes(data[8:16], "little")
    if encoding == DENSE:
        return Parsed(dense_registers(data, HDR_SIZE), DENSE, card)
    return Parsed(sparse_registers(data), SPARSE, card)


def _table(fn: Callable[[int], int]) -> bytes:
    return bytes(fn(x) & 0xFF for x in range(256))


# The dense layout packs 4 registers into 3 bytes, LSB first (see hyperloglog.c):
#   b0 = r0 | r1 << 6,  b1 = r1 >> 2 | r2 << 4,  b2 = r2 >> 4 | r3 << 2
# Each byte of the strided slices is a disjoint OR of two table lookups, so whole slices
# combine as big integers (C speed, no per-register Python loop).
_R0_LO, _R1_LO, _R1_HI = _table(lambda x: x), _table(lambda x: x << 6), _table(lambda x: x >> 2)
_R2_LO, _R2_HI, _R3 = _table(lambda x: x << 4), _table(lambda x: x >> 4), _table(lambda x: x << 2)
_B0_R0, _B0_R1, _B1_R1 = _table(lambda x: x & 63), _table(lambda x: x >> 6), _table(lambda x: (x & 15) << 2)
_B1_R2, _B2_R2, _B2_R3 = _table(lambda x: x >> 4), _table(lambda x: (x & 3) << 4), _table(lambda x: x >> 2)
_N = REGISTERS // 4


def _or(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "little") | int.from_bytes(b, "little")).to_bytes(len(a), "little")


def dense_registers(data: bytes, start: int) -> bytearray:
    body = bytes(data[start : start + REGISTERS * BITS // 8])
    b0, b1, b2 = body[0::3], body[1::3], body[2::3]
    regs = bytearray(REGISTERS)
    regs[0::4] = b0.translate(_B0_R0)
    regs[1::4] = _or(b0.translate(_B0_R1), b1.translate(_B1_R1))
    regs[2::4] = _or(b1.translate(_B1_R2), b2.translate(_B2_R2))
    regs[3::4] = b2.translate(_B2_R3)
    return regs


_HIGH = int.from_bytes(b"\x80" * REGISTERS, "little")


def reg_max(a: bytes | bytearray, b: bytes | bytearray) -> bytes:
    """Register-wise maximum of two register arrays (values < 128), with big-integer SWAR:
    per byte, (b | 0x80) - a keeps its high bit exactly when b >= a."""
    x, y = int.from_bytes(a, "little"), int.from_bytes(b, "little")
    ge = (((y | _HIGH) - x) & _HIGH) >> 7  # 1 in each byte where b >= a
    mask = (ge << 8) - ge  # 0xFF there
    return ((y & mask) | (x & ~mask)).to_bytes(REGISTERS, "little")


_VAL_RUN = {op: bytes([((op >> 2) & 0x1F) + 1]) * ((op & 3) + 1) for op in range(0x80, 0x100)}


def sparse_registers(data: bytes) -> bytearray:
    """Redis's hllSparseToDense / hllMerge walk: Corrupt unless exactly 16384 registers."""
    regs = bytearray(REGISTERS)
    idx = 0
    p, end = HDR_SIZE, len(data)
    val_run = _VAL_RUN
    while p < end:
        op = data[p]
        if op & 0x80:  # VAL
            run = val_run[op]
            n = len(run)
            if idx + n > REGISTERS:
                raise Corrupt
            regs[idx : idx + n] = run
            idx += n
            p += 1
        elif op & 0x40:  # XZERO (Redis reads the sds terminator, 0, past the end)
            idx += ((op & 0x3F) << 8 | (data[p + 1] if p + 1 < end else 0)) + 1
            p += 2
        else:  # ZERO
            idx += op + 1
            p += 1
    if idx != REGISTERS:
        raise Corrupt
    return regs


# -- rendering --------------------------------------------------------------------------------


def header(encoding: int, card: int) -> bytes:
    return MAGIC + bytes([encoding, 0, 0, 0]) + card.to_bytes(8, "little")


def dense_bytes(regs: bytes | bytearray) -> bytes:
    regs = bytes(regs)
    r0, r1, r2, r3 = regs[0::4], regs[1::4], regs[2::4], regs[3::4]
    out = bytearray(REGISTERS * BITS // 8)
    out[0::3] = _or(r0.translate(_R0_LO), r1.translate(_R1_LO))
    out[1::3] = _or(r1.translate(_R1_HI), r2.translate(_R2_LO))
    out[2::3] = _or(r2.translate(_R2_HI), r3.translate(_R3))
    return bytes(out)


def _zeros(n: int, out: bytearray) -> None:
    while n:
        if n <= SPARSE_ZERO_MAX_LEN:
            out.append(n - 1)
            return
        run = min(n, SPARSE_XZERO_MAX_LEN)
        out += bytes([0x40 | (run - 1) >> 8, (run - 1) & 0xFF])
        n -= run


_NONZERO_RUN = re.compile(rb"[^\x00]+")


def sparse_bytes(regs: bytes | bytearray) -> bytes | None:
    """The canonical sparse opcodes of ``regs``, or None when a value does not fit (> 32)."""
    out = bytearray()
    pos = 0
    for m in _NONZERO_RUN.finditer(regs):
        start, end = m.span()
        if start > pos:
            _zeros(start - pos, out)
        n = end - start
        if n == 1:  # the common case in a sparse HLL: a lone non-zero register
            v = regs[start]
            if v > SPARSE_VAL_MAX_VALUE:
                return None
            out.append(0x80 | (v - 1) << 2)
            pos = end
            continue
        run = regs[start:end]
        if max(run) > SPARSE_VAL_MAX_VALUE:
            return None
        i = 0
        while i < n:
            v = run[i]
            j = i + 1
            while j < n and j - i < SPARSE_VAL_MAX_LEN and run[j] == v:
                j += 1
            out.append(0x80 | (v - 1) << 2 | (j - i - 1))
            i = j
        pos = end
    if pos < REGISTERS:
        _zeros(REGISTERS - pos, out)
    return bytes(out)


def render(regs: bytes | bytearray, dense: bool, card: int) -> bytes:
    """Redis's string for these registers: sparse unless ``dense`` (or sparse cannot hold
    them); ``card`` is the 8 cache bytes as a little-endian integer."""
    if not dense:
        body = sparse_bytes(regs)
        if body is not None and HDR_SIZE + len(body) <= SPARSE_MAX_BYTES:
            return header(SPARSE, card) + body
    return header(DENSE, card) + dense_bytes(regs)


def needs_dense(regs: bytes | bytearray) -> bool:
    """True when the sparse encoding cannot hold ``regs`` within SPARSE_MAX_BYTES."""
    body = sparse_bytes(regs)
    return body is None or HDR_SIZE + len(body) > SPARSE_MAX_BYTES


# -- Redis's sparse write path (for when it promotes) -----------------------------------------


class SparseWriter:
    """Redis's hllSparseSet on a sparse opcode string, to tell when the encoding turns dense.

    ``set`` returns False once the string would be promoted (the caller goes dense from then
    on); the registers themselves are tracked by the caller."""

    def __init__(self, body: bytes) -> None:
        self.s = bytearray(body)

    def set(self, index: int, count: int) -> bool:
        return self.update(index, count) >= 0

    def update(self, index: int, count: int) -> int:
        """1: the register was raised, 0: it was not lower, -1: promote to dense, -2: the
        opcodes are corrupt where Redis looks (Redis's -1)."""
        if count > SPARSE_VAL_MAX_VALUE:
            return -1
        s = self.s
        end = len(s)
        p = 0
        first = 0
        prev = -1
        span = 0
        while p < end:
            op = s[p]
            oplen = 1
            if op & 0xC0 == 0:
                span = (op & 0x3F) + 1
            elif op & 0x80:
                span = (op & 3) + 1
            else:
                span = (((op & 0x3F) << 8) | (s[p + 1] if p + 1 < end else 0)) + 1  # (sds's terminator)
                oplen = 2
            if index <= first + span - 1:
                break
            prev = p
            p += oplen
            first += span
        if span == 0 or p >= end:
            return -2
        op = s[p]
        is_val = bool(op & 0x80)
        is_xzero = not is_val and op & 0xC0 == 0x40
        if is_val:
            if ((op >> 2) & 0x1F) + 1 >= count:
                return 0
            if span == 1:
                s[p] = 0x80 | (count - 1) << 2
                self._merge(prev)
                return 1
        elif not is_xzero and span == 1:
            s[p] = 0x80 | (count - 1) << 2
            self._merge(prev)
            return 1
        last = first + span - 1
        seq = bytearray()
        if not is_val:
            if index != first:
                _zeros_split(index - first, seq)
            seq.append(0x80 | (count - 1) << 2)
            if index != last:
                _zeros_split(last - index, seq)
        else:
            cur = ((op >> 2) & 0x1F) + 1
            if index != first:
                seq.append(0x80 | (cur - 1) << 2 | (index - first - 1))
            seq.append(0x80 | (count - 1) << 2)
            if index != last:
                seq.append(0x80 | (cur - 1) << 2 | (last - index - 1))
        oldlen = 2 if is_xzero else 1
        delta = len(seq) - oldlen
        if delta > 0 and HDR_SIZE + len(s) + delta > SPARSE_MAX_BYTES:
            return -1
        s[p : p + oldlen] = seq
        self._merge(prev)
        return 1

    def _merge(self, prev: int) -> None:
        """Step 4 of hllSparseSet: merge adjacent VAL opcodes, scanning 5 opcodes from prev."""
        s = self.s
        p = prev if prev >= 0 else 0
        scan = 5
        while p < len(s) and scan > 0:
            scan -= 1
            op = s[p]
            if op & 0xC0 == 0x40:
                p += 2
                continue
            if op & 0xC0 == 0:
                p += 1
                continue
            if p + 1 < len(s) and s[p + 1] & 0x80:
                nxt = s[p + 1]
                v1, v2 = (op >> 2) & 0x1F, (nxt >> 2) & 0x1F
                if v1 == v2:
                    length = (op & 3) + (nxt & 3) + 2
                    if length <= SPARSE_VAL_MAX_LEN:
                        s[p : p + 2] = bytes([0x80 | v1 << 2 | (length - 1)])
                        continue
            p += 1


def _zeros_split(n: int, out: bytearray) -> None:
    if n > SPARSE_ZERO_MAX_LEN:
        out += bytes([0x40 | (n - 1) >> 8, (n - 1) & 0xFF])
    else:
        out.append(n - 1)


# -- cardinality --------------------------------------------------------------------------------


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        z_prime = z
        z += x * y
        y += y
        if z_prime == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1 - x
    while True:
        x = math.sqrt(x)
        z_prime = z
        y *= 0.5
        z -= math.pow(1 - x, 2) * y
        if z_prime == z:
            return z / 3


def count(regs: bytes | bytearray) -> int:
    """Redis 7's hllCount over a register array."""
    m = float(REGISTERS)
    histo = [regs.count(v) for v in range(64)]
    z = m * _tau((m - histo[Q + 1]) / m)
    for j in range(Q, 0, -1):
        z += histo[j]
        z *= 0.5
    z += m * _sigma(histo[0] / m)
    e = ALPHA_INF * m * m / z
    if math.isinf(e):
        return 0 if e < 0 else _M64  # (never reached with 16384 registers)
    f = math.floor(e)
    return int(f + 1 if e - f >= 0.5 else f)  # llroundl: half away from zero


def decode_sparse(data: bytes) -> str:
    """PFDEBUG DECODE's text."""
    parts = []
    p, end = HDR_SIZE, len(data)
    while p < end:
        op = data[p]
        if op & 0xC0 == 0:
            parts.append(f"z:{(op & 0x3F) + 1}")
            p += 1
        elif op & 0xC0 == 0x40:
            low = data[p + 1] if p + 1 < end else 0
            parts.append(f"Z:{(((op & 0x3F) << 8) | low) + 1}")
            p += 2
        else:
            parts.append(f"v:{((op >> 2) & 0x1F) + 1},{(op & 3) + 1}")
            p += 1
    return " ".join(parts)


def write(regs: bytearray, dense: bool, updates: list[tuple[int, int]],
          sparse: bytes | None = None) -> tuple[list[tuple[int, int]], bool]:
    """Apply register updates (index, count) as Redis's PFADD/PFMERGE would, in order, to
    ``regs`` (changed in place): returns the updates that raised a register and whether the
    encoding is dense afterwards (a sparse string promotes when Redis's would). ``sparse``:
    the canonical opcodes of ``regs`` before, if the caller has them."""
    if not dense and sparse is None:
        sparse = sparse_bytes(regs) or b""
    changed: list[tuple[int, int]] = []
    for index, value in updates:
        if regs[index] < value:
            regs[index] = value
            changed.append((index, value))
    if dense or not changed:
        return changed, dense
    if len(changed) > 64 and needs_dense(regs):
        # Redis's sparse string is never shorter than the canonical one: it promoted on the way
        return changed, True
    writer = SparseWriter(sparse or b"")
    for index, value in changed:
        if not writer.set(index, value):
            return changed, True
    return changed, False
