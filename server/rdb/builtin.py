"""DUMP/RESTORE codecs of the built-in types, in the encodings Redis 7.0 gives them.

* string: rdbSaveStringObject (integer, LZF or raw, see ``rdbio.save_string``);
* list: always a quicklist of listpacks (RDB_TYPE_LIST_QUICKLIST_2), split into nodes as
  RPUSH fills them (list-max-listpack-size -2: a node takes an element while its size plus
  the element plus 8 stays within 8 KB), so a list built by RPUSH dumps byte for byte as
  Redis's; a list Redis built by pushes at both ends may be split differently;
* set: an intset (RDB_TYPE_SET_INTSET) or a table of members (RDB_TYPE_SET);
* hash: a listpack of field, value (RDB_TYPE_HASH_LISTPACK) or a table (RDB_TYPE_HASH);
* zset: a listpack of member, score by score (RDB_TYPE_ZSET_LISTPACK, scores as d2string
  writes them) or RDB_TYPE_ZSET_2 (members from the highest score down, binary doubles).

The encoding is the one OBJECT ENCODING reports. A table's order is Redis's hash order there,
ours here: such dumps hold the same value in another order. Loading accepts every encoding a
Redis up to 7.0 writes, older ones included (ziplists, zipmaps, linked lists, text scores).
"""

from __future__ import annotations

import math
from typing import Any

from crdt.effects import Expire
from crdt.numbers import parse_int
from crdt.types.ormap import HASH, HashSet, ORMap
from crdt.types.orset import SET, ORSet, SetAdd
from crdt.types.sequence import LIST, ListPush, Sequence
from crdt.types.strings import STRING, Assign, StrValue
from crdt.types.zset import ZSET, ZAssign, ZSet
from server.commands.common import TYPE_COMMANDS
from server.commands.zsets import d2string, strtod
from server.rdb import intset, listpack, ziplist
from server.rdb import objects as o
from server.rdb.listpack import FormatError
from server.rdb.rdbio import Reader, save_binary_double, save_len, save_string

QUICKLIST_NODE_PLAIN, QUICKLIST_NODE_PACKED = 1, 2
_NODE_LIMIT = 8192  # list-max-listpack-size -2
_SIZE_ESTIMATE_OVERHEAD = 8


def _expire(db: int, key: bytes, at: int) -> list[Any]:
    return [Expire(db, key, at)] if at else []


# -- strings --------------------------------------------------------------------------------


def _dump_string(sv: StrValue) -> bytes:
    return bytes([o.TYPE_STRING]) + save_string(sv.value())


def _load_string(r: Reader) -> o.Loaded:
    return STRING, r.string()


def _restore_string(db: int, key: bytes, value: bytes, at: int) -> list[Any]:
    return [Assign(db, key, value, at)]


# -- lists ----------------------------------------------------------------------------------


def quicklist_nodes(values: list[bytes]) -> list[list[bytes]]:
    """The elements per quicklist node, as RPUSH of each in turn fills the nodes."""
    nodes: list[list[bytes]] = []
    size = 0
    for v in values:
        entry = listpack.encode_entry(v)
        if nodes and size + len(v) + _SIZE_ESTIMATE_OVERHEAD <= _NODE_LIMIT:
            nodes[-1].append(entry)
            size += len(entry)
        else:
            nodes.append([entry])
            size = listpack.HEADER_SIZE + len(entry) + 1
    return nodes


def _dump_list(seq: Sequence) -> bytes:
    nodes = quicklist_nodes(list(seq))
    out = [bytes([o.TYPE_LIST_QUICKLIST_2]), save_len(len(nodes))]
    for entries in nodes:
        body = b"".join(entries)
        lp = listpack.header(listpack.HEADER_SIZE + len(body) + 1, len(entries)) + body + b"\xff"
        out += (save_len(QUICKLIST_NODE_PACKED), save_string(lp))
    return b"".join(out)


def _nonempty(kind: str, values: list[Any]) -> o.Loaded:
    if not values:
        raise FormatError("empty key")
    return kind, values


def _load_list_linked(r: Reader) -> o.Loaded:
    return _nonempty(LIST, [r.string() for _ in range(r.length())])


