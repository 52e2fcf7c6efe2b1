"""The replicas of this region, what each asked for with REPLCONF before its SYNC, and the
replication stream they are fed after their snapshot.

The stream is made of the keyspace's changes (``ChangeHook`` calls ``changed`` for every key a
local or replicated batch changes, expiry and eviction deletions included, and for flushes),
collected per event-loop turn with each key once, then sent in order as commands a Redis 7.0
replica applies: ``SELECT`` when the database changes, for a key its resulting state as
``RESTORE key <abs-ms or 0> <payload> REPLACE ABSTTL`` (its DUMP payload) or ``DEL key`` when it
is gone, ``FLUSHDB``/``FLUSHALL`` for flushes (a SWAPDB is its flushes and re-creations). A key
changed several times in one turn is sent once, in its final state: the replica sees this
region's converged state, turn by turn, not each command. ``PING`` every
``repl-ping-replica-period`` seconds, as Redis. Function libraries (which signal no key change)
are compared with what was sent every 100 ms and at each batch, and sent whole when they
changed (``FUNCTION RESTORE <payload> FLUSH``). ``offset`` counts the stream's bytes (INFO's
``master_repl_offset``); replicas acknowledge offsets with ``REPLCONF ACK``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crdt.types.library import registry as library_registry
from server.rdb.functions import dump_libraries
from server.rdb.objects import DUMPERS, dump_payload

if TYPE_CHECKING:
    from server.app import Server
    from server.connection import Client
    from server.replicas.link import ReplicaLink


@dataclass
class ReplConf:
    """replconfCommand's settings of one connection (a client's slave_* fields)."""

    listening_port: int = 0
    ip_address: bytes | None = None
    capa_eof: bool = False
    capa_psync2: bool = False
    rdb_only: bool = False
    exclude_data: bool = False  # REPLCONF rdb-filter-only: SLAVE_REQ_RDB_EXCLUDE_DATA
    exclude_functions: bool = False  # ... SLAVE_REQ_RDB_EXCLUDE_FUNCTIONS

    @property
    def filtered(self) -> bool:
        return self.exclude_data or self.exclude_functions


def command(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


PING = command(b"PING")
TICK_S = 0.1
# A database changed as a whole (a state merge) with more keys than this: replicas resync
# in full (sliced) instead of getting every key in one turn.
RESEND_MAX = 10_000
GETACK = command(b"REPLCONF", b"GETACK", b"*")


class Replicas:
    """``confs``: REPLCONF settings of connections that are not replicas yet, by client id
    (forgotten when the client is gone); ``links``: the replicas, in attach order;
    ``pending``: the (db, key) changed this turn ((db, None): a flush; db -1: every database)."""

    def __init__(self, server: Server) -> None:
        self.server: Any = server
        self.confs: dict[int, ReplConf] = {}
        self.links: list[ReplicaLink] = []
        self.full_syncs = 0  # INFO stats sync_full
        self.partial_errors = 0  # ... sync_partial_err: a PSYNC that named a replid
        self.offset = 0  # bytes of replication stream made (master_repl_offset)
        self.pending: dict[tuple[int, bytes | None], None] = {}
        self.seldb = -1  # the database the stream's last SELECT chose (-1: SELECT first)
        self._scheduled = False
        self._tick: asyncio.TimerHandle | None = None
        self._ticks = 0
        self.fn_version = -1  # the function libraries' version the stream has sent

    # -- REPLCONF --------------------------------------------------------------------------
    def conf(self, client: Client) -> ReplConf:
        conf = self.confs.get(client.id)
        if conf is None:
            clients = self.server.clients
            for cid in [cid for cid in self.confs if cid not in clients]:
                del self.confs[cid]  # connections gone since their REPLCONF
            conf = self.confs[client.id] = ReplConf()
        return conf

    def take_conf(self, client: Client) -> ReplConf:
        return self.confs.pop(client.id, None) or ReplConf()

    # -- replicas --------------------------------------------------------------------------
    def attach(self, link: ReplicaLink) -> int:
        """A full resync starts now, at the offset returned (+FULLRESYNC's): what the stream
        carries from here on is kept for the replica until its snapshot is loaded, and starts
        with a SELECT. (Called by SYNC itself, before the snapshot is made: whatever changes
        from here on is in the stream, so the replica ends with the current state whichever
        value of a key the snapshot caught.)"""
        self.flush()
        self.seldb = -1
        self.fn_version = library_registry(self.server.ks).version  # (in the snapshot)
        self.links.append(link)
        if self._tick is None:
            self._ticks = 0
            self._schedule_tick()
        return self.offset

    def detach(self, link: ReplicaLink) -> None:
        if link in self.links:
            self.links.remove(link)
        if not self.links:
            self.pending.clear()
            if self._tick is not None:
                self._tick.cancel()
                self._tick = None

    def is_replica(self, client: Client) -> bool:
        return any(link.client is client for link in self.links)

    def online(self) -> list[ReplicaLink]:
        return [link for link in self.links if link.state == "online"]

    def acked(self, offset: int) -> int:
        """WAIT: online replicas that acknowledged ``offset``."""
        return sum(1 for link in self.links if link.state == "online" and link.ack_offset >= offset)

    def request_acks(self) -> None:
        """WAIT blocks: ask every replica for its offset now (Redis's GETACK)."""
        if self.online():
            self.flush()
            self.feed(GETACK)

    # -- the stream ------------------------------------------------------------------------
    def changed(self, db: int, key: bytes | None) -> None:
        """The keyspace changed ``key`` of ``db`` (None: flushed ``db``, -1 every db)."""
        pending = self.pending
        if key is None:  # what it flushes need not be sent: drop it, then the flush
            if db < 0:
                pending.clear()
            else:
                for k in [k for k in pending if k[0] == db]:
                    del pending[k]
        pending[(db, key)] = None
        if not self._scheduled:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
                self._scheduled = True
            except RuntimeError:  # no loop (in-process tests): until flush() is called
                pass

    def flush(self) -> None:
        """This turn's changes, as commands, to every replica."""
        self._scheduled = False
        if not self.pending:
            return
        pending, self.pending = self.pending, {}
        if not self.links:
            return
        ks = self.server.ks
        now = int(time.time() * 1000)
        out: list[bytes] = [self.functions_changed()]
        for db, key in pending:
            if key is not None:
                self._select(db, out)
                out.append(self._key_state(db, key, now))
                continue
            # A flush, or a state merge's swap (the same signal: the database changed as a
            # whole): the flush, then whatever the database holds that is not sent anyway
            if db < 0:
                out.append(command(b"FLUSHALL"))
            dbs = range(len(ks.dbs)) if db < 0 else (db,)
            extra = [(i, k) for i in dbs for k in ks.dbs[i].entries if (i, k) not in pending]
            if len(extra) > RESEND_MAX:  # a large merge: a new full sync, made in slices
                self.server.log.warning("The keyspace changed as a whole (%d keys): replicas "
                                        "disconnected to resynchronize", len(extra))
                for link in list(self.links):
                    link.drop()
                return
            if db >= 0:
                self._select(db, out)
                out.append(command(b"FLUSHDB"))
            for i, k in extra:
                self._select(i, out)
                out.append(self._key_state(i, k, now))
        self.feed(b"".join(out))

    def _select(self, db: int, out: list[bytes]) -> None:
        if db != self.seldb:
            out.append(command(b"SELECT", b"%d" % db))
            self.seldb = db

    def _key_state(self, db: int, key: bytes, now: int) -> bytes:
        """The command that gives a replica's ``key`` our state: RESTORE, or DEL when gone."""
        d = self.server.ks.dbs[db]
        entry = d.peek(key) if d.exists(key, now) else None
        content = entry.content() if entry is not None else None
        if content is None or content.type_name not in DUMPERS:
            return command(b"DEL", key)
        at = d.expires.get(key, 0)
        return command(b"RESTORE", key, b"%d" % at, dump_payload(content), b"REPLACE", b"ABSTTL")

    def feed(self, data: bytes) -> None:
        if not data:
            return
        self.offset += len(data)
        for link in self.links:
            link.feed(data)

    def functions_changed(self) -> bytes:
        """FUNCTION LOAD/DELETE/FLUSH/RESTORE (local or from a peer) signal no key change:
        when the libraries' version moved, the whole set, as ``FUNCTION RESTORE <payload>
        FLUSH`` (the libraries are replaced by exactly these)."""
        reg = library_registry(self.server.ks)
        if reg.version == self.fn_version:
            return b""
        self.fn_version = reg.version
        payload = dump_libraries([code for _name, code in reg.newest_first()])
        return command(b"FUNCTION", b"RESTORE", payload, b"FLUSH")

    def _schedule_tick(self) -> None:
        try:
            self._tick = asyncio.get_running_loop().call_later(TICK_S, self._on_tick)
        except RuntimeError:  # no loop (in-process tests)
            self._tick = None

    def _on_tick(self) -> None:
        """Every TICK_S while replicas are attached: library changes, and PING every
        ``repl-ping-replica-period`` seconds (replicationCron)."""
        self._tick = None
        if not self.links:
            return
        self.feed(self.functions_changed())
        self._ticks += 1
        period = max(1, int(self.server.config.get("repl-ping-replica-period")))
        if self._ticks >= period / TICK_S:
            self._ticks = 0
            self.flush()
            self.feed(PING)
        self._schedule_tick()
