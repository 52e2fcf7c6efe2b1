"""The server: listening sockets, the keyspace, clients, the active expire cycle, shutdown."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import socket
import time
from dataclasses import dataclass
from itertools import islice

from crdt.effects import Batch, Delete
from crdt.keyspace import Keyspace
from replication.sink import NullSink, ReplicationSink
from server.commands.registry import build_table
from server.config import Config
from server.connection import Client

log = logging.getLogger("activekv")

# Active expiry, as Redis's activeExpireCycle: sample keys with a TTL, remove the expired ones,
# repeat while more than a quarter of the sample was expired, within a time budget.
EXPIRE_SAMPLE = 20
EXPIRE_BUDGET_S = 0.025


@dataclass
class Stats:
    connections: int = 0
    rejected_connections: int = 0
    commands: int = 0
    rejected_calls: int = 0
    error_replies: int = 0
    protocol_errors: int = 0
    expired_keys: int = 0
    keyspace_hits: int = 0
    keyspace_misses: int = 0
    batches: int = 0
    effects: int = 0


class Server:
    def __init__(self, config: Config, sink: ReplicationSink | None = None) -> None:
        self.config = config
        self.log = log
        self.ks = Keyspace(config.region, config.databases)
        self.ks.on_change = self._on_change
        self.sink: ReplicationSink = sink or NullSink()
        self.table = build_table()
        self.clients: dict[int, Client] = {}
        self.stats = Stats()
        self.start_time = time.time()
        self.run_id = os.urandom(20).hex()
        self._client_ids = 0
        self._watchers: dict[tuple[int, bytes], set[Client]] = {}
        self._servers: list[asyncio.AbstractServer] = []
        self._stopping: asyncio.Event | None = None
        self._expire_cursor = [0] * config.databases
        self.tick()

    # -- time ------------------------------------------------------------------------------
    def tick(self) -> int:
        now = int(time.time() * 1000)
        self.ks.now_ms = now
        return now

    # -- clients ---------------------------------------------------------------------------
    def next_client_id(self) -> int:
        self._client_ids += 1
        return self._client_ids

    def register(self, client: Client) -> bool:
        if len(self.clients) >= self.config.maxclients:
            self.stats.rejected_connections += 1
            return False
        self.clients[client.id] = client
        self.stats.connections += 1
        return True

    def unregister(self, client: Client) -> None:
        self.clients.pop(client.id, None)
        client.unwatch_all()

    # -- WATCH -----------------------------------------------------------------------------
    def watch(self, client: Client, db: int, key: bytes) -> None:
        self._watchers.setdefault((db, key), set()).add(client)
        client.watched.add((db, key))

    def unwatch(self, client: Client) -> None:
        for k in client.watched:
            watchers = self._watchers.get(k)
            if watchers is not None:
                watchers.discard(client)
                if not watchers:
                    del self._watchers[k]

    def _on_change(self, db: int, key: bytes | None) -> None:
        if not self._watchers:
            return
        if key is not None:
            for client in self._watchers.get((db, key), ()):
                client.watch_dirty = True
            return
        for (wdb, wkey), clients in self._watchers.items():
            if db < 0 or wdb == db:
                for client in clients:
                    # Redis touches only watched keys that existed: a key missing at WATCH
                    # time that still is (else its creation made the client dirty) is not.
                    if (wdb, wkey) not in client.watch_absent:
                        client.watch_dirty = True

    # -- the write pipeline ----------------------------------------------------------------
    def ship(self, batch: Batch) -> None:
        self.stats.batches += 1
        self.stats.effects += len(batch.effects)
        self.sink.append(batch)

    # -- expiry ----------------------------------------------------------------------------
    def expire_cycle(self) -> None:
        deadline = time.monotonic() + EXPIRE_BUDGET_S
        now = self.tick()
        ks = self.ks
        for dbi, db in enumerate(ks.dbs):
            while db.expires and time.monotonic() < deadline:
                size = len(db.expires)
                start = self._expire_cursor[dbi] % size
                sample = list(islice(db.expires.items(), start, start + EXPIRE_SAMPLE))
                self._expire_cursor[dbi] = start + len(sample)
                expired = [k for k, at in sample if at <= now]
                for key in expired:
                    ks.emit(Delete(dbi, key))
                    self.stats.expired_keys += 1
                batch = ks.commit()
                if batch is not None:
                    self.ship(batch)
                if len(expired) * 4 <= len(sample):
                    break

    def expire_if_needed(self, db: int, key: bytes) -> None:
        """Before a local write: remove an expired key's content (same batch as the write)."""
        database = self.ks.dbs[db]
        if key in database.orphan_expiry or database.is_expired(key, self.ks.now_ms):
            if database.is_expired(key, self.ks.now_ms):
                self.stats.expired_keys += 1
            self.ks.emit(Delete(db, key))

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(1 / max(1, self.config.hz))
            try:
                self.expire_cycle()
            except Exception:  # never let the cycle die silently
                log.exception("active expire cycle failed")

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        for host in self.config.bind:
            srv = await loop.create_server(
                lambda: Client(self), host=host, port=self.config.port,
                reuse_address=True, backlog=511,
            )
            for sock in srv.sockets:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._servers.append(srv)
        self._expire_task = loop.create_task(self._expire_loop())
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self.request_shutdown, sig.name)
            except (NotImplementedError, RuntimeError):
                pass
        log.info(
            "activekv region %s ready to accept connections on %s port %d",
            self.config.region, " ".join(self.config.bind), self.config.port,
        )

    def request_shutdown(self, reason: str = "SHUTDOWN") -> None:
        log.info("Received %s, shutting down", reason)
        if self._stopping is not None:
            self._stopping.set()

    async def serve_forever(self) -> None:
        await self.start()
        assert self._stopping is not None
        await self._stopping.wait()
        await self.stop()

    async def stop(self) -> None:
        self._expire_task.cancel()
        for srv in self._servers:
            srv.close()
        for client in list(self.clients.values()):
            if client.transport is not None:
                client.transport.close()
        for srv in self._servers:
            await srv.wait_closed()
        self.sink.close()
        log.info("activekv is now ready to exit, bye bye...")

    def random_key(self, db: int) -> bytes | None:
        database = self.ks.dbs[db]
        n = len(database.entries)
        for _ in range(100):
            if n == 0:
                return None
            key = next(islice(database.entries, random.randrange(n), None))
            if not database.is_expired(key, self.ks.now_ms):
                return key
        return None
