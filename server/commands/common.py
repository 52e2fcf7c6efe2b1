"""Helpers shared by the command handlers: key lookup by type, argument parsing."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from crdt.entry import Entry
from crdt.numbers import INT32_MAX, INT32_MIN, parse_int
from server import errors
from server.pubsub_config import NOTIFY_KEY_MISS
from server.resp import Error

if TYPE_CHECKING:
    from server.connection import Client


def lookup(c: Client, key: bytes, touch: bool = True, notify: bool = True) -> Entry | None:
    """The visible entry for reading (counts keyspace hits and misses; a key past its time is
    reclaimed); ``touch=False``: Redis's LOOKUP_NOTOUCH (TYPE, EXISTS, TTL...: the access time
    is left alone); ``notify=False``: LOOKUP_NONOTIFY (OBJECT: no keymiss event)."""
    ks = c.ks
    db = ks.dbs[c.db]
    entry = db.find(key)  # (thawed when cold: the read touches it)
    if entry is not None and entry.x is not None:  # it may have expire entries
        at = db.expires.get(key)
        if at is not None and at <= ks.now_ms:
            entry = None
            c.server.reclaim_expired(c.db, key)
    if entry is None:
        server = c.server
        server.stats.keyspace_misses += 1
        if notify and server.config.notify_keyspace_events & NOTIFY_KEY_MISS:  # local: reads never replicate
            server.notifier.fire((("m", "keymiss", c.db, key),))
    else:
        server = c.server
        server.stats.keyspace_hits += 1
        if touch:
            server.access.touch(entry)
    return entry


def read(c: Client, key: bytes, kind: str) -> Any:
    """The visible content of ``key`` for reading, or None when absent; WRONGTYPE when the key
    holds another type."""
    entry = lookup(c, key)
    if entry is None:
        return None
    content = entry.content()
    if content.type_name != kind:
        raise Error(errors.WRONGTYPE)
    return content


class TypeCommands(NamedTuple):
    """What the generic key commands need of a type's command module (which registers it)."""

    # effects that make (db, key) hold ``content``'s visible value with expire time ``at``
    # (COPY, RENAME, MOVE): the key has just been deleted in the same batch
    recreate: Callable[[int, bytes, Any, int], list[Any]]
    # OBJECT ENCODING: (content, config or None for Redis's default thresholds) -> name
    encoding: Callable[..., bytes]  # (content) uses the defaults


TYPE_COMMANDS: dict[str, TypeCommands] = {}


def prepare_write(c: Client, key: bytes, kind: str | None = None) -> Any:
    """Before writing ``key``: remove it first if it has expired (in the same batch), then
    return its visible content, or None. With ``kind``, a key of another type is WRONGTYPE."""
    ks = c.ks
    db = ks.dbs[c.db]
    entry = db.find(key)
    if entry is None:
        return None
    if entry.x is not None and key in db.expires:  # it has a finite expire time
        c.server.expire_if_needed(c.db, key)
        entry = db.get(key, ks.now_ms)
        if entry is None:
            return None
    content = entry.content()
    if kind is not None and content.type_name != kind and getattr(content, "reply_type", None) != kind:
        raise Error(errors.WRONGTYPE)  # (an HLL is written as a string by string commands)
    return content


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


def greater_than_zero(arg: bytes, message: str) -> int:
    """getRangeLongFromObjectOrReply(1, LONG_MAX, message): one message for every failure."""
    value = int_arg(arg, message)
    if value < 1:
        raise Error(message)
    return value


def mpop_count(argv: list[bytes], start: int) -> int:
    """The ``[COUNT count]`` tail of LMPOP/ZMPOP and their blocking forms, from ``argv[start]``
    (1 when absent); anything else there, or COUNT twice, is a syntax error."""
    count = -1
    j = start
    while j < len(argv):
        if count == -1 and argv[j].lower() == b"count" and j + 1 < len(argv):
            j += 1
            count = greater_than_zero(argv[j], errors.COUNT_POSITIVE)
        else:
            raise Error(errors.SYNTAX)
        j += 1
    return max(count, 1)
