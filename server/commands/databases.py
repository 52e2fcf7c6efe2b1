"""MOVE and SWAPDB (Redis's db.c), on the effects (SEMANTICS.md, "Databases").

MOVE is a delete in the source database and an assignment of the whole value (its TTL
included) in the target, one batch. SWAPDB exchanges two databases' keys as one batch of
flushes and re-creations; it is refused while peer regions are configured, since a swap does
not commute with writes another region makes concurrently to either database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crdt.effects import Delete, Flush
from crdt.numbers import INT32_MAX, INT32_MIN
from server import errors
from server.commands.common import TYPE_COMMANDS, int32_arg, int_arg
from server.commands.keys import write_copy
from server.commands.registry import command
from server.resp import OK, Error

if TYPE_CHECKING:
    from server.connection import Client


@command("move")
def cmd_move(c: Client, argv: list[bytes]) -> Any:
    key = argv[1]
    dbid = int32_arg(argv[2])
    if dbid < 0 or dbid >= len(c.ks.dbs):
        raise Error(errors.DB_INDEX_OUT_OF_RANGE)
    if dbid == c.db:
        raise Error(errors.SOURCE_DEST_SAME)
    c.server.expire_if_needed(c.db, key)
    entry = c.ks.dbs[c.db].get(key, c.ks.now_ms)
    if entry is None:
        return 0
    c.server.expire_if_needed(dbid, key)
    if c.ks.dbs[dbid].exists(key, c.ks.now_ms):
        return 0
    write_copy(c, dbid, key, entry)
    c.ks.emit(Delete(c.db, key))
    return 1


def _db_arg(arg: bytes, message: str) -> int:
    """getIntFromObjectOrReply with a message: the one message for every failure."""
    value = int_arg(arg, message)
    if value < INT32_MIN or value > INT32_MAX:
        raise Error(message)
    return value


@command("swapdb")
def cmd_swapdb(c: Client, argv: list[bytes]) -> Any:
    a = _db_arg(argv[1], errors.SWAPDB_FIRST)
    b = _db_arg(argv[2], errors.SWAPDB_SECOND)
    n = len(c.ks.dbs)
    if a < 0 or a >= n or b < 0 or b >= n:
        raise Error(errors.DB_INDEX_OUT_OF_RANGE)
    if c.server.config.peer:
        raise Error(errors.SWAPDB_WITH_PEERS)
    if a == b:
        return OK
    now = c.ks.now_ms
    effects: list[Any] = []
    for src, dst in ((a, b), (b, a)):  # read everything before the flushes change anything
        db = c.ks.dbs[src]
        for key, entry in db.items():
            if not db.is_expired(key, now):
                content = entry.content()
                effects += TYPE_COMMANDS[entry.kind].recreate(dst, key, content, entry.expire_at())
    c.ks.emit(Flush(a))
    c.ks.emit(Flush(b))
    for effect in effects:
        c.ks.emit(effect)
    return OK
