"""DUMP payloads (Redis 7.0's createDumpPayload / verifyDumpPayload / rdbLoadObject) and the
per-type codec registry.

A payload is ``type byte + object + RDB version (2 bytes LE) + CRC64 (8 bytes LE)`` of
everything before the CRC. Each type registers:

* ``DUMPERS[type_name](content) -> bytes``: the type byte and the object, exactly as
  rdbSaveObjectType + rdbSaveObject write the value in the encoding Redis 7.0 would give it
  (the same rule OBJECT ENCODING reports);
* ``LOADERS[rdb_type](reader) -> (type_name, value)`` for every RDB object type it can read;
* ``RESTORERS[type_name](db, key, value, at_ms) -> effects``: the ordinary local writes that
  make the key hold ``value`` (RESTORE is a normal write in active-active terms);
* optionally ``AFTER_RESTORE[type_name](content, value)``: adjusts this region's local,
  derived state of the restored key once the effects applied (a stream's node layout).

The types of this server register in ``builtin.py``; a new type adds its entries from its own
module (``streams.py``; HyperLogLog is a string).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from server.rdb.crc64 import crc64
from server.rdb.listpack import FormatError
from server.rdb.rdbio import Reader

RDB_VERSION = 10

# RDB object types (rdb.h)
TYPE_STRING = 0
TYPE_LIST = 1
TYPE_SET = 2
TYPE_ZSET = 3
TYPE_HASH = 4
TYPE_ZSET_2 = 5
TYPE_MODULE_2 = 7
TYPE_HASH_ZIPMAP = 9
TYPE_LIST_ZIPLIST = 10
TYPE_SET_INTSET = 11
TYPE_ZSET_ZIPLIST = 12
TYPE_HASH_ZIPLIST = 13
TYPE_LIST_QUICKLIST = 14
TYPE_STREAM_LISTPACKS = 15
TYPE_HASH_LISTPACK = 16
TYPE_ZSET_LISTPACK = 17
TYPE_LIST_QUICKLIST_2 = 18
TYPE_STREAM_LISTPACKS_2 = 19

# rdbIsObjectType in Redis 7.0: 0-7 and 9-19
OBJECT_TYPES = frozenset(range(0, 8)) | frozenset(range(9, 20))

Loaded = tuple[str, Any]
DUMPERS: dict[str, Callable[[Any], bytes]] = {}
LOADERS: dict[int, Callable[[Reader], Loaded]] = {}
RESTORERS: dict[str, Callable[[int, bytes, Any, int], list[Any]]] = {}
AFTER_RESTORE: dict[str, Callable[[Any, Any], None]] = {}


class NoDumper(Exception):
    """A type with no RDB codec registered."""


def dump_payload(content: Any) -> bytes:
    dumper = DUMPERS.get(content.type_name)
    if dumper is None:
        raise NoDumper(content.type_name)
    body = dumper(content) + struct.pack("<H", RDB_VERSION)
    return body + struct.pack("<Q", crc64(body))


def verify_payload(payload: bytes, skip_checksum: bool = False) -> bool:
    """verifyDumpPayload: long enough, an RDB version we read, and the CRC64 matches (unless
    DEBUG SET-SKIP-CHECKSUM-VALIDATION 1)."""
    if len(payload) < 10:
        return False
    version = struct.unpack_from("<H", payload, len(payload) - 10)[0]
    if version > RDB_VERSION:
        return False
    if skip_checksum:
        return True
    return struct.unpack_from("<Q", payload, len(payload) - 8)[0] == crc64(payload[:-8])


def load_payload(payload: bytes) -> Loaded:
    """The value in a verified payload; FormatError for anything we cannot read (RESTORE:
    "Bad data format"). As in Redis, the reader sees the whole payload, footer included."""
    reader = Reader(payload)
    rdb_type = reader.byte()
    if rdb_type not in OBJECT_TYPES:
        raise FormatError("unknown object type")
    loader = LOADERS.get(rdb_type)
    if loader is None:
        raise FormatError("object type not supported")
    return loader(reader)


def restore_effects(db: int, key: bytes, loaded: Loaded, at_ms: int) -> list[Any]:
    kind, value = loaded
    return RESTORERS[kind](db, key, value, at_ms)
