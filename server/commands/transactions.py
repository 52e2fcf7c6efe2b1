"""MULTI / EXEC / DISCARD / WATCH / UNWATCH (Redis's multi.c).

The effects of every command of a transaction go into one batch, committed at EXEC: peers
apply the whole transaction or none of it (G6). WATCH sees any change to the key in this
region — local writes, replicated ones, expiry — through the keyspace's change hook.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from server import errors
from server.acl.hooks import exec_permission_error
from server.commands.registry import command
from server.keyevents import begin, derive
from server.monitor_feed import feed
from server.resp import NULL_ARRAY, OK, Error

if TYPE_CHECKING:
    from server.connection import Client


@command("multi")
def cmd_multi(c: Client, argv: list[bytes]) -> Any:
    if c.multi is not None:
        raise Error(errors.MULTI_NESTED)
    c.multi = []
    c.multi_error = False
    return OK


@command("discard")
def cmd_discard(c: Client, argv: list[bytes]) -> Any:
    if c.multi is None:
        raise Error(errors.DISCARD_WITHOUT_MULTI)
    c.discard_multi()
    return OK


def _watched_key_expired(c: Client) -> bool:
    """Redis 7 aborts EXEC if a watched key that existed at WATCH time has since expired."""
    now = c.ks.now_ms
    # (A key missing or already expired at WATCH is not: only its re-creation, which made
    # the client dirty, could change it.)
    return any(c.ks.dbs[db].is_expired(key, now) for db, key in c.watched
               if (db, key) not in c.watch_absent)


@command("exec")
def cmd_exec(c: Client, argv: list[bytes]) -> Any:
    queued = c.multi
    if queued is None:
        raise Error(errors.EXEC_WITHOUT_MULTI)
    if c.multi_error:
        c.discard_multi()
        raise Error(errors.EXECABORT)
    c.server.tick()
    if c.watch_dirty or _watched_key_expired(c):
        c.discard_multi()
        return NULL_ARRAY
    c.multi = None
    c.unwatch_all()
    replies: list[Any] = []
    stats = c.server.stats
    monitor = c.server.monitor
    c.in_exec = True  # blocking commands answer at once
    try:
        for cmd, args in queued:  # last_cmd stays "exec": CLIENT INFO's cmd=, the ACL LOG's
            stats.commands += 1
            assert cmd.handler is not None
            denied = None if c.user.unrestricted else exec_permission_error(c, cmd, args)
            if denied is not None:  # the ACL rules changed since the command was queued
                stats.add_error(denied.message)
                replies.append(denied)
                continue
            started = time.perf_counter_ns()
            mark = begin(c, cmd, args)
            try:
                replies.append(cmd.handler(c, args))
            except Error as exc:
                stats.add_error(exc.message)
                replies.append(exc)
            except Exception as exc:
                error = c.unexpected_error(cmd, exc)
                stats.add_error(error.message)
                replies.append(error)
            monitor.after_call(c, cmd, args, time.perf_counter_ns() - started,
                               isinstance(replies[-1], Error))
            derive(c, cmd.name, args, mark)
            if c.server.monitors:
                feed(c, cmd, args)
            if c.tracking is not None:
                c.server.tracking.after_command(c, cmd, args)
    finally:
        c.in_exec = False
    # The caller (Client.call) commits the open batch: every effect of the transaction.
    return replies


@command("watch")
def cmd_watch(c: Client, argv: list[bytes]) -> Any:
    if c.multi is not None:
        raise Error(errors.WATCH_IN_MULTI)
    db = c.ks.dbs[c.db]
    for key in argv[1:]:
        if (c.db, key) not in c.watched and not db.exists(key, c.ks.now_ms):
            c.watch_absent.add((c.db, key))
            if key in db.entries:  # expired, not yet removed: its removal is no change
                c.watch_expired.add((c.db, key))
        c.server.watch(c, c.db, key)
    return OK


@command("unwatch")
def cmd_unwatch(c: Client, argv: list[bytes]) -> Any:
    c.unwatch_all()
    return OK
