"""Hash commands (Redis's t_hash.c), on the observed-remove map (SEMANTICS.md, "Hashes").

HSET/HSETNX/HMSET assign fields (``HashSet``); HINCRBY/HINCRBYFLOAT add a contribution to a
field's counter (``HashIncr`` with the delta, never the result), so concurrent increments add
up; HDEL emits ``HashDelete``, or ``Delete`` when it removes every field, since Redis then
deletes the key (its TTL included).
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from crdt.effects import Delete, Expire
from crdt.numbers import INT64_MAX, INT64_MIN, format_float, parse_int
from crdt.types.ormap import HASH, HashDelete, HashIncr, HashSet, ORMap
from server import errors
from server.commands.common import TYPE_COMMANDS, TypeCommands, int_arg, prepare_write, read
from server.commands.floats import add_long_double, ld_arg
from server.commands.registry import command
from server.commands.scan import parse_cursor, scan_collection
from server.commands.sets import random_count, random_pick
from server.resp import OK, Error, Map
from server.streamed import random_repeats

if TYPE_CHECKING:
    from server.config import Config
    from server.connection import Client



def read_hash(c: Client, key: bytes) -> ORMap | None:
    omap: ORMap | None = read(c, key, HASH)
    return omap


def _recreate(db: int, key: bytes, omap: ORMap, at: int) -> list[Any]:
    return [HashSet(db, key, tuple(omap.items())), *([Expire(db, key, at)] if at else [])]


def _encoding(omap: ORMap, cfg: Config | None = None) -> bytes:
    """listpack while within hash-max-listpack-entries/-value, else hashtable."""
    entries, value = (cfg.hash_max_listpack_entries, cfg.hash_max_listpack_value) if cfg else (512, 64)
    if len(omap) <= entries and all(len(f) <= value and len(v) <= value for f, v in omap.items()):
        return b"listpack"
    return b"hashtable"


TYPE_COMMANDS[HASH] = TypeCommands(_recreate, _encoding)

def _write_hash(c: Client, key: bytes) -> ORMap | None:
    omap: ORMap | None = prepare_write(c, key, HASH)
    return omap


# -- writes ---------------------------------------------------------------------------------


@command("hset", "hmset")
def cmd_hset(c: Client, argv: list[bytes]) -> Any:
    if len(argv) % 2 == 1:
        raise Error(errors.wrong_arity(argv[0].lower().decode("utf-8", "replace")))
    key = argv[1]
    omap = _write_hash(c, key)
    # One value per field (the last one given, as Redis ends up with): two assignments of
    # one field in one effect would share a tag.
    if len(argv) == 4:  # one field (the common case)
        field = argv[2]
        added = 1 if omap is None or field not in omap.fields else 0
        items: tuple[tuple[bytes, bytes], ...] = ((field, argv[3]),)
    else:
        pairs = dict(zip(argv[2::2], argv[3::2], strict=True))
        added = len(pairs) if omap is None else sum(1 for f in pairs if f not in omap.fields)
        items = tuple(pairs.items())
    c.ks.emit(HashSet(c.db, key, items))
    return added if argv[0].lower() == b"hset" else OK


@command("hsetnx")
def cmd_hsetnx(c: Client, argv: list[bytes]) -> Any:
    key, field = argv[1], argv[2]
    omap = _write_hash(c, key)
    if omap is not None and field in omap.fields:
        return 0
    c.ks.emit(HashSet(c.db, key, ((field, argv[3]),)))
    return 1


@command("hdel")
def cmd_hdel(c: Client, argv: list[bytes]) -> Any:
    key = argv[1]
    omap = _write_hash(c, key)
    if omap is None:
        return 0
    present = [f for f in dict.fromkeys(argv[2:]) if f in omap.fields]
    if not present:
        return 0
    if len(present) >= len(omap):
        c.ks.emit(Delete(c.db, key))
    else:
        c.ks.emit(HashDelete(c.db, key, tuple(present)))
    return len(present)


@command("hincrby")
def cmd_hincrby(c: Client, argv: list[bytes]) -> Any:
    key, field = argv[1], argv[2]
    delta = int_arg(argv[3])
    omap = _write_hash(c, key)
    sv = None if omap is None else omap.fields.get(field)
    current = 0
    if sv is not None:
        # Only a counter's integer sum can be past 64 bits (SEMANTICS: overflow); any other
        # value that is not a 64-bit integer (an assigned "99999999999999999999", a float
        # sum) is Redis's "hash value is not an integer".
        total = sv.number()[0] if sv.contribs else None
        if type(total) is not int:
            total = parse_int(sv.value())
            if total is None:
                raise Error(errors.HASH_NOT_INTEGER)
        if total < INT64_MIN or total > INT64_MAX:
            raise Error(errors.OVERFLOW)
        current = total
    new = current + delta
    if new < INT64_MIN or new > INT64_MAX:
        raise Error(errors.OVERFLOW)
    c.ks.emit(HashIncr(c.db, key, field, delta))
    return new


@command("hincrbyfloat")
def cmd_hincrbyfloat(c: Client, argv: list[bytes]) -> Any:
    key, field = argv[1], argv[2]
    delta = ld_arg(argv[3])
    if delta is None:
        raise Error(errors.NOT_FLOAT)
    if not delta.is_finite():
        raise Error(errors.VALUE_NAN_OR_INF)
    omap = _write_hash(c, key)
    sv = None if omap is None else omap.fields.get(field)
    current = Decimal(0) if sv is None else ld_arg(sv.value())
    if current is None:
        raise Error(errors.HASH_NOT_FLOAT)
    if not current.is_finite():
        raise Error(errors.NAN_OR_INF)
    ship, new = add_long_double(sv, current, delta)
    c.ks.emit(HashIncr(c.db, key, field, ship))
    return format_float(new)


# -- reads ----------------------------------------------------------------------------------


@command("hget")
def cmd_hget(c: Client, argv: list[bytes]) -> Any:
    omap = read_hash(c, argv[1])
    return None if omap is None else omap.get(argv[2])


@command("hmget")
def cmd_hmget(c: Client, argv: list[bytes]) -> Any:
    omap = read_hash(c, argv[1])
    return [None if omap is None else omap.get(f) for f in argv[2:]]


@command("hgetall")
def cmd_hgetall(c: Client, argv: list[bytes]) -> Any:
    omap = read_hash(c, argv[1])
    return Map(() if omap is None else omap.items())


@command("hkeys")
def cmd_hkeys(c: Client, argv: list[bytes]) -> Any:
    omap = read_hash(c, argv[1])
    return [] if omap is None else list(omap)


@command("hvals")
def cmd_hvals(c: Client, argv: list[bytes]) -> Any:
    omap = read_hash(c, argv[1])
    return [] if omap is None else [v for _, v in omap.items()]


@command("hexists")
def cmd_hexists(c: Client, argv: list[bytes]) -> Any:
    omap = read_hash(c, argv[1])
    return int(omap is not None and omap.get(argv[2]) is not None)


@command("hlen")
def cmd_hlen(c: Client, argv: list[bytes]) -> Any:
    omap = read_hash(c, argv[1])
    return 0 if omap is None else len(omap)


@command("hstrlen")
def cmd_hstrlen(c: Client, argv: list[bytes]) -> Any:
    omap = read_hash(c, argv[1])
    value = None if omap is None else omap.get(argv[2])
    return 0 if value is None else len(value)


@command("hrandfield")
def cmd_hrandfield(c: Client, argv: list[bytes]) -> Any:
    if len(argv) == 2:
        omap = read_hash(c, argv[1])
        return None if omap is None else random.choice(list(omap))
    count = random_count(argv[2])
    withvalues = False
    if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withvalues"):
        raise Error(errors.SYNTAX)
    if len(argv) == 4:
        withvalues = True
        if count < -(INT64_MAX // 2) or count > INT64_MAX // 2:
            raise Error(errors.OUT_OF_RANGE)
    omap = read_hash(c, argv[1])
    if omap is None or count == 0:
        return []
    if count < 0:
        return random_repeats(c, list(omap), -count, (lambda f: [f, omap.get(f)]) if withvalues else None)
    chosen = random_pick(list(omap), count)
    if not withvalues:
        return chosen
    pairs = [[f, omap.get(f)] for f in chosen]
    if c.resp3:
        return pairs
    return [x for pair in pairs for x in pair]


@command("hscan")
def cmd_hscan(c: Client, argv: list[bytes]) -> Any:
    parse_cursor(argv[2])  # an invalid cursor is an error even for a missing key
    omap = read_hash(c, argv[1])
    if omap is None:
        return [b"0", []]
    next_cursor, fields = scan_collection(argv, omap.fields, _encoding(omap) == b"listpack")
    out: list[bytes | None] = []
    for f in fields:
        out += (f, omap.get(f))
    return [next_cursor, out]
