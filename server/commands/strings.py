"""String and counter commands (Redis's t_string.c and bitops.c, for the commands we serve).

Whole-value writes emit ``Assign`` (the register), increments emit ``Incr`` with the delta —
never the resulting value — so concurrent increments in other regions add up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crdt.effects import Delete, Expire
from crdt.numbers import (
    INT64_MAX,
    INT64_MIN,
    format_float,
    parse_int,
)
from crdt.types.strings import KEEP_TTL, STRING, Assign, Incr, StrValue
from server import errors
from server.commands.common import TYPE_COMMANDS, TypeCommands, int_arg, lookup, prepare_write
from server.commands.floats import float_increment
from server.commands.registry import command
from server.resp import OK, Error

if TYPE_CHECKING:
    from server.config import Config
    from server.connection import Client


def read_string(c: Client, key: bytes) -> StrValue | None:
    """``read(c, key, STRING)`` without the generic step: a string's content is its entry."""
    entry = lookup(c, key)
    if entry is None:
        return None
    if entry.kind != STRING:
        raise Error(errors.WRONGTYPE)
    return entry if entry.x is None or not entry.has_other_types() else entry.content()  # (an HLL)


def _recreate(db: int, key: bytes, sv: StrValue, at: int) -> list[Any]:
    return [Assign(db, key, sv.value(), at)]


def _encoding(sv: StrValue, cfg: Config | None = None) -> bytes:
    if sv.type_name != STRING:
        return b"raw"  # an HLL: Redis builds it as a raw string
    value = sv.value()
    if len(value) <= 20 and parse_int(value) is not None:
        return b"int"
    return b"embstr" if len(value) <= 44 else b"raw"


TYPE_COMMANDS[STRING] = TypeCommands(_recreate, _encoding)


# -- SET and friends ----------------------------------------------------------------------

_EXPIRE_UNITS = {b"ex": (1000, False), b"px": (1, False), b"exat": (1000, True), b"pxat": (1, True)}


