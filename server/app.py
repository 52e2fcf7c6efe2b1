"""The server: listening sockets, the keyspace, clients, the active expire cycle, shutdown."""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import os
import random
import signal
import socket
import ssl
import time
from collections import deque
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from crdt.effects import Batch, Delete
from crdt.keyspace import Keyspace
from crdt.packing import Compactor
from crdt.types import stream_nodes
from replication.facade import Replication
from replication.sink import ReplicationSink
from server import errors, memtrim, tls
from server.access import AccessStats
from server.acl.hooks import refresh_auth
from server.acl.store import Acl, AclConfigError
from server.acl.table import extra_entries, load_table
from server.blocking import Blocked
from server.changes import ChangeHook
from server.client_eviction import ClientEviction
from server.clients_cron import IdleClients
from server.commands.client import client_info_line
from server.commands.registry import EXTRA_SPECS, build_table
from server.config import LOG_LEVELS, Config, ConfigSetError
from server.connection import Client
from server.diskguard import DiskGuard
from server.keyevents import Notifier, note_expired
from server.memory import Memory
from server.monitor import Monitor
from server.oom_score import FAILED as OOM_FAILED
from server.oom_score import OomScore
from server.outbuf import OutputLimits
from server.pause import Pause
from server.persistence import Persistence
from server.pubsub import PubSub
from server.replicas.registry import Replicas
from server.sweep import SweepPacer
from server.tracking import Tracking

log = logging.getLogger("activekv")

# The server process collects its young generation every 10,000 net allocations instead of 700:
# nearly every write allocates tracked objects that live on as data, and rescanning them that
# often cost ~8% of a SET or HSET (make bench-cpu, 200k requests, pipeline 16, two peers: SET
# 14.3 -> 13.1 µs, HSET 17.0 -> 16.0; with the collector off, 13.3). Cyclic garbage waits a
# little longer; refcounting still frees everything else at once.
GC_THRESHOLDS = (10_000, 10, 10)

# Active expiry, as Redis's activeExpireCycle: sample keys with a TTL, remove the expired ones,
# repeat while more than a quarter of the sample was expired, within a time budget.
EXPIRE_SAMPLE = 20

# Redis's bind wildcards: every IPv4 address, every IPv6 address.
_WILDCARDS = {"*": "0.0.0.0", "::*": "::"}
EXPIRE_BUDGET_S = 0.025
# Packing small collections at rest (crdt/packing.py): per expire-cycle tick, at most this many
# keys visited, in the time server/sweep.py allows.
COMPACT_KEYS = 20_000


@dataclass
class Stats:
    connections: int = 0
    rejected_connections: int = 0
    commands: int = 0
    rejected_calls: int = 0
    error_replies: int = 0
    protocol_errors: int = 0
    unexpected_errors: int = 0  # a handler raised something that is not an Error reply
    expired_keys: int = 0
    expired_stale_perc: float = 0.0  # the expire cycle's running share of expired samples
    expired_time_cap_reached: int = 0  # cycles that stopped at their time budget
    expire_cycle_s: float = 0.0  # time the expire cycle took
    repl_output_bytes: int = 0  # written to Redis replicas (server/replicas/link.py)
    evicted_keys: int = 0  # maxmemory-policy (server/eviction.py)
    dump_payload_sanitizations: int = 0  # not counted: RESTORE always checks as sanitize yes
    obuf_disconnections: int = 0  # client-output-buffer-limit (server/outbuf.py)
    evicted_clients: int = 0  # maxmemory-clients (server/client_eviction.py)
    lazyfreed_objects: int = 0  # what Redis would have freed lazily (server/lazyfree.py)
    keyspace_hits: int = 0
    keyspace_misses: int = 0
    batches: int = 0
    effects: int = 0
    gc_collected: int = 0
    net_input_bytes: int = 0
    net_output_bytes: int = 0
    reads_processed: int = 0  # INFO total_reads_processed: reads from client sockets
    writes_processed: int = 0  # INFO total_writes_processed: writes to client sockets
    error_codes: dict[str, int] = field(default_factory=dict)  # INFO errorstats

    def add_error(self, message: str) -> None:
        """Count an error reply, by its code (the first word, as Redis's errorstats)."""
        self.error_replies += 1
        space = message.find(" ", 0, 32)
        code = message[:space] if space > 0 else "ERR"
        self.error_codes[code] = self.error_codes.get(code, 0) + 1

    def reset(self) -> None:
        """CONFIG RESETSTAT: the counters Redis's resetServerStats clears (not ours:
        batches/effects describe the replication stream)."""
        keep = (self.batches, self.effects, self.gc_collected)
        self.__init__()  # type: ignore[misc]
        self.batches, self.effects, self.gc_collected = keep


