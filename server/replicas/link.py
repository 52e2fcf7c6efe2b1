"""A connection that became a Redis replica with SYNC or PSYNC (replication.c's full resync).

The snapshot is made a piece (``Snapshot.chunks``: 256 keys) per event-loop turn, and only
while the socket takes it (``pause_writing``/``resume_writing``), so a large keyspace never
stalls other clients. Two transfer forms, as Redis:

* the EOF-marker form (diskless, for a replica that sent ``REPLCONF capa eof``, used when
  ``repl-diskless-sync`` is yes or the RDB is filtered): ``$EOF:<40 random hex>\\r\\n``, the
  pieces as they are made, then the same 40 characters;
* the bulk form: the pieces are kept until the file is complete, then ``$<length>\\r\\n`` and
  the file; meanwhile a newline every second keeps the replica's link alive (Redis sends those
  while a disk BGSAVE runs).

An ``rdb-only`` replica (``redis-cli --rdb``) is disconnected once its file is sent. Any other
stays attached (``online``) until it disconnects, fed the replication stream
(``registry.Replicas``) from the offset its snapshot stands for; what it sends is read only for
``REPLCONF ACK <offset>`` (other commands of a replica get no reply in Redis either).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import hiredis

from server.rdb.snapshot import ReplInfo, Snapshot
from server.scripting.functions import current

if TYPE_CHECKING:
    from server.connection import Client
    from server.replicas.registry import ReplConf, Replicas

KEEPALIVE_S = 1.0


class ReplicaLink(asyncio.Protocol):
    def __init__(self, replicas: Replicas, client: Client, conf: ReplConf, eof: bool) -> None:
        self.replicas = replicas
        self.server: Any = replicas.server
        self.client = client
        self.conf = conf
        self.eof = eof
        self.offset = 0  # the replication offset the snapshot stands for (``Replicas.attach``)
        self.streaming = False  # the stream goes straight to the socket (else to ``backlog``)
        self.backlog: list[bytes] = []  # the stream since ``offset``, until the snapshot is in
        self.backlog_bytes = 0
        self._soft_since: float | None = None
        self.state = "wait_bgsave"  # then "send_bulk" (bulk form), "online" or "rdb_transmitted"
        self.transport: Any = None
        self.paused = False
        self.closed = False
        self.mark = os.urandom(20).hex().encode()  # RDB_EOF_MARK_SIZE = 40
        self.ack_offset = 0
        self.ack_time = time.time()
        self.started = time.monotonic()
        self.reader = hiredis.Reader()
        self._pieces: Iterator[bytes] | None = None
        self._bulk: list[bytes] = []
        self._handle: asyncio.Handle | None = None
        self._keepalive_at = time.monotonic() + KEEPALIVE_S
        self.snapshot: Snapshot | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if self.closed:  # dropped before the hand-over
            self.transport.abort()
            return
        server = self.server
        codes = [] if self.conf.exclude_functions else [lib.code for lib in current(server).libraries.values()]
        self.snapshot = Snapshot(server.ks, codes, server.memory.used(),
                                 ReplInfo(0, server.run_id, self.offset),
                                 functions_only=self.conf.exclude_data,
                                 clock=lambda: int(time.time() * 1000))
        self._pieces = self.snapshot.chunks()
        server.log.info("Replica %s asks for synchronization", self.name())
        if self.eof:
            self._write(b"$EOF:" + self.mark + b"\r\n")
        self._schedule()

    def _write(self, data: bytes) -> None:
        self.server.stats.repl_output_bytes += len(data)  # INFO total_net_repl_output_bytes
        self.transport.write(data)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self._pieces is not None and self._handle is None:
            self._schedule()

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while True:
            try:
                argv = self.reader.gets()
            except hiredis.ProtocolError:
                self.transport.close()
                return
            if argv is False:
                return
            if isinstance(argv, list) and len(argv) >= 3 and isinstance(argv[0], bytes) \
                    and argv[0].lower() == b"replconf" and bytes(argv[1]).lower() == b"ack":
                self._ack(argv[2])

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._pieces = None
        self._bulk = []
        self.backlog = []
        self.replicas.detach(self)
        self.server.log.info("Connection with replica %s lost.", self.name())
        self.client.connection_lost(exc)  # the server forgets the client

    # -- the transfer ------------------------------------------------------------------------
    def _schedule(self) -> None:
        self._handle = asyncio.get_running_loop().call_soon(self._step)

    def _step(self) -> None:
        self._handle = None
        pieces = self._pieces
        if self.closed or pieces is None or self.paused:
            return  # resume_writing continues
        try:
            piece = next(pieces)
        except StopIteration:
            self._finish()
            return
        if self.eof:
            self._write(piece)
        else:
            self._bulk.append(piece)
            now = time.monotonic()
            if now >= self._keepalive_at:
                self._keepalive_at = now + KEEPALIVE_S
                self._write(b"\n")
        self._schedule()

    def _finish(self) -> None:
        self._pieces = None
        if self.eof:
            self._write(self.mark)
        else:
            self.state = "send_bulk"
            data = b"".join(self._bulk)
            self._bulk = []
            self._write(b"$%d\r\n" % len(data))
            self._write(data)
        if self.conf.rdb_only:
            self.state = "rdb_transmitted"
            self.server.log.info("RDB transfer completed, rdb only replica (%s) should be disconnected asap",
                                 self.name())
            self.transport.close()  # after what is buffered is written
            return
        self.state = "online"
        self.ack_time = time.time()
        self.server.log.info("Synchronization with replica %s succeeded", self.name())
        if not self.eof:
            self._start_stream()
        # EOF form: the stream starts at the replica's first ACK, so that nothing follows the
        # EOF mark before the replica has found it (Redis's repl_start_cmd_stream_on_ack)

    def _start_stream(self) -> None:
        self.streaming = True
        backlog, self.backlog = self.backlog, []
        self.backlog_bytes = 0
        if backlog:
            self._write(b"".join(backlog))

    def feed(self, data: bytes) -> None:
        """Stream bytes for this replica (Replicas.feed)."""
        if self.closed or self.conf.rdb_only:
            return
        if self.streaming:
            self._write(data)
        else:
            self.backlog.append(data)
            self.backlog_bytes += len(data)
        self._check_limits()

    def drop(self) -> None:
        """Disconnect now (the replica reconnects and gets a new full sync)."""
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.abort()
            else:  # not handed over yet: connection_made closes it
                self.client.kill()

    def _check_limits(self) -> None:
        """client-output-buffer-limit's replica class (256mb 64mb 60 by default): what the
        replica has not taken yet, its snapshot's backlog included, as Redis counts it."""
        hard, soft, soft_seconds = self.server.config.client_output_buffer_limit["replica"]
        buffered = self.transport.get_write_buffer_size() if self.transport is not None else 0
        used = buffered + self.backlog_bytes
        now = time.monotonic()
        over = bool(hard and used >= hard)
        if not over and soft and used >= soft:
            if self._soft_since is None:
                self._soft_since = now
            over = now - self._soft_since > soft_seconds
        elif not over:
            self._soft_since = None
        if over:
            self.server.log.warning("Client %s scheduled to be closed ASAP for overcoming of output "
                                    "buffer limits.", self.name())
            self.drop()

    def _ack(self, arg: Any) -> None:
        try:
            offset = int(arg)
        except (TypeError, ValueError):
            return  # Redis ignores an ACK it cannot parse
        self.ack_offset = max(self.ack_offset, offset)
        self.ack_time = time.time()
        if self.state == "online" and not self.streaming:
            self._start_stream()
        self.server.poll_waiters()  # WAIT may be satisfied now

    # -- what INFO and ROLE show -------------------------------------------------------------
    def ip(self) -> str:
        if self.conf.ip_address is not None:
            return self.conf.ip_address.decode("utf-8", "replace")
        return self.client.addr.rpartition(":")[0]

    def port(self) -> int:
        return self.conf.listening_port

    def name(self) -> str:
        return f"{self.ip()}:{self.port()}"
