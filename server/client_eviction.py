"""Client eviction (Redis 7.0's ``maxmemory-clients``, ``CLIENT NO-EVICT``).

As Redis's ``evictClients``: once the memory of all normal and pub/sub clients together reaches
the limit, the clients using the most memory are closed first, one at a time, until the total
is below the limit again. Never evicted: a client with CLIENT NO-EVICT on (its memory still
counts, as in Redis), a Redis replica's connection, a connection handed over to a peer link
(neither counts either: Redis's replica/master clients are outside the normal and pub/sub
totals), a client already closing. Each eviction counts in INFO stats ``evicted_clients``.

The limit (Redis's getClientEvictionLimit): ``maxmemory-clients`` bytes, or ``N%`` of
``maxmemory`` (off while maxmemory is 0); 0 is off; a limit under 128 KB is raised to 128 KB
so that a bad setting cannot lock every client out.

What a client uses (its CLIENT LIST ``tot-mem``; :func:`memory_fields`): the query buffer
(with, for a big argument still arriving, the whole declared length: Redis allocates it as
soon as it reads the header), the held commands of a blocked client, the arguments of the
command running, the queued MULTI commands, the replies not taken by the socket yet, and
the overheads Redis 7.0 counts per watched key, subscription and tracking prefix. Redis's
fixed per-client allocations (its 16 KB reply buffer, the client struct) have no counterpart
here: an idle activekv client counts 0 bytes.

Checked where Redis checks (cheaply: one comparison when the limit is 0): after each read of
a client (its commands ran, its replies are queued), after replies are written to a client
(pub/sub pushes, tracking redirections), and on the server's 100 ms tick (output drains). A
check never runs inside a command, so the client running a command is never closed under it;
it can be evicted right after, if it is the largest, as in Redis. Totals are kept per client
and summed incrementally (a client's memory grows only through those hooks, which measure
it); the tick and every eviction first measure again the clients counted with some memory (a
stale figure never evicts anybody), and a change of the limit measures everybody.

Flow control: without eviction, a client whose replies pass the transport's high-water mark is
not read from until they drain (server/connection.py). While eviction is on, an evictable
client is read on, as Redis reads every client: its replies grow until the eviction closes it
(a client that never reads is closed, not left hanging); NO-EVICT clients, and all clients
once eviction is off again, are flow-controlled as before.
"""

from __future__ import annotations

import socket
import struct
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.app import Server
    from server.connection import Client

MIN_LIMIT = 128 * 1024  # Redis: "Don't allow a too small maxmemory-clients"
# Redis 7.0's per-item overheads in getClientMemoryUsage (64-bit): a watched key (list node +
# watchedKey), a pattern (list node), a channel (dict entry; plus 8 bytes per dict slot), a
# tracking prefix (rax node estimate).
WATCHED_KEY_BYTES = 56
PATTERN_BYTES = 24
CHANNEL_BYTES = 24
SLOT_BYTES = 8
PREFIX_BYTES = 32
LOG_OVER_EVERY_S = 1.0
# Redis's fixed reply buffer (PROTO_REPLY_CHUNK_BYTES): replies up to this size never change a
# Redis client's tot-mem (the buffer is part of its fixed size, which activekv does not count),
# so a read's replies waiting for the loop's write count only beyond it.
REPLY_BUFFER = 16 * 1024


def _reset_on_close(c: Client) -> None:
    """Close with a reset (SO_LINGER 0), as Redis's close of a client whose input it has not
    read yet: a client evicted halfway through sending a command gets "connection reset" on
    its next write or read, not an orderly end of stream (we read its bytes already)."""
    t = c.transport
    sock = t.get_extra_info("socket") if t is not None else None
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except (OSError, AttributeError):
        pass  # not a TCP socket (unix socket, TLS wrapper): an orderly close then


def effective_limit(maxmemory_clients: int, maxmemory: int) -> int:
    """Redis's getClientEvictionLimit: 0 (off), else at least 128 KB."""
    if maxmemory_clients < 0:  # -N: N% of maxmemory
        if not maxmemory:
            return 0
        limit = int(maxmemory * -maxmemory_clients / 100)
    elif maxmemory_clients > 0:
        limit = maxmemory_clients
    else:
        return 0
    return max(limit, MIN_LIMIT)


def _dict_bytes(n: int) -> int:
    """A Redis dict of ``n`` entries: the entries and its table (a power of two, at least 4)."""
    if not n:
        return 0
    slots = 4
    while slots < n:
        slots <<= 1
    return n * CHANNEL_BYTES + slots * SLOT_BYTES