# Instantaneous metrics, as Redis's trackInstantaneousMetric: a sample every 100 ms, the
# average rate over the last 16 samples.
METRIC_SAMPLES = 16
METRIC_PERIOD_S = 0.1


class Server:
    def __init__(self, config: Config, sink: ReplicationSink | None = None) -> None:
        self.config = config
        self.log = log
        self.ks = Keyspace(config.region, config.databases)
        stream_nodes.configure(config.stream_node_max_entries, config.stream_node_max_bytes)
        self.access = AccessStats(self)  # OBJECT FREQ/IDLETIME (server/access.py)
        self.replicas = Replicas(self)  # stock Redis replicas, SYNC/PSYNC (server/replicas)
        self.ks.on_change = ChangeHook(self, self.access)  # what a changed key sets off
        # Without an explicit sink (tests), the region logs and replicates: replication/.
        self.replicator: Replication | None = None
        if sink is None:
            self.replicator = Replication(
                self.ks, config.region, config.dir, appendfsync=config.appendfsync,
                peers=config.peer, peer_password=config.peer_password or config.requirepass,
                peer_user=config.peer_user,
                peer_timeout_s=config.peer_timeout, log_retention_bytes=config.repl_log_retention,
                truncate_corrupt=config.oplog_truncate_corrupt,
                segment_bytes=config.repl_log_segment_size,
                snapshot_every=config.snapshot_every,
                snapshot_min_interval_s=config.snapshot_min_interval / 1000,
                on_progress=self.poll_waiters,
            )
            sink = self.replicator.sink
        self.tls_context = tls.server_context(config) if config.tls_port else None
        if self.replicator is not None and config.tls_replication:
            self.replicator.use_tls(tls.client_context(config))
        self.sink: ReplicationSink = sink
        self.pubsub = PubSub(self)
        self.notifier = Notifier(self)
        self.monitors: dict[Client, None] = {}  # clients in MONITOR mode
        self.tracking = Tracking(self)
        self.ks.on_events = self.notifier.fire_replicated  # replicated batches' notifications
        if self.replicator is not None:
            self.replicator.on_publish(self.deliver_remote)
        self.waiters: dict[Blocked, None] = {}  # in the order they blocked
        self._key_waiters: dict[tuple[int, bytes], dict[Blocked, None]] = {}
        self.ready_keys: dict[tuple[int, bytes], None] = {}  # keys with waiters that changed
        self._serving = False
        self._reply_queue: list[Client] = []
        self.table = build_table()
        self.outbuf = OutputLimits(self)
        self.memory = Memory(self)
        self.ks.on_packed = self.memory.on_change  # keys packed at write time (crdt/packing.py)
        self.acl = Acl(load_table(extra_entries(EXTRA_SPECS)), config.requirepass, config.acllog_max_len,
                       config.acl_pubsub_default)
        self.acl.client_info = client_info_line
        self.acl.filename = config.aclfile
        self.acl.load_config_users(config.acl_users)
        if config.aclfile:
            problem, _ = self.acl.load_file()
            if problem is not None:
                raise AclConfigError(f"Aborting startup because of ACL errors: {problem}")
        self.clients: dict[int, Client] = {}
        self.stats = Stats()
        self.monitor = Monitor(config)  # commandstats, latencystats, SLOWLOG, LATENCY
        self.persistence = Persistence(self)  # SAVE/BGSAVE, save points, INFO persistence
        self.disk = DiskGuard(self)  # MISCONF while the disk fails (server/diskguard.py)
        self.active_expire = True  # DEBUG SET-ACTIVE-EXPIRE
        self.script_disable_deny = False  # DEBUG SET-DISABLE-DENY-SCRIPTS
        self.skip_checksum_validation = False  # DEBUG SET-SKIP-CHECKSUM-VALIDATION (RESTORE)
        self.pause = Pause()  # CLIENT PAUSE
        self.oom_score = OomScore()  # oom-score-adj (server/oom_score.py)
        if config.get("oom-score-adj") != "no":
            self.oom_score.configure(config)
        self.idle_clients = IdleClients()  # the timeout option
        self.client_eviction = ClientEviction(self)  # maxmemory-clients
        self.client_eviction.configure()
        self.start_time = time.time()
        self.run_id = os.urandom(20).hex()
        self._client_ids = 0
        self._watchers: dict[tuple[int, bytes], set[Client]] = {}
        self._servers: list[asyncio.AbstractServer] = []
        self._tls_servers: list[asyncio.AbstractServer] = []  # tls-port (CONFIG SET port/bind keep them)
        self._stopping: asyncio.Event | None = None
        self._expire_cursor = [0] * config.databases
        self.compactor = Compactor()
        self.sweep = SweepPacer()
        self._samples: deque[tuple[float, int, int, int, int]] = deque(maxlen=METRIC_SAMPLES + 1)
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
        if self.client_eviction.limit:
            self.client_eviction.forget(client)

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

    # -- pub/sub ----------------------------------------------------------------------------
    def forward_publish(self, shard: bool, channel: bytes, message: bytes) -> None:
        """A local PUBLISH/SPUBLISH goes to every other region's subscribers too."""
        if self.replicator is not None:
            self.replicator.publish(shard, channel, message)

    def deliver_remote(self, shard: bool, channel: bytes, message: bytes) -> None:
        """A peer region forwarded a PUBLISH/SPUBLISH: deliver it to our subscribers."""
        if shard:
            self.pubsub.spublish(channel, message)
        else:
            self.pubsub.publish(channel, message)

    # -- the write pipeline ----------------------------------------------------------------
    def ship(self, batch: Batch) -> None:
        self.stats.batches += 1
        self.stats.effects += len(batch.effects)
        self.sink.append(batch)

    # -- replies ---------------------------------------------------------------------------
    def queue_reply(self, client: Client) -> None:
        """Replies go out once per loop iteration, after one op log flush for all of them."""
        self._reply_queue.append(client)
        if len(self._reply_queue) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.write_replies)
            except RuntimeError:  # no loop (in-process tests): write at once
                self.write_replies()

    def write_replies(self) -> None:
        queue, self._reply_queue = self._reply_queue, []
        self.sink.flush()  # the op log reaches the file before any client hears "OK"
        self.disk.write_replies(queue)  # (with appendfsync always: once it did)

    # -- blocking commands -----------------------------------------------------------------
    def block_waiter(self, waiter: Blocked) -> None:
        self.waiters[waiter] = None
        for k in waiter.keys:
            self._key_waiters.setdefault(k, {})[waiter] = None

    def unblock_waiter(self, waiter: Blocked) -> None:
        if waiter not in self.waiters:
            return
        del self.waiters[waiter]
        for k in waiter.keys:
            on_key = self._key_waiters.get(k)
            if on_key is not None:
                on_key.pop(waiter, None)
                if not on_key:
                    del self._key_waiters[k]

    def _finish(self, waiter: Blocked, reply: Any) -> None:
        self.unblock_waiter(waiter)
        waiter.client.unblock(reply)

    def poll_waiters(self) -> None:
        self.serve_ready()
        if not self.waiters:
            return
        now = time.monotonic()
        for waiter in list(self.waiters):
            if waiter in self.waiters:
                done, reply = waiter.poll(now)
                if done:
                    self._finish(waiter, reply)

    def serve_ready(self) -> None:
        """After a command or a replicated batch: the waiters on keys that changed, key by key
        in the order they became ready, first blocked first served on each (a served pop may
        make more keys ready: BLMOVE's destination)."""
        if self._serving or not self.ready_keys:
            return
        self._serving = True
        try:
            while self.ready_keys:
                ready, self.ready_keys = self.ready_keys, {}
                now = time.monotonic()
                for key in ready:
                    for waiter in list(self._key_waiters.get(key, ())):
                        if waiter not in self.waiters:
                            continue
                        waiter.ready_key = key
                        # the served client is the current one (Redis's current_client): a
                        # key it tracks and its command changes is invalidated after its reply
                        tracking = self.tracking
                        running, tracking.current = tracking.current, waiter.client
                        try:
                            done, reply = waiter.poll(now)
                        finally:
                            waiter.ready_key = None
                            tracking.current = running
                        if done:
                            self._finish(waiter, reply)
        finally:
            self._serving = False

    async def _replication_loop(self) -> None:
        """Every 10 ms: timeouts of blocked clients; every 100 ms: the replicator's periodic
        work; every second: fsync (everysec) in a thread, so the loop never waits on the disk."""
        rep = self.replicator
        loop = asyncio.get_running_loop()
        n = 0
        fsyncing: asyncio.Future[None] | None = None
        while True:
            await asyncio.sleep(0.01)
            n += 1
            self.tick()
            self.poll_waiters()
            self.tracking.limit_keys()
            if n % 10 == 0:
                self.outbuf.tick()
                self.memory.tick()
                self.client_eviction.tick()
            if rep is None or n % 10:
                continue
            try:
                self.stats.gc_collected += rep.tick()
                self.persistence.tick()
                self.disk.tick()
                if n % 100 == 0 and rep.fsync_every_second and (fsyncing is None or fsyncing.done()):
                    fsyncing = loop.run_in_executor(None, rep.fsync)
            except Exception:
                log.exception("replication periodic work failed")

    # -- expiry ----------------------------------------------------------------------------
    def expire_cycle(self) -> None:
        started = time.monotonic()
        deadline = started + EXPIRE_BUDGET_S
        now = self.tick()
        ks = self.ks
        sampled = found = 0
        capped = False
        for dbi, db in enumerate(ks.dbs):
            while db.expires:
                if time.monotonic() >= deadline:
                    capped = True  # still many expired keys: the next cycle goes on
                    break
                size = len(db.expires)
                start = self._expire_cursor[dbi] % size
                sample = list(islice(db.expires.items(), start, start + EXPIRE_SAMPLE))
                self._expire_cursor[dbi] = start + len(sample)
                expired = [k for k, at in sample if at <= now]
                sampled += len(sample)
                found += len(expired)
                for key in expired:
                    self.remove_expired(dbi, key)
                batch = ks.commit()
                if batch is not None:
                    self.ship(batch)
                    if batch.events:
                        self.notifier.fire(batch.events)
                if len(expired) * 4 <= len(sample):
                    break
        # INFO stats, as Redis's activeExpireCycle keeps them
        st = self.stats
        st.expired_stale_perc = (found / sampled if sampled else 0.0) * 0.05 + st.expired_stale_perc * 0.95
        st.expired_time_cap_reached += capped
        st.expire_cycle_s += time.monotonic() - started

    def expire_if_needed(self, db: int, key: bytes) -> None:
        """Before a local write: remove an expired key's content (same batch as the write)."""
        database = self.ks.dbs[db]
        if database.is_expired(key, self.ks.now_ms):
            self.remove_expired(db, key)

    def remove_expired(self, db: int, key: bytes) -> None:
        """Remove a key whose time passed: counted, "expired" fired, the Delete emitted (into
        the open batch)."""
        self.stats.expired_keys += 1
        note_expired(self, db, key)
        self.ks.emit(Delete(db, key))

    def reclaim_expired(self, db: int, key: bytes) -> None:
        """A read found ``key`` past its time: remove it now, as Redis's lookups do
        (expireIfNeeded: DBSIZE stops counting it, "expired" fires), except while clients are
        paused (Redis expires nothing then)."""
        if not self.pause.active():
            self.remove_expired(db, key)

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(min(1 / max(1, self.config.hz), METRIC_PERIOD_S))
            self.sample_metrics()
            self.idle_clients.tick(self)
            if not self.active_expire or self.pause.active():
                continue
            try:
                started = time.monotonic()
                self.expire_cycle()
                self.monitor.latency_sample("expire-cycle", time.monotonic() - started)
                c = self.compactor
                rep = self.replicator
                activity = self.stats.commands + (rep.activity if rep is not None else 0)
                budget = self.sweep.budget(activity, c.passes, c.packed)
                if budget:
                    passes = c.passes
                    c.run(self.ks.dbs, COMPACT_KEYS, time.monotonic() + budget, time.monotonic,
                          self.memory.on_change if self.memory.tracking else None)
                    if c.passes != passes:  # a pass ended: the keys are at rest
                        memtrim.release(c.packed)
            except Exception:  # never let the cycle die silently
                log.exception("active expire cycle failed")

    # -- INFO's instantaneous metrics ------------------------------------------------------
    def sample_metrics(self) -> None:
        now = time.monotonic()
        samples = self._samples
        if samples and now - samples[-1][0] < METRIC_PERIOD_S:
            return
        st = self.stats
        samples.append((now, st.commands, st.net_input_bytes, st.net_output_bytes, st.repl_output_bytes))

    def reset_metrics(self) -> None:
        self._samples.clear()

    def instantaneous(self) -> tuple[int, float, float]:
        """(ops/sec, input kbps, output kbps) over the recent samples."""
        samples = self._samples
        if len(samples) < 2:
            return 0, 0.0, 0.0
        (t0, c0, i0, o0, _), (t1, c1, i1, o1, _) = samples[0], samples[-1]
        dt = t1 - t0
        if dt <= 0:
            return 0, 0.0, 0.0
        return int((c1 - c0) / dt), (i1 - i0) / dt / 1024, (o1 - o0) / dt / 1024

    def instantaneous_repl_kbps(self) -> float:
        """Output to Redis replicas, kbps over the recent samples."""
        samples = self._samples
        dt = samples[-1][0] - samples[0][0] if len(samples) >= 2 else 0.0
        return (samples[-1][4] - samples[0][4]) / dt / 1024 if dt > 0 else 0.0

    # -- CONFIG SET side effects -----------------------------------------------------------
    def apply_config(self, config: Config, changed: list[str]) -> None:
        """Act on options CONFIG SET changed (raise ConfigSetError to undo them all)."""
        if "dir" in changed:  # only with enable-protected-configs: the data directory is fixed
            raise ConfigSetError(errors.CONFIG_SET_FAILED % ("dir", errors.CONFIG_SET_DIR_REASON))
        if "port" in changed or "bind" in changed:
            self.rebind(config.bind, config.port, "port" if "port" in changed else "bind")
        if "bind" in changed and self.tls_context is not None and "tls-port" not in changed:
            self.rebind(config.bind, config.tls_port, "tls-port", self.tls_context)
        if "proto-max-bulk-len" in changed or "client-query-buffer-limit" in changed:
            for client in self.clients.values():
                client.reader.proto_max_bulk_len = config.proto_max_bulk_len
                client.reader.query_buffer_limit = config.client_query_buffer_limit
        if any(name.startswith("tls-") for name in changed):
            tls.reconfigure(self, config, [n for n in changed if n.startswith("tls-")])
        if "maxmemory" in changed or "maxmemory-policy" in changed:
            self.memory.configure(config_set=True)
        if "maxmemory-clients" in changed or "maxmemory" in changed:
            self.client_eviction.configure()
        if "requirepass" in changed:
            self.acl.set_requirepass(config.requirepass)
            refresh_auth(self)
        if "acllog-max-len" in changed:
            self.acl.log.max_len = config.acllog_max_len
        if "acl-pubsub-default" in changed:
            self.acl.settings.pubsub_all = config.acl_pubsub_default == "allchannels"
        if "appendfsync" in changed and self.replicator is not None:
            self.replicator.set_appendfsync(config.appendfsync)
        if "stream-node-max-entries" in changed or "stream-node-max-bytes" in changed:
            stream_nodes.configure(config.stream_node_max_entries, config.stream_node_max_bytes)
        if "loglevel" in changed:
            logging.getLogger("activekv").setLevel(LOG_LEVELS.get(config.loglevel, logging.INFO))
        oom = [n for n in changed if n in ("oom-score-adj", "oom-score-adj-values")]
        if oom and not self.oom_score.configure(config):
            raise ConfigSetError(errors.CONFIG_SET_FAILED % (oom[0], OOM_FAILED))

    def rebind(self, bind: list[str], port: int, option: str,
               tls_context: ssl.SSLContext | None = None) -> None:
        """Listen on ``bind``/``port`` instead (CONFIG SET port/bind; with ``tls_context``,
        the TLS listeners: tls-port), as Redis: the new sockets are bound synchronously (a
        failure leaves the old listeners and replies Redis's error), then the old listeners
        close; connected clients stay."""
        socks: list[socket.socket] = []
        try:
            for host in bind if port else []:
                host = host.removeprefix("-")  # CONFIG SET: every address must bind
                host = _WILDCARDS.get(host, host)
                family = socket.AF_INET6 if ":" in host else socket.AF_INET
                sock = socket.socket(family, socket.SOCK_STREAM)
                socks.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if option == "tls-port":  # a new context on the same port: bound beside the old
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind((host, port))
                sock.listen(511)
                sock.setblocking(False)
        except OSError as exc:
            for sock in socks:
                sock.close()
            reason = {"port": errors.CONFIG_SET_PORT_REASON, "tls-port": errors.CONFIG_SET_TLS_PORT_REASON
                      }.get(option, errors.CONFIG_SET_BIND_REASON)
            log.warning("Failed to listen on %s port %d: %s", " ".join(bind), port, exc)
            raise ConfigSetError(errors.CONFIG_SET_FAILED % (option, reason)) from None
        if tls_context is None and option != "tls-port":
            old, self._servers = self._servers, []
        else:
            old, self._tls_servers = self._tls_servers, []
        for srv in old:
            srv.close()
        loop = asyncio.get_running_loop()
        for sock in socks:
            loop.create_task(self._serve_socket(sock, tls_context))

    async def _serve_socket(self, sock: socket.socket, tls_context: ssl.SSLContext | None = None) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        srv = await asyncio.get_running_loop().create_server(
            lambda: Client(self), sock=sock, backlog=511, ssl=tls_context
        )
        (self._servers if tls_context is None else self._tls_servers).append(srv)

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        listeners: list[tuple[int, ssl.SSLContext | None]] = (
            [(self.config.port, None)] if self.config.port else [])  # --port 0: no plain TCP
        if self.tls_context is not None:
            listeners.append((self.config.tls_port, self.tls_context))
        for (port, ssl_context), bind_host in itertools.product(listeners, self.config.bind):
            optional, host = bind_host.startswith("-"), bind_host.removeprefix("-")
            host = _WILDCARDS.get(host, host)
            try:
                srv = await loop.create_server(
                    lambda: Client(self), host=host, port=port, ssl=ssl_context,
                    reuse_address=True, reuse_port=ssl_context is not None, backlog=511,
                )
            except OSError as exc:
                if not optional:  # Redis's "-addr": skipped when it is not available
                    raise
                log.warning("Skipping optional bind address %s: %s", host, exc)
                continue
            for sock in srv.sockets:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            (self._servers if ssl_context is None else self._tls_servers).append(srv)
        self._expire_task = loop.create_task(self._expire_loop())
        self._repl_task = loop.create_task(self._replication_loop())
        if self.replicator is not None:
            self.replicator.start()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self.request_shutdown, sig.name)
            except (NotImplementedError, RuntimeError):
                pass
        log.info(
            "activekv region %s ready to accept connections on %s port %d%s",
            self.config.region, " ".join(self.config.bind), self.config.port,
            f" tls-port {self.config.tls_port}" if self.tls_context is not None else "",
        )

    def request_shutdown(self, reason: str = "SHUTDOWN") -> None:
        log.info("Received %s, shutting down", reason)
        if self._stopping is not None:
            self._stopping.set()

    async def serve_forever(self) -> None:
        self.recover()
        await self.start()
        assert self._stopping is not None
        await self._stopping.wait()
        await self.stop()

    def recover(self) -> None:
        """Before listening: the snapshot and the op log tail rebuild the state."""
        rep = self.replicator
        if rep is None:
            return
        started = time.monotonic()
        done = rep.recover()
        if self.memory.tracking:
            self.memory.recount()
        keys = sum(len(db.entries) for db in self.ks.dbs)
        log.info("recovered %d keys (snapshot lsn %d, %d batches replayed) in %.3fs; origin %s%s",
                 keys, done.snapshot_lsn, done.replayed, time.monotonic() - started, done.origin,
                 " (new epoch after an unclean stop)" if done.unclean else "")
        # What was loaded lives until overwritten: keep the cyclic GC from rescanning it on
        # every full collection (with a million keys, ~0.2 s each). Only the young
        # generations are collected first: a full collection here cost 0.3 s of every start,
        # even empty, for the few cycles the imports left behind.
        gc.collect(1)
        gc.freeze()

    async def stop(self) -> None:
        self._expire_task.cancel()
        self._repl_task.cancel()
        if self.replicator is not None:
            await self.replicator.stop()
        for srv in self._servers + self._tls_servers:
            srv.close()
        for client in list(self.clients.values()):
            if client.transport is not None:
                client.transport.close()
        for srv in self._servers + self._tls_servers:
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