def expire_at_ms(c: Client, arg: bytes, unit: int, absolute: bool, cmd: str) -> int:
    """Redis's getExpireMillisecondsOrReply: the absolute expire time in ms."""
    value = int_arg(arg)
    if value <= 0 or (unit == 1000 and value > INT64_MAX // 1000):
        raise Error(errors.INVALID_EXPIRE % cmd)
    ms = value * unit
    if not absolute:
        ms += c.ks.now_ms
        if ms > INT64_MAX:
            raise Error(errors.INVALID_EXPIRE % cmd)
    return ms


def set_generic(
    c: Client, key: bytes, value: bytes, expire_at: int, nx: bool = False, xx: bool = False,
    get: bool = False,
) -> Any:
    """Shared by SET, SETNX, SETEX, PSETEX, GETSET (Redis's setGenericCommand)."""
    old = prepare_write(c, key)
    if get and old is not None and not isinstance(old, StrValue):
        raise Error(errors.WRONGTYPE)
    old_value = old.value() if isinstance(old, StrValue) else None
    if (nx and old is not None) or (xx and old is None):
        return old_value if get else None
    c.ks.emit(Assign(c.db, key, value, expire_at))
    return old_value if get else OK


@command("set")
def cmd_set(c: Client, argv: list[bytes]) -> Any:
    if len(argv) == 3:  # SET key value (the common case): set_generic without its options
        key = argv[1]
        prepare_write(c, key)
        c.ks.emit(Assign(c.db, key, argv[2], 0))
        return OK
    nx = xx = get = keepttl = False
    expire: tuple[bytes, bytes] | None = None
    i = 3
    while i < len(argv):
        opt = argv[i].lower()
        has_next = i + 1 < len(argv)
        if opt == b"nx" and not xx:
            nx = True
        elif opt == b"xx" and not nx:
            xx = True
        elif opt == b"get":
            get = True
        elif opt == b"keepttl" and expire is None:
            keepttl = True
        elif opt in _EXPIRE_UNITS and not keepttl and (expire is None or expire[0] == opt) and has_next:
            # Redis accepts the same unit twice (the last value wins), not two units.
            expire = (opt, argv[i + 1])
            i += 1
        else:
            raise Error(errors.SYNTAX)
        i += 1
    expire_at = KEEP_TTL if keepttl else 0
    if expire is not None:
        unit, absolute = _EXPIRE_UNITS[expire[0]]
        expire_at = expire_at_ms(c, expire[1], unit, absolute, "set")
    return set_generic(c, argv[1], argv[2], expire_at, nx, xx, get)


@command("setnx")
def cmd_setnx(c: Client, argv: list[bytes]) -> Any:
    return 1 if set_generic(c, argv[1], argv[2], 0, nx=True) is OK else 0


@command("setex", "psetex")
def cmd_setex(c: Client, argv: list[bytes]) -> Any:
    name = argv[0].lower().decode()
    at = expire_at_ms(c, argv[2], 1000 if name == "setex" else 1, False, name)
    return set_generic(c, argv[1], argv[3], at)


@command("getset")
def cmd_getset(c: Client, argv: list[bytes]) -> Any:
    return set_generic(c, argv[1], argv[2], 0, get=True)


@command("mset")
def cmd_mset(c: Client, argv: list[bytes]) -> Any:
    if len(argv) % 2 == 0:
        raise Error(errors.wrong_arity("mset"))
    if len(argv) > 3:
        keys = argv[1::2]
        if len(set(keys)) < len(keys):
            # A key given more than once ends with its last value, as in Redis: only that
            # assignment is written (the earlier ones are dead writes: one effect per key).
            last = {argv[i]: argv[i + 1] for i in range(1, len(argv), 2)}
            for key, value in last.items():
                prepare_write(c, key)
                c.ks.emit(Assign(c.db, key, value, 0))
            return OK
    for i in range(1, len(argv), 2):
        prepare_write(c, argv[i])
        c.ks.emit(Assign(c.db, argv[i], argv[i + 1], 0))
    return OK


@command("msetnx")
def cmd_msetnx(c: Client, argv: list[bytes]) -> Any:
    if len(argv) % 2 == 0:
        raise Error(errors.wrong_arity("msetnx"))
    db = c.ks.dbs[c.db]
    if any(db.exists(argv[i], c.ks.now_ms) for i in range(1, len(argv), 2)):
        return 0
    cmd_mset(c, argv)
    return 1


# -- reads ------------------------------------------------------------------------------


@command("get")
def cmd_get(c: Client, argv: list[bytes]) -> Any:
    entry = lookup(c, argv[1])  # (``read_string``, inlined)
    if entry is None:
        return None
    if entry.kind != STRING:
        raise Error(errors.WRONGTYPE)
    if entry.x is None or not entry.has_other_types():
        return entry.value()
    return entry.content().value()  # (an HLL)


@command("mget")
def cmd_mget(c: Client, argv: list[bytes]) -> Any:
    out: list[bytes | None] = []
    for key in argv[1:]:
        entry = lookup(c, key)  # counts hits and misses, fires keymiss, as lookupKeyRead
        out.append(entry.content().value() if entry is not None and entry.kind == STRING else None)
    return out


@command("getdel")
def cmd_getdel(c: Client, argv: list[bytes]) -> Any:
    sv = read_string(c, argv[1])
    if sv is None:
        return None
    value = sv.value()
    c.ks.emit(Delete(c.db, argv[1]))
    return value


@command("getex")
def cmd_getex(c: Client, argv: list[bytes]) -> Any:
    expire: tuple[bytes, bytes] | None = None
    persist = False
    i = 2
    while i < len(argv):
        opt = argv[i].lower()
        if opt in _EXPIRE_UNITS and (expire is None or expire[0] == opt) and not persist and i + 1 < len(argv):
            expire = (opt, argv[i + 1])
            i += 1
        elif opt == b"persist" and expire is None:
            persist = True
        else:
            raise Error(errors.SYNTAX)
        i += 1
    # Redis 7.0 looks the key up before it validates the expire value: a missing key is
    # nil whatever the value (only the option syntax above is checked first).
    sv = read_string(c, argv[1])
    if sv is None:
        return None
    at: int | None = None
    if expire is not None:
        unit, absolute = _EXPIRE_UNITS[expire[0]]
        at = expire_at_ms(c, expire[1], unit, absolute, "getex")
    value = sv.value()
    if at is not None:
        if at <= c.ks.now_ms:
            c.ks.emit(Delete(c.db, argv[1]))
        else:
            c.ks.emit(Expire(c.db, argv[1], at))
    elif persist and (entry := c.ks.dbs[c.db].find(argv[1])) is not None and entry.expire_at():
        c.ks.emit(Expire(c.db, argv[1], 0))
    return value


@command("strlen")
def cmd_strlen(c: Client, argv: list[bytes]) -> Any:
    sv = read_string(c, argv[1])
    return 0 if sv is None else len(sv.value())


@command("getrange")
def cmd_getrange(c: Client, argv: list[bytes]) -> Any:
    start, end = int_arg(argv[2]), int_arg(argv[3])
    sv = read_string(c, argv[1])
    value = b"" if sv is None else sv.value()
    if start < 0 and end < 0 and start > end:
        return b""
    span = clamp_range(start, end, len(value))
    return b"" if span is None else value[span[0] : span[1] + 1]


# -- whole-value writes -----------------------------------------------------------------


def _check_size(c: Client, size: int) -> None:
    if size > c.server.config.proto_max_bulk_len:
        raise Error(errors.STRING_TOO_LONG)


@command("append")
def cmd_append(c: Client, argv: list[bytes]) -> Any:
    sv = prepare_write(c, argv[1], STRING)
    old = b"" if sv is None else sv.value()
    _check_size(c, len(old) + len(argv[2]))
    new = old + argv[2]
    c.ks.emit(Assign(c.db, argv[1], new, KEEP_TTL))
    return len(new)


@command("setrange")
def cmd_setrange(c: Client, argv: list[bytes]) -> Any:
    offset = int_arg(argv[2])
    if offset < 0:
        raise Error(errors.OFFSET_RANGE)
    sv = prepare_write(c, argv[1], STRING)
    value = argv[3]
    old = b"" if sv is None else sv.value()
    if not value:
        return len(old)
    _check_size(c, offset + len(value))
    if len(old) < offset:
        old += b"\0" * (offset - len(old))
    new = old[:offset] + value + old[offset + len(value) :]
    c.ks.emit(Assign(c.db, argv[1], new, KEEP_TTL))
    return len(new)


# -- counters ---------------------------------------------------------------------------


def incr_generic(c: Client, key: bytes, delta: int) -> int:
    sv = prepare_write(c, key, STRING)
    current = 0
    if sv is not None:
        # A counter's integer sum is read directly; anything else (a plain value, a decimal
        # sum that prints as an integer) is parsed from what GET returns, as Redis does.
        total = sv.number()[0] if sv.contribs else None
        if type(total) is not int:
            total = parse_int(sv.value())
            if total is None:
                raise Error(errors.NOT_INTEGER)
        if total < INT64_MIN or total > INT64_MAX:
            raise Error(errors.OVERFLOW)  # a merged sum past 64 bits (SEMANTICS)
        current = total
    new = current + delta
    if new < INT64_MIN or new > INT64_MAX:
        raise Error(errors.OVERFLOW)
    c.ks.emit(Incr(c.db, key, delta))
    return new


@command("incr")
def cmd_incr(c: Client, argv: list[bytes]) -> Any:
    return incr_generic(c, argv[1], 1)


@command("decr")
def cmd_decr(c: Client, argv: list[bytes]) -> Any:
    return incr_generic(c, argv[1], -1)


@command("incrby")
def cmd_incrby(c: Client, argv: list[bytes]) -> Any:
    return incr_generic(c, argv[1], int_arg(argv[2]))


@command("decrby")
def cmd_decrby(c: Client, argv: list[bytes]) -> Any:
    delta = int_arg(argv[2])
    if delta == INT64_MIN:
        raise Error(errors.DECREMENT_OVERFLOW)
    return incr_generic(c, argv[1], -delta)


@command("incrbyfloat")
def cmd_incrbyfloat(c: Client, argv: list[bytes]) -> Any:
    sv = prepare_write(c, argv[1], STRING)
    delta, new = float_increment(sv, argv[2], errors.NOT_FLOAT)
    c.ks.emit(Incr(c.db, argv[1], delta))
    return format_float(new)


# -- bits -------------------------------------------------------------------------------


def _bit_offset(c: Client, arg: bytes) -> int:
    offset = parse_int(arg)
    if offset is None or offset < 0 or (offset >> 3) >= c.server.config.proto_max_bulk_len:
        raise Error(errors.BIT_OFFSET)
    return offset


@command("setbit")
def cmd_setbit(c: Client, argv: list[bytes]) -> Any:
    offset = _bit_offset(c, argv[2])
    bit = parse_int(argv[3])
    if bit not in (0, 1):
        raise Error(errors.BIT_VALUE)
    sv = prepare_write(c, argv[1], STRING)
    data = bytearray(b"" if sv is None else sv.value())
    byte, shift = offset >> 3, 7 - (offset & 7)
    if len(data) <= byte:
        data += b"\0" * (byte + 1 - len(data))
    old = (data[byte] >> shift) & 1
    if bit:
        data[byte] |= 1 << shift
    else:
        data[byte] &= ~(1 << shift) & 0xFF
    if sv is None or bytes(data) != sv.value():
        c.ks.emit(Assign(c.db, argv[1], bytes(data), KEEP_TTL))
    return old


@command("getbit")
def cmd_getbit(c: Client, argv: list[bytes]) -> Any:
    offset = _bit_offset(c, argv[2])
    sv = read_string(c, argv[1])
    data = b"" if sv is None else sv.value()
    byte = offset >> 3
    if byte >= len(data):
        return 0
    return (data[byte] >> (7 - (offset & 7))) & 1


def clamp_range(start: int, end: int, n: int) -> tuple[int, int] | None:
    """Redis's index rule (GETRANGE, BITCOUNT, BITPOS): a negative index counts from the end,
    then both are clamped to ``0..n-1``; None when nothing is left."""
    if start < 0:
        start += n
    if end < 0:
        end += n
    start, end = max(start, 0), max(end, 0)
    if end >= n:
        end = n - 1
    if start > end:
        return None
    return start, end


def _range_bits(start: int, end: int, isbit: bool, n: int) -> tuple[int, int] | None:
    span = clamp_range(start, end, n * 8 if isbit else n)
    if span is None or isbit:
        return span
    return span[0] * 8, span[1] * 8 + 7


def _unit(arg: bytes) -> bool:
    unit = arg.lower()
    if unit == b"bit":
        return True
    if unit == b"byte":
        return False
    raise Error(errors.SYNTAX)


@command("bitcount")
def cmd_bitcount(c: Client, argv: list[bytes]) -> Any:
    # Redis 7.0 looks the key up first: a missing key is 0 even with bad arguments.
    sv = read_string(c, argv[1])
    if sv is None:
        return 0
    if len(argv) == 2:
        return int.from_bytes(sv.value(), "big").bit_count()
    if len(argv) not in (4, 5):
        raise Error(errors.SYNTAX)
    start, end = int_arg(argv[2]), int_arg(argv[3])
    isbit = _unit(argv[4]) if len(argv) == 5 else False
    data = sv.value()
    if start < 0 and end < 0 and start > end:
        return 0
    bits = _range_bits(start, end, isbit, len(data))
    if bits is None:
        return 0
    lo, hi = bits
    chunk = int.from_bytes(data[lo >> 3 : (hi >> 3) + 1], "big")
    chunk >>= 7 - (hi & 7)
    chunk &= (1 << (hi - lo + 1)) - 1
    return chunk.bit_count()


@command("bitpos")
def cmd_bitpos(c: Client, argv: list[bytes]) -> Any:
    bit = int_arg(argv[2])
    if bit not in (0, 1):
        raise Error(errors.BIT_ARGUMENT)
    sv = read_string(c, argv[1])
    if sv is None:
        return -1 if bit else 0
    data = sv.value()
    end_given = False
    if len(argv) in (4, 5, 6):
        start = int_arg(argv[3])
        isbit = _unit(argv[5]) if len(argv) == 6 else False
        if len(argv) >= 5:
            end = int_arg(argv[4])
            end_given = True
        else:
            end = len(data) * 8 - 1 if isbit else len(data) - 1
        bits = _range_bits(start, end, isbit, len(data))
    elif len(argv) == 3:
        bits = (0, len(data) * 8 - 1) if data else None
    else:
        raise Error(errors.SYNTAX)
    if bits is None:
        return -1
    lo, hi = bits
    width = hi - lo + 1
    chunk = int.from_bytes(data[lo >> 3 : (hi >> 3) + 1], "big") >> (7 - (hi & 7))
    chunk &= (1 << width) - 1
    if not bit:
        chunk ^= (1 << width) - 1
    if chunk:
        return lo + width - chunk.bit_length()
    if bit or end_given:
        return -1
    return hi + 1