def memory_fields(c: Client) -> tuple[int, int, int, int]:
    """CLIENT LIST's ``qbuf``, ``multi-mem``, ``omem`` and ``tot-mem`` of ``c`` (tot-mem is
    what client eviction measures)."""
    reader = c.reader
    running = c._running_out is not None
    # the client running this command: its whole read is still in Redis's query buffer
    qbuf = c.qbuf_batch if running else reader.pending_bytes()
    total = qbuf + reader.reserved_bytes() + c.argv_mem
    multi_mem = 0
    if c.multi is not None:
        multi_mem = sum(len(a) for _, argv in c.multi for a in argv)
    total += multi_mem
    held = c._held
    if held:
        total += sum(len(a) for argv in held for a in argv)
    t = c.transport
    omem = t.get_write_buffer_size() if t is not None else 0
    total += omem
    if not running:  # replies queued for this loop iteration's write, past Redis's buffer
        queued = len(c._out) + (len(c.stream_hold) if c.stream_hold is not None else 0)
        if queued > REPLY_BUFFER:
            total += queued - REPLY_BUFFER
    if c.watched:
        total += len(c.watched) * WATCHED_KEY_BYTES
    subs = c.subs
    if subs is not None:
        channels, patterns, shard = subs.kinds
        total += _dict_bytes(len(channels)) + len(patterns) * PATTERN_BYTES + _dict_bytes(len(shard))
    tracking = c.tracking
    if tracking is not None and tracking.prefixes:
        total += (len(tracking.prefixes) + 1) * PREFIX_BYTES
    return qbuf, multi_mem, omem, total


class ClientEviction:
    """The limit, each counted client's last measure and their sum."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.limit = 0  # bytes; 0: off (the one thing the hooks of the fast path read)
        self.total = 0
        self._mem: dict[Client, int] = {}
        self._logged_over = 0.0

    def reads_on(self, c: Client) -> bool:
        """While eviction is on, an evictable client whose replies pile up is still read from
        (Redis has no flow control: a client that does not read its replies grows until it is
        evicted); the others stop being read until the socket drains."""
        return bool(self.limit) and not c.no_evict and self._counted(c)

    def flow_changed(self) -> None:
        """The limit or a NO-EVICT flag changed: the clients whose output waits are read from
        again, or no more, as they may now."""
        for c in self.server.clients.values():
            t = c.transport
            if c.write_paused and t is not None and not c.closing:
                if self.reads_on(c):
                    t.resume_reading()
                else:
                    t.pause_reading()

    def configure(self) -> None:
        """maxmemory-clients or maxmemory changed (or the server starts): the new limit, every
        client measured. Eviction itself waits for the next check (never inside a command)."""
        config = self.server.config
        self.limit = effective_limit(config.get("maxmemory-clients"), config.maxmemory)
        self._mem.clear()
        self.total = 0
        if self.limit:
            self.measure_all()
        self.flow_changed()

    # -- measuring -----------------------------------------------------------------------
    def _counted(self, c: Client) -> bool:
        """In the normal + pub/sub totals: not a replica's connection nor a peer link."""
        t = c.transport
        if t is None or c.closing or t.get_protocol() is not c:
            return False
        replicas = self.server.replicas
        return not (replicas.links and replicas.is_replica(c))

    def update(self, c: Client) -> None:
        """Measure ``c`` again (its read or its output changed)."""
        mem = memory_fields(c)[3] if self._counted(c) else 0
        old = self._mem.pop(c, 0)
        if mem:
            self._mem[c] = mem
        self.total += mem - old

    def measure_all(self) -> None:
        mem = self._mem
        mem.clear()
        total = 0
        for c in self.server.clients.values():
            if self._counted(c):
                m = memory_fields(c)[3]
                if m:
                    mem[c] = m
                    total += m
        self.total = total

    def forget(self, c: Client) -> None:
        """``c`` is gone."""
        self.total -= self._mem.pop(c, 0)

    # -- the checks ----------------------------------------------------------------------
    def after_io(self, c: Client) -> None:
        """After a read of ``c`` (its commands ran) or a write to it."""
        self.update(c)
        if self.total >= self.limit:
            self.evict()

    def remeasure(self) -> None:
        """The clients counted with some memory, measured again (their output drains). The
        others used nothing when last measured, and a client's memory grows only through the
        hooks (its reads, writes to it), which measure it."""
        for c in list(self._mem):
            self.update(c)

    def tick(self) -> None:
        """Every 100 ms while enabled: the counted clients measured again."""
        if self.limit:
            self.remeasure()
            if self.total >= self.limit:
                self.evict()

    def evict(self) -> int:
        """Close the largest evictable clients until the total is below the limit."""
        self.remeasure()  # a stale figure must not evict anybody
        limit = self.limit
        if self.total < limit:
            return 0
        server = self.server
        candidates = sorted(
            # (a client whose commands are running now, when another one's read runs inside
            # them, e.g. a client its LPUSH unblocked, is not closed under its command)
            ((m, c) for c, m in self._mem.items() if not c.no_evict and c._running_out is None),
            key=lambda mc: mc[0], reverse=True)
        evicted = 0
        for mem, c in candidates:
            if self.total < limit:
                break
            self._evict_one(c, mem)
            evicted += 1
        if self.total >= limit:
            now = time.monotonic()
            if now - self._logged_over >= LOG_OVER_EVERY_S:
                self._logged_over = now
                server.log.warning("Over client maxmemory after evicting all evictable clients")
        return evicted

    def _evict_one(self, c: Client, mem: int) -> None:
        server = self.server
        server.log.info("Evicting client: %s", server.acl.client_info(c).rstrip("\n"))
        self.forget(c)
        server.stats.evicted_clients += 1
        if c.reader.pending_bytes() or c.reader.reserved_bytes():
            _reset_on_close(c)
        c.abort()
        server.unregister(c)  # gone from CLIENT LIST at once, as Redis's freeClient
