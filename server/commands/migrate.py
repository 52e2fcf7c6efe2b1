"""MIGRATE (Redis 7.0's migrateCommand in cluster.c): DUMP here, RESTORE there, DEL here.

``MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
[AUTH2 username password] [KEYS key ...]``, with Redis's syntax checks and replies: the keys
that exist are serialized (DUMP's format) with their remaining TTLs and sent as RESTOREs (with
REPLACE if asked) after AUTH and SELECT; the target's first error becomes ``ERR Target
instance replied with error: ...``; ``+NOKEY`` when none of the keys exists; ``IOERR ...`` on
a socket error or timeout (``server/migrate_link.py`` does the network part, with Redis's
cached connections). Without COPY each key the target accepted is deleted here: an ordinary
local ``Delete`` (observed-remove) that replicates to the peer regions, with the ``del``
keyspace event.

Redis blocks the whole server for the transfer. Here the network part runs in a worker thread
while the calling client waits (a ``Blocked`` reply, as WAIT does): other clients and the peer
links are served meanwhile. A key another client (or a replicated batch) changed between the
DUMP and the target's reply is then *not* deleted: the target holds the value that was sent,
the source keeps the newer one (never a write lost; the reply is still the target's). Inside
MULTI/EXEC and scripts (where Redis allows MIGRATE) the transfer runs inline, blocking the
server up to the timeout per I/O step, exactly as Redis: nothing can change in between there.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from crdt.effects import Delete
from server import errors, migrate_link
from server.blocking import Blocked
from server.commands.common import int_arg, lookup
from server.commands.registry import command
from server.keyevents import begin, derive
from server.rdb.objects import NoDumper, dump_payload
from server.resp import OK, Error, Status

if TYPE_CHECKING:
    from server.connection import Client

KEYS_NOT_EMPTY = "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
NOKEY = Status("NOKEY")


def _bulk(arg: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(arg), arg)


def _command(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(_bulk(a) for a in args)


class MigrateWait(Blocked):
    """The client waiting for its MIGRATE's transfer. Not a blocked client for CLIENT UNBLOCK
    (Redis runs MIGRATE synchronously: there is nothing to unblock)."""

    __slots__ = ("reply",)
    unblockable = False

    def __init__(self) -> None:
        super().__init__(self._ready, None, lambda: None)
        self.reply: Any = None

    def _ready(self) -> Any:
        return self.reply


class KeyWatch:
    """WATCH's bookkeeping for one key being migrated (server/changes.py marks it dirty on
    any change of the key in this region, local or replicated, as it does a WATCHing client)."""

    __slots__ = ("watched", "watch_expired", "watch_absent", "watch_dirty")

    def __init__(self, db: int, key: bytes) -> None:
        self.watched = {(db, key)}
        self.watch_expired: set[tuple[int, bytes]] = set()
        self.watch_absent: set[tuple[int, bytes]] = set()
        self.watch_dirty = False


@command("migrate")
def cmd_migrate(c: Client, argv: list[bytes]) -> Any:
    copy = replace = False
    username: bytes | None = None
    password: bytes | None = None
    first_key, num_keys = 3, 1
    j = 6
    while j < len(argv):
        more = len(argv) - 1 - j
        opt = argv[j].lower()
        if opt == b"copy":
            copy = True
        elif opt == b"replace":
            replace = True
        elif opt == b"auth":
            if not more:
                raise Error(errors.SYNTAX)
            j += 1
            password = argv[j]
        elif opt == b"auth2":
            if more < 2:
                raise Error(errors.SYNTAX)
            username, password = argv[j + 1], argv[j + 2]
            j += 2
        elif opt == b"keys":
            if argv[3]:
                raise Error(KEYS_NOT_EMPTY)
            first_key, num_keys = j + 1, len(argv) - j - 1
            break
        else:
            raise Error(errors.SYNTAX)
        j += 1
    timeout = int_arg(argv[5])
    dbid = int_arg(argv[4])
    if timeout <= 0:
        timeout = 1000

    # The keys that exist, their payloads and remaining TTLs (Redis's lookupKeyRead, getExpire).
    db = c.ks.dbs[c.db]
    keys: list[bytes] = []
    restores: list[bytes] = []
    for key in argv[first_key : first_key + num_keys]:
        entry = lookup(c, key)
        if entry is None:
            continue
        try:
            payload = dump_payload(entry.content())
        except NoDumper as exc:  # activekv's own error, as DUMP's
            raise Error(f"ERR DUMP of a {exc} is not supported yet") from None
        at = db.expires.get(key)
        ttl = 0
        if at is not None:
            ttl = at - c.ks.now_ms
            if ttl < 0:
                continue
            ttl = max(ttl, 1)
        keys.append(key)
        args = [b"RESTORE", key, str(ttl).encode(), payload] + ([b"REPLACE"] if replace else [])
        restores.append(_command(*args))
    if not keys:
        return NOKEY
    auth = b""
    if password is not None:
        auth = _command(b"AUTH", username, password) if username is not None else _command(b"AUTH", password)
    host, port = argv[1], argv[2]
    source_db = c.db

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no event loop (an in-process server): nobody else to serve
        loop = None
    if c.in_exec or loop is None:  # MULTI/EXEC, scripts: inline, as Redis (the call commits)
        outcome = migrate_link.transfer(host, port, timeout, dbid, auth, restores)
        _schedule_expiry()
        if not copy:
            _delete_accepted(c, source_db, keys, None, outcome.accepted)
        return _reply(outcome)

    waiter = MigrateWait()
    waiter.client = c
    server: Any = c.server
    watches = [KeyWatch(source_db, key) for key in keys]
    for watch in watches:
        server.watch(watch, source_db, watch_key(watch))
    future = migrate_link.start(host, port, timeout, dbid, auth, restores)

    def done(fut: Future[migrate_link.Outcome]) -> None:
        for watch in watches:
            server.unwatch(watch)
        try:
            outcome = fut.result()
        except Exception as exc:  # a bug in the transfer: an error reply, never a hang
            c.server.stats.unexpected_errors += 1
            waiter.reply = Error(f"ERR MIGRATE failed: {exc!r}")
        else:
            if not copy:
                _delete_accepted_now(c, source_db, argv, keys, watches, outcome.accepted)
            waiter.reply = _reply(outcome)
        _schedule_expiry()
        c.server.poll_waiters()

    def hand_back(fut: Future[migrate_link.Outcome]) -> None:
        try:
            loop.call_soon_threadsafe(done, fut)
        except RuntimeError:  # the loop is closed: the server is shutting down
            pass

    future.add_done_callback(hand_back)
    return waiter


def _reply(outcome: migrate_link.Outcome) -> Any:
    return OK if outcome.reply is None else Error(outcome.reply)


def watch_key(watch: KeyWatch) -> bytes:
    return next(iter(watch.watched))[1]


def _delete_accepted(c: Client, dbi: int, keys: list[bytes], watches: list[KeyWatch] | None,
                     accepted: list[int]) -> None:
    """Delete the keys the target accepted, each only if nothing changed it since it was
    serialized (``watches``: None when nothing could, inline)."""
    ks = c.ks
    db = ks.dbs[dbi]
    for i in accepted:
        key = keys[i]
        if watches is not None and watches[i].watch_dirty:
            continue
        if db.exists(key, ks.now_ms):
            ks.emit(Delete(dbi, key))


def _delete_accepted_now(c: Client, dbi: int, argv: list[bytes], keys: list[bytes],
                         watches: list[KeyWatch], accepted: list[int]) -> None:
    """The deletes after an asynchronous transfer, outside any command: this region's write,
    committed and shipped here (as a blocking pop's, server/commands/blocking_pops.py)."""
    if not accepted:
        return
    cmd = c.table.get(b"migrate")
    ks = c.ks
    ks.now_ms = int(time.time() * 1000)  # (as a command's read does: server.tick())
    mark = begin(c, cmd, argv) if cmd is not None else None
    _delete_accepted(c, dbi, keys, watches, accepted)
    if cmd is not None and mark is not None:
        derive(c, cmd.name, argv, mark)
    batch = ks.commit()
    if batch is not None:
        c.server.ship(batch)
        c.last_batch = batch
        if batch.events and c.server.config.notify_keyspace_events:
            c.server.notifier.fire(batch.events)


_expiry_handle: asyncio.TimerHandle | None = None


def _schedule_expiry() -> None:
    """Close cached target connections unused for 10 s: checked every second while any is
    cached (Redis's serverCron calls migrateCloseTimedoutSockets once a second)."""
    global _expiry_handle
    if _expiry_handle is not None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return

    def tick() -> None:
        global _expiry_handle
        _expiry_handle = None
        migrate_link.close_timed_out()
        if migrate_link.cached_socket_count():
            _schedule_expiry()

    _expiry_handle = loop.call_later(1.0, tick)
