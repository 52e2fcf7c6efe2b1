"""Helpers shared by the command handlers: key lookup by type, argument parsing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crdt.keyspace import HASH, SET, STRING, Entry
from crdt.numbers import INT32_MAX, INT32_MIN, parse_int
from crdt.ormap import ORMap
from crdt.orset import ORSet
from crdt.strings import StrValue
from server import errors
from server.resp import Error

if TYPE_CHECKING:
    from server.connection import Client


def lookup(c: Client, key: bytes) -> Entry | None:
    """The visible entry for reading (counts keyspace hits and misses)."""
    entry = c.ks.dbs[c.db].get(key, c.ks.now_ms)
    if entry is None:
        c.server.stats.keyspace_misses += 1
    else:
        c.server.stats.keyspace_hits += 1
    return entry


def read_string(c: Client, key: bytes) -> StrValue | None:
    entry = lookup(c, key)
    if entry is None:
        return None
    if entry.kind != STRING:
        raise Error(errors.WRONGTYPE)
    return entry.string


def read_set(c: Client, key: bytes) -> ORSet | None:
    entry = lookup(c, key)
    if entry is None:
        return None
    if entry.kind != SET:
        raise Error(errors.WRONGTYPE)
    return entry.oset


def read_hash(c: Client, key: bytes) -> ORMap | None:
    entry = lookup(c, key)
    if entry is None:
        return None
    if entry.kind != HASH:
        raise Error(errors.WRONGTYPE)
    return entry.omap


def prepare_write(c: Client, key: bytes, kind: str | None = None) -> Any:
    """Before writing ``key``: remove it first if it has expired (in the same batch), then
    return its visible content, or None. With ``kind``, a key of another type is WRONGTYPE."""
    ks = c.ks
    db = ks.dbs[c.db]
    entry = db.entries.get(key)
    if entry is None:
        return None
    if entry.x is not None and key in db.expires:  # it has a finite expire time
        c.server.expire_if_needed(c.db, key)
        entry = db.get(key, ks.now_ms)
        if entry is None:
            return None
    if kind is not None and entry.kind != kind:
        raise Error(errors.WRONGTYPE)
    return entry.content()


def int_arg(arg: bytes, message: str = errors.NOT_INTEGER) -> int:
    value = parse_int(arg)
    if value is None:
        raise Error(message)
    return value


def int32_arg(arg: bytes) -> int:
    """Redis's getIntFromObjectOrReply: a long long, then the C int range."""
    value = int_arg(arg)
    if value < INT32_MIN or value > INT32_MAX:
        raise Error(errors.RANGE_BETWEEN % (INT32_MIN, INT32_MAX))
    return value
