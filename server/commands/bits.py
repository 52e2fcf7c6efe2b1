"""Bit and string commands beyond strings.py: BITOP, BITFIELD, BITFIELD_RO (Redis's bitops.c),
LCS and SUBSTR (t_string.c).

Writes follow the string register rules (SEMANTICS.md): the origin computes the whole
resulting value and emits one ``Assign`` of it, as SETBIT and SETRANGE do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from crdt.effects import Delete
from crdt.numbers import parse_int
from crdt.types.strings import KEEP_TTL, Assign
from server import errors
from server.commands.common import int_arg, lookup, prepare_write
from server.commands.registry import command
from server.commands.strings import cmd_getrange, read_string
from server.resp import Error, Map

if TYPE_CHECKING:
    from server.connection import Client

BITFIELD_TYPE = ("ERR Invalid bitfield type. Use something like i16 u8. "
                 "Note that u64 is not supported but i64 is.")
_M64 = 1 << 64


def _value(c: Client, key: bytes) -> bytes | None:
    sv = read_string(c, key)
    return None if sv is None else sv.value()


# -- BITOP --------------------------------------------------------------------------------------


@command("bitop")
def cmd_bitop(c: Client, argv: list[bytes]) -> Any:
    op = argv[1].lower()
    if op not in (b"and", b"or", b"xor", b"not"):
        raise Error(errors.SYNTAX)
    if op == b"not" and len(argv) != 4:
        raise Error("ERR BITOP NOT must be called with a single source key.")
    values = [_value(c, key) for key in argv[3:]]
    maxlen = max(len(v or b"") for v in values)
    dest = argv[2]
    if not maxlen:
        if prepare_write(c, dest) is not None:
            c.ks.emit(Delete(c.db, dest))
        return 0
    ints = [int.from_bytes((v or b"").ljust(maxlen, b"\0"), "big") for v in values]
    result = ints[0]
    if op == b"not":
        result = ~result & ((1 << (8 * maxlen)) - 1)
    elif op == b"and":
        for x in ints[1:]:
            result &= x
    elif op == b"or":
        for x in ints[1:]:
            result |= x
    else:
        for x in ints[1:]:
            result ^= x
    prepare_write(c, dest)  # (an expired destination is removed first)
    c.ks.emit(Assign(c.db, dest, result.to_bytes(maxlen, "big"), 0))  # setKey: the TTL goes
    return maxlen


# -- BITFIELD ----------------------------------------------------------------------------------


class _Op(NamedTuple):
    opcode: str  # "get", "set", "incrby"
    signed: bool
    bits: int
    offset: int
    value: int
    overflow: str  # "wrap", "sat", "fail"


def _bitfield_type(arg: bytes) -> tuple[bool, int]:
    if not arg or arg[:1] not in (b"i", b"I", b"u", b"U"):
        raise Error(BITFIELD_TYPE)
    signed = arg[:1] in (b"i", b"I")
    bits = parse_int(arg[1:].split(b"\0", 1)[0])  # (Redis reads a C string)
    if bits is None or bits < 1 or bits > (64 if signed else 63):
        raise Error(BITFIELD_TYPE)
    return signed, bits


def _bitfield_offset(c: Client, arg: bytes, bits: int) -> int:
    hashed = arg[:1] == b"#"
    offset = parse_int(arg[1:] if hashed else arg)
    if offset is None:
        raise Error(errors.BIT_OFFSET)
    if hashed:
        offset = (offset * bits + (1 << 63)) % _M64 - (1 << 63)  # C's 64-bit multiply
    if offset < 0 or (offset >> 3) >= c.server.config.proto_max_bulk_len:
        raise Error(errors.BIT_OFFSET)
    return offset


def _parse_bitfield(c: Client, argv: list[bytes]) -> list[_Op]:
    ops: list[_Op] = []
    overflow = "wrap"
    j = 2
    while j < len(argv):
        rest = len(argv) - j - 1
        sub = argv[j].lower()
        if sub == b"get" and rest >= 2:
            opcode = "get"
        elif sub == b"set" and rest >= 3:
            opcode = "set"
        elif sub == b"incrby" and rest >= 3:
            opcode = "incrby"
        elif sub == b"overflow" and rest >= 1:
            kind = argv[j + 1].lower()
            if kind not in (b"wrap", b"sat", b"fail"):
                raise Error("ERR Invalid OVERFLOW type specified")
            overflow = kind.decode()
            j += 2
            continue
        else:
            raise Error(errors.SYNTAX)
        signed, bits = _bitfield_type(argv[j + 1])
        offset = _bitfield_offset(c, argv[j + 2], bits)
        value = 0
        if opcode != "get":
            value = int_arg(argv[j + 3])
        ops.append(_Op(opcode, signed, bits, offset, value, overflow))
        j += 3 if opcode == "get" else 4
    return ops


def _get_bits(data: bytearray | bytes, offset: int, bits: int) -> int:
    """The unsigned ``bits``-wide field at bit ``offset`` (MSB first; zeros past the end)."""
    first, last = offset >> 3, (offset + bits - 1) >> 3
    chunk = bytes(data[first : last + 1]).ljust(last - first + 1, b"\0")
    value = int.from_bytes(chunk, "big") >> (7 - ((offset + bits - 1) & 7))
    return value & ((1 << bits) - 1)


def _set_bits(data: bytearray, offset: int, bits: int, value: int) -> None:
    first, last = offset >> 3, (offset + bits - 1) >> 3
    width = (last - first + 1) * 8
    shift = width - (offset & 7) - bits
    mask = ((1 << bits) - 1) << shift
    chunk = int.from_bytes(data[first : last + 1], "big")
    chunk = (chunk & ~mask) | ((value & ((1 << bits) - 1)) << shift)
    data[first : last + 1] = chunk.to_bytes(last - first + 1, "big")


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) else value


def _apply(op: _Op, old: int) -> tuple[int | None, int | None]:
    """(reply, value to store) for a SET or INCRBY on ``old`` (None: FAIL overflow)."""
    bits = op.bits
    if op.signed:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        target = old + op.value if op.opcode == "incrby" else op.value
    else:
        lo, hi = 0, (1 << bits) - 1
        # Redis's SET stores the value as a uint64: a negative one is huge, so it overflows
        target = old + op.value if op.opcode == "incrby" else op.value % _M64
    if lo <= target <= hi:
        new = target
    elif op.overflow == "fail":
        return None, None
    elif op.overflow == "sat":
        new = hi if target > hi else lo
    else:
        new = target % (1 << bits)
        if op.signed:
            new = _signed(new, bits)
    return (new if op.opcode == "incrby" else old), new


def _bitfield(c: Client, argv: list[bytes], readonly_cmd: bool) -> Any:
    ops = _parse_bitfield(c, argv)
    key = argv[1]
    writes = [op for op in ops if op.opcode != "get"]
    if not writes:
        value = _value(c, key)
        data: bytes | bytearray = value or b""
        old_value = value
    else:
        if readonly_cmd:
            raise Error("ERR BITFIELD_RO only supports the GET subcommand")
        sv = prepare_write(c, key, "string")
        old_value = None if sv is None else sv.value()
        highest = max(op.offset + op.bits - 1 for op in writes)
        data = bytearray(old_value or b"")
        if len(data) < (highest >> 3) + 1:
            data += b"\0" * ((highest >> 3) + 1 - len(data))
    out: list[int | None] = []
    for op in ops:
        raw = _get_bits(data, op.offset, op.bits)
        old = _signed(raw, op.bits) if op.signed else raw
        if op.opcode == "get":
            out.append(old)
            continue
        reply, new = _apply(op, old)
        out.append(reply)
        if new is not None:
            assert isinstance(data, bytearray)
            _set_bits(data, op.offset, op.bits, new)
    if writes and (old_value is None or bytes(data) != old_value):
        c.ks.emit(Assign(c.db, key, bytes(data), KEEP_TTL))
    return out


@command("bitfield")
def cmd_bitfield(c: Client, argv: list[bytes]) -> Any:
    return _bitfield(c, argv, False)


@command("bitfield_ro")
def cmd_bitfield_ro(c: Client, argv: list[bytes]) -> Any:
    return _bitfield(c, argv, True)


# -- LCS and SUBSTR ----------------------------------------------------------------------------


@command("substr")
def cmd_substr(c: Client, argv: list[bytes]) -> Any:
    return cmd_getrange(c, argv)  # Redis serves SUBSTR with GETRANGE's code


def _lcs_value(c: Client, key: bytes) -> bytes | None:
    entry = lookup(c, key)
    if entry is None:
        return b""
    if entry.kind != "string":
        return None
    value: bytes = entry.content().value()
    return value


@command("lcs")
def cmd_lcs(c: Client, argv: list[bytes]) -> Any:
    a, b = _lcs_value(c, argv[1]), _lcs_value(c, argv[2])
    if a is None or b is None:
        raise Error("ERR The specified keys must contain string values")
    getlen = getidx = withmatchlen = False
    minmatchlen = 0
    j = 3
    while j < len(argv):
        opt = argv[j].lower()
        if opt == b"idx":
            getidx = True
        elif opt == b"len":
            getlen = True
        elif opt == b"withmatchlen":
            withmatchlen = True
        elif opt == b"minmatchlen" and j + 1 < len(argv):
            minmatchlen = max(int_arg(argv[j + 1]), 0)
            j += 1
        else:
            raise Error(errors.SYNTAX)
        j += 1
    if getidx and getlen:
        raise Error("ERR If you want both the length and indexes, please just use IDX.")
    alen, blen = len(a), len(b)
    if (alen + 1) * (blen + 1) * 4 > c.server.config.proto_max_bulk_len:
        raise Error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
    table = _LcsTable(a, b)
    total = table.at(alen, blen)
    if getlen:
        return total
    result = bytearray(total)
    idx = total
    matches: list[Any] = []
    a_start = alen  # alen: no range open
    a_end = b_start = b_end = 0
    i, jb = alen, blen
    while i > 0 and jb > 0:
        emit = False
        if a[i - 1] == b[jb - 1]:
            result[idx - 1] = a[i - 1]
            if a_start == alen:
                a_start = a_end = i - 1
                b_start = b_end = jb - 1
            elif a_start == i and b_start == jb:
                a_start -= 1
                b_start -= 1
            else:
                emit = True
            if a_start == 0 or b_start == 0:
                emit = True
            idx -= 1
            i -= 1
            jb -= 1
        else:
            if table.at(i - 1, jb) > table.at(i, jb - 1):
                i -= 1
            else:
                jb -= 1
            if a_start != alen:
                emit = True
        if emit:
            match_len = a_end - a_start + 1
            if getidx and (minmatchlen == 0 or match_len >= minmatchlen):
                entry: list[Any] = [[a_start, a_end], [b_start, b_end]]
                if withmatchlen:
                    entry.append(match_len)
                matches.append(entry)
            a_start = alen
    if getidx:
        return Map([(b"matches", matches), (b"len", total)])
    return bytes(result)


class _LcsTable:
    """LCS(a[:i], b[:j]) for every i, j, in one bit per cell (the bit-parallel LCS of Allison
    and Dix / Hyyro): a row is a bit vector over the shorter string, with a zero bit where the
    LCS grows by one along it, computed in a few big-integer operations from the one before."""

    def __init__(self, a: bytes, b: bytes) -> None:
        self.flip = len(a) < len(b)  # vectors over a, rows along b
        vec, along = (a, b) if self.flip else (b, a)
        full = (1 << len(vec)) - 1
        masks: dict[int, int] = {}
        for j, ch in enumerate(vec):
            masks[ch] = masks.get(ch, 0) | (1 << j)
        v = full
        rows = [v]
        for ch in along:
            u = v & masks.get(ch, 0)
            v = ((v + u) | (v - u)) & full
            rows.append(v)
        self.rows = rows

    def at(self, i: int, j: int) -> int:
        if self.flip:
            i, j = j, i
        return j - (self.rows[i] & ((1 << j) - 1)).bit_count()