def _load_list_ziplist(r: Reader) -> o.Loaded:
    return _nonempty(LIST, ziplist.decode(r.string()))


def _load_quicklist(r: Reader, version: int) -> o.Loaded:
    values: list[bytes] = []
    for _ in range(r.length()):
        container = QUICKLIST_NODE_PACKED if version == 1 else r.length()
        blob = r.string()
        if not blob:  # (Redis: "quicklist encoded_len is 0", a plain node's too)
            raise FormatError("empty quicklist node")
        if container == QUICKLIST_NODE_PLAIN:
            values.append(blob)
        elif container != QUICKLIST_NODE_PACKED:
            raise FormatError("bad quicklist container")
        else:  # (Redis skips empty nodes silently)
            values += ziplist.decode(blob) if version == 1 else listpack.decode(blob)
    return _nonempty(LIST, values)


def _restore_list(db: int, key: bytes, values: list[bytes], at: int) -> list[Any]:
    return [ListPush(db, key, (), 0, tuple(values)), *_expire(db, key, at)]


# -- sets -----------------------------------------------------------------------------------


def _dump_set(oset: ORSet) -> bytes:
    members = list(oset.members)
    if TYPE_COMMANDS[SET].encoding(oset) == b"intset":
        ints = [parse_int(m) or 0 for m in members]
        return bytes([o.TYPE_SET_INTSET]) + save_string(intset.encode(ints))
    return bytes([o.TYPE_SET]) + save_len(len(members)) + b"".join(save_string(m) for m in members)


def _unique(kind: str, values: list[bytes]) -> o.Loaded:
    if len(set(values)) != len(values):
        raise FormatError("duplicate members")
    return _nonempty(kind, values)


def _load_set(r: Reader) -> o.Loaded:
    return _unique(SET, [r.string() for _ in range(r.length())])


def _load_intset(r: Reader) -> o.Loaded:
    return _unique(SET, [b"%d" % v for v in intset.decode(r.string())])


def _restore_set(db: int, key: bytes, members: list[bytes], at: int) -> list[Any]:
    return [SetAdd(db, key, tuple(members)), *_expire(db, key, at)]


# -- hashes ---------------------------------------------------------------------------------


def _dump_hash(omap: ORMap) -> bytes:
    items = list(omap.items())
    if TYPE_COMMANDS[HASH].encoding(omap) == b"listpack":
        flat = [x for pair in items for x in pair]
        return bytes([o.TYPE_HASH_LISTPACK]) + save_string(listpack.encode(flat))
    out = [bytes([o.TYPE_HASH]), save_len(len(items))]
    for f, v in items:
        out += (save_string(f), save_string(v))
    return b"".join(out)


def _pairs(kind: str, flat: list[Any]) -> o.Loaded:
    if len(flat) % 2:
        raise FormatError("odd number of elements")
    pairs = list(zip(flat[::2], flat[1::2], strict=True))
    if len({p[0] for p in pairs}) != len(pairs):
        raise FormatError("duplicate fields")
    return _nonempty(kind, pairs)


def _load_hash(r: Reader) -> o.Loaded:
    flat: list[bytes] = []
    for _ in range(r.length()):
        flat += (r.string(), r.string())
    return _pairs(HASH, flat)


def _load_hash_zipmap(r: Reader) -> o.Loaded:
    return _pairs(HASH, ziplist.decode_zipmap(r.string()))


def _load_hash_ziplist(r: Reader) -> o.Loaded:
    return _pairs(HASH, ziplist.decode(r.string()))


def _load_hash_listpack(r: Reader) -> o.Loaded:
    return _pairs(HASH, listpack.decode(r.string()))


def _restore_hash(db: int, key: bytes, pairs: list[tuple[bytes, bytes]], at: int) -> list[Any]:
    return [HashSet(db, key, tuple(pairs)), *_expire(db, key, at)]


# -- sorted sets ----------------------------------------------------------------------------


