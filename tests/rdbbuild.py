"""Writing small RDB files by hand, in the formats of older Redis versions (rdb.c, ziplist.c,
zipmap.c of Redis 2.x-6.x), for the RDB import tests: nothing in activekv writes these
encodings any more, but a dump.rdb from an old Redis holds them."""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable

from server.rdb import intset
from server.rdb.crc64 import crc64
from server.rdb.rdbio import save_len, save_string

# object types and opcodes (rdb.h)
STRING, LIST, SET, ZSET, HASH, ZSET_2, MODULE_2 = 0, 1, 2, 3, 4, 5, 7
HASH_ZIPMAP, LIST_ZIPLIST, SET_INTSET, ZSET_ZIPLIST, HASH_ZIPLIST, LIST_QUICKLIST = 9, 10, 11, 12, 13, 14
OP_FUNCTION_PRE_GA, OP_MODULE_AUX, OP_IDLE, OP_FREQ, OP_AUX = 246, 247, 248, 249, 250
OP_RESIZEDB, OP_EXPIRETIME_MS, OP_EXPIRETIME, OP_SELECTDB, OP_EOF = 251, 252, 253, 254, 255


def ziplist_entry(value: bytes, prev: int) -> bytes:
    """One entry: prevlen, then a 6-bit string length or, for small integers, the 4-bit
    immediate (0-12) or int16 encodings."""
    head = bytes([prev]) if prev < 254 else b"\xfe" + struct.pack("<I", prev)
    try:
        n = int(value)
    except ValueError:
        n = None
    if n is not None and b"%d" % n == value and 0 <= n <= 12:
        return head + bytes([0xF1 + n])
    if n is not None and b"%d" % n == value and -(1 << 15) <= n < 1 << 15:
        return head + b"\xc0" + struct.pack("<h", n)
    assert len(value) < 64
    return head + bytes([len(value)]) + value


def ziplist(values: Iterable[bytes]) -> bytes:
    body = b""
    prev = 0
    tail = 10
    count = 0
    for v in values:
        tail = 10 + len(body)
        e = ziplist_entry(v, prev)
        prev = len(e)
        body += e
        count += 1
    total = 10 + len(body) + 1
    return struct.pack("<IIH", total, tail, count) + body + b"\xff"


def zipmap(pairs: list[tuple[bytes, bytes]]) -> bytes:
    out = bytes([len(pairs)])
    for k, v in pairs:
        out += bytes([len(k)]) + k + bytes([len(v), 1]) + v + b"\0"  # one free byte each
    return out + b"\xff"


def string_double(x: float) -> bytes:
    """rdbSaveDoubleValue (RDB_TYPE_ZSET)."""
    if math.isnan(x):
        return b"\xfd"
    if math.isinf(x):
        return b"\xfe" if x > 0 else b"\xff"
    text = repr(x).encode()
    return bytes([len(text)]) + text


def s(x: bytes) -> bytes:
    return save_string(x)


def key(rdb_type: int, name: bytes, body: bytes) -> bytes:
    return bytes([rdb_type]) + s(name) + body


def value_list(values: list[bytes]) -> bytes:
    return save_len(len(values)) + b"".join(s(v) for v in values)


def value_intset(values: list[int]) -> bytes:
    return s(intset.encode(values))


def module_id(name: str, version: int = 1) -> int:
    cs = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    n = 0
    for ch in name:
        n = (n << 6) | cs.index(ch)
    return (n << 10) | version


def rdb(version: int, *records: bytes, checksum: bool = True) -> bytes:
    """A whole file: magic and version, the records, EOF, and from version 5 on the CRC64
    (or 0 when ``checksum`` is False)."""
    body = b"REDIS%04d" % version + b"".join(records) + bytes([OP_EOF])
    if version < 5:
        return body
    return body + struct.pack("<Q", crc64(body) if checksum else 0)



def module_fields() -> bytes:
    """A module value's typed fields (RDB_MODULE_OPCODE_*): one of each, then EOF."""
    return (save_len(2) + save_len(7) + save_len(5) + s(b"payload") + save_len(4) + struct.pack("<d", 1.5)
            + save_len(3) + struct.pack("<f", 2.5) + save_len(1) + save_len(9) + save_len(0))


def module_file() -> bytes:
    """Module aux data (module "graphdata", when = 2), key "k", a module key "doc" (ReJSON-RL)."""
    aux = bytes([OP_MODULE_AUX]) + save_len(module_id("graphdata")) + save_len(2) + save_len(2) + module_fields()
    doc = key(MODULE_2, b"doc", save_len(module_id("ReJSON-RL")) + module_fields())
    return rdb(10, aux, key(STRING, b"k", s(b"v")), doc)