def _dump_zset(z: ZSet) -> bytes:
    if TYPE_COMMANDS[ZSET].encoding(z) == b"listpack":
        flat: list[bytes] = []
        for score, member in z.index:
            flat += (member, d2string(score))
        return bytes([o.TYPE_ZSET_LISTPACK]) + save_string(listpack.encode(flat))
    out = [bytes([o.TYPE_ZSET_2]), save_len(len(z))]
    for score, member in reversed(z.index):
        out += (save_string(member), save_binary_double(score))
    return b"".join(out)


def _score(text: bytes) -> float:
    """A score stored as text in a ziplist or listpack, as zzlStrtod reads it: C's strtod of
    the first 127 bytes up to a NUL, its longest numeric prefix (0 when there is none: an
    empty or non-numeric score is 0 in Redis too). A NaN is Bad data format here (Redis
    would hold it; a sorted set here cannot)."""
    value = strtod(text[:127].split(b"\0", 1)[0])[0]
    if math.isnan(value):
        raise FormatError("bad score")
    return value


def _zpairs(pairs: list[tuple[bytes, float]]) -> o.Loaded:
    if any(math.isnan(s) for _, s in pairs):
        raise FormatError("NaN score")
    if len({m for m, _ in pairs}) != len(pairs):
        raise FormatError("duplicate members")
    return _nonempty(ZSET, pairs)


def _string_double(r: Reader) -> float:
    """rdbLoadDoubleValue (RDB_TYPE_ZSET, before Redis 2.8): a one-byte length, 253 nan, 254
    +inf, 255 -inf, else text read by sscanf("%lg"): its longest numeric prefix, up to a NUL,
    and Bad data format only when there is none."""
    n = r.byte()
    if n >= 253:
        return (math.nan, math.inf, -math.inf)[n - 253]
    value, used, _ = strtod(r.take(n).split(b"\0", 1)[0])
    if not used:
        raise FormatError("bad double")
    return value


def _load_zset(r: Reader, binary: bool) -> o.Loaded:
    pairs = []
    for _ in range(r.length()):
        member = r.string()
        pairs.append((member, r.binary_double() if binary else _string_double(r)))
    return _zpairs(pairs)


def _load_zset_packed(r: Reader, decode: Any) -> o.Loaded:
    flat = decode(r.string())
    if len(flat) % 2:
        raise FormatError("odd number of elements")
    return _zpairs([(m, _score(s)) for m, s in zip(flat[::2], flat[1::2], strict=True)])


def _restore_zset(db: int, key: bytes, pairs: list[tuple[bytes, float]], at: int) -> list[Any]:
    return [ZAssign(db, key, tuple(pairs)), *_expire(db, key, at)]


def register() -> None:
    o.DUMPERS.update({STRING: _dump_string, LIST: _dump_list, SET: _dump_set, HASH: _dump_hash,
                      ZSET: _dump_zset})
    o.RESTORERS.update({STRING: _restore_string, LIST: _restore_list, SET: _restore_set,
                        HASH: _restore_hash, ZSET: _restore_zset})
    o.LOADERS.update({
        o.TYPE_STRING: _load_string,
        o.TYPE_LIST: _load_list_linked,
        o.TYPE_LIST_ZIPLIST: _load_list_ziplist,
        o.TYPE_LIST_QUICKLIST: lambda r: _load_quicklist(r, 1),
        o.TYPE_LIST_QUICKLIST_2: lambda r: _load_quicklist(r, 2),
        o.TYPE_SET: _load_set,
        o.TYPE_SET_INTSET: _load_intset,
        o.TYPE_HASH: _load_hash,
        o.TYPE_HASH_ZIPMAP: _load_hash_zipmap,
        o.TYPE_HASH_ZIPLIST: _load_hash_ziplist,
        o.TYPE_HASH_LISTPACK: _load_hash_listpack,
        o.TYPE_ZSET: lambda r: _load_zset(r, False),
        o.TYPE_ZSET_2: lambda r: _load_zset(r, True),
        o.TYPE_ZSET_ZIPLIST: lambda r: _load_zset_packed(r, ziplist.decode),
        o.TYPE_ZSET_LISTPACK: lambda r: _load_zset_packed(r, listpack.decode),
    })


register()
