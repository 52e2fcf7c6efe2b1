"""What ``server/`` sees of replication: one small face over the op log and the peer links.

The server builds one ``Replication`` per process and uses only this: the sink its write path
appends committed batches to; ``recover`` before listening; ``start``/``stop`` with the event
loop; ``tick`` every ~100 ms (and ``fsync`` once a second with ``appendfsync everysec``); the
``CRDT.SYNC`` handshake (``accept_sync``, which yields the protocol the connection is handed
to); status rows for ``INFO crdt``, ``INFO replication`` and ``CRDT.PEERS``; and what ``WAIT``
waits for (``acked_by``). Pullers, streamers and the replicator's bookkeeping stay behind it.
"""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import msgpack

from crdt.clock import vv_leq
from crdt.keyspace import Keyspace

from . import snapshot
from .diskio import DiskStatus
from .oplog import SEGMENT_BYTES, OpLogCorrupt
from .peerlink import PeerLinkProtocol, accept_sync
from .puller import Puller
from .replicator import SNAPSHOT_EVERY_BATCHES, SNAPSHOT_MIN_INTERVAL_S, RecoveryError, Replicator
from .sink import ReplicationSink
from .snapshot import SnapshotError
from .streamer import Streamer

# What recovery raises for a data directory it cannot trust (the server refuses to start).
UNTRUSTED_DATA = (OpLogCorrupt, SnapshotError, RecoveryError)
# Keys whose stable replication metadata is collected per tick (Keyspace.collect).
GC_BUDGET = 5000

Fields = list[tuple[str, object]]


class Recovered(NamedTuple):
    replayed: int  # log batches replayed after the snapshot
    snapshot_lsn: int
    origin: str  # region/epoch this life writes as
    unclean: bool  # the last stop was unclean: a new epoch


class LogPosition(NamedTuple):
    first_lsn: int
    last_lsn: int
    bytes: int
    retention_bytes: int


class Replication:
    def __init__(self, ks: Keyspace, name: str, directory: str, *, appendfsync: str = "everysec",
                 peers: list[tuple[str, int]] | None = None, peer_password: str = "", peer_user: str = "",
                 peer_timeout_s: float = 3600.0, log_retention_bytes: int = 1 << 30,
                 truncate_corrupt: bool = False, segment_bytes: int = SEGMENT_BYTES,
                 snapshot_every: int = SNAPSHOT_EVERY_BATCHES,
                 snapshot_min_interval_s: float = SNAPSHOT_MIN_INTERVAL_S,
                 on_progress: Callable[[], None] = lambda: None) -> None:
        self._rep = rep = Replicator(
            ks, name, directory, appendfsync=appendfsync, peers=peers, peer_password=peer_password,
            peer_user=peer_user,
            peer_timeout_s=peer_timeout_s, log_retention_bytes=log_retention_bytes,
            truncate_corrupt=truncate_corrupt, segment_bytes=segment_bytes,
            snapshot_every=snapshot_every, snapshot_min_interval_s=snapshot_min_interval_s,
        )
        rep.on_progress = on_progress  # applied or acknowledged: blocked clients may be ready
        self.sink: ReplicationSink = rep  # the write path: append, flush before replies, close

    @property
    def activity(self) -> int:
        """Grows with every batch applied from a peer and every state merge (the sweep's pacing:
        server/sweep.py)."""
        return self._rep.applied_remote + self._rep.state_merges

    # -- lifecycle --------------------------------------------------------------------------
    def recover(self) -> Recovered:
        """Before listening: the snapshot and the op log tail rebuild the keyspace."""
        rep = self._rep
        replayed = rep.recover()
        return Recovered(replayed, rep.snapshot_lsn, rep.region, rep.unclean)

    def use_tls(self, context: ssl.SSLContext | None) -> None:
        """Our links to peers speak TLS with ``context`` (``tls-replication yes``; None: plain
        TCP) from their next connection: the peer addresses are their TLS ports and their
        certificates must verify."""
        self._rep.peer_ssl = context

    def start(self) -> None:
        """With the event loop running: the links to the configured peers start."""
        for puller in self._rep.pullers:
            puller.start()

    async def stop(self) -> None:
        """The links to the configured peers stop (links peers opened to us close with their
        connections)."""
        for puller in self._rep.pullers:
            await puller.stop()

    def tick(self) -> int:
        """Every ~100 ms: flush, relays and heartbeats, GC stability, snapshots, log truncation,
        then collect metadata that became stable. Returns the number of keys collected."""
        rep = self._rep
        rep.flush()
        rep.tick()
        return rep.ks.collect(GC_BUDGET) if rep.pullers else 0

    @property
    def fsync_every_second(self) -> bool:
        return self._rep.oplog.appendfsync == "everysec"

    def fsync(self) -> None:
        """The op log reaches the disk (blocking: the server runs it in a thread)."""
        self._rep.fsync()

    # -- the handshake ------------------------------------------------------------------------
    def accept_sync(self, version: int, region: bytes, instance: bytes, log_version: int,
                    vv: bytes, mode: bytes, address: str,
                    on_lost: Callable[[Exception | None], None]) -> tuple[str, PeerLinkProtocol]:
        """``CRDT.SYNC``: the ``+SYNC`` text, and the protocol to hand the connection's transport
        to once that reply is written. Raises ``peerlink.SyncRefused`` (its text is the error)."""
        return accept_sync(self._rep, version, region, instance, log_version, vv, mode, address, on_lost)

    # -- pub/sub ------------------------------------------------------------------------------
    def publish(self, shard: bool, channel: bytes, message: bytes) -> int:
        """Forward a local PUBLISH/SPUBLISH to every peer region that pulls from us (one
        frame each, never logged); returns how many links took it (down or pushing back:
        dropped, at-most-once)."""
        payload = msgpack.packb([shard, channel, message], use_bin_type=True)
        links: dict[str, Streamer] = {}
        for s in self._rep.streamers:
            if s.closed:
                continue
            # One per peer region, however many connections it opened: the one that heard
            # from it last (a stale connection not yet noticed as closed must not win).
            other = links.get(s.peer)
            if other is None or (s.live, s.last_ack) > (other.live, other.last_ack):
                links[s.peer] = s
        return sum(1 for s in links.values() if s.publish(payload))

    def on_publish(self, deliver: Callable[[bool, bytes, bytes], None]) -> None:
        """``deliver(shard, channel, message)`` is called for each PUBLISH a peer forwards."""
        self._rep.on_publish = deliver

    # -- token waits ----------------------------------------------------------------------------
    def acked_by(self, vv: dict[str, int]) -> int:
        """How many peer regions acknowledged having everything ``vv`` covers (``WAIT``)."""
        peers = self._rep.peers
        if not vv:
            return len(peers)
        return sum(1 for info in peers.values() if vv_leq(vv, info.acked))

    # -- snapshots on demand (SAVE, BGSAVE, BGREWRITEAOF, save points, SHUTDOWN SAVE) -------------
    def save(self) -> None:
        """A snapshot now, in this process (waits for a background one first)."""
        rep = self._rep
        rep._wait_snapshot(block=True)
        rep.snapshot_now(blocking=True)

    def bgsave(self, done: Callable[[bool], None] | None = None) -> bool:
        """A snapshot in a child process; False when one is already running. ``done(ok)``
        when it ends. ``OSError`` when it cannot start (the op log cannot be written)."""
        rep = self._rep
        rep._wait_snapshot(block=False)
        if rep._snapshot_pid:
            return False
        rep.snapshot_now(blocking=False, done=done)
        return True

    @property
    def bgsave_in_progress(self) -> bool:
        return bool(self._rep._snapshot_pid)

    def changes_since_save(self) -> int:
        """Batches in the op log after the snapshot (INFO rdb_changes_since_last_save)."""
        rep = self._rep
        return max(0, rep.oplog.next_lsn - 1 - rep.snapshot_lsn)

    @property
    def disk_status(self) -> DiskStatus:
        """The op log's health (one object for the life of the process)."""
        return self._rep.oplog.status

    @property
    def disk_error(self) -> int:
        """The errno of the op log's last failed write or fsync (0: it is healthy)."""
        return self._rep.oplog.status.errno

    @property
    def durable_vv(self) -> dict[str, int]:
        """What the op log holds (written; fsynced with ``always``)."""
        return self._rep.durable_vv

    @property
    def disk_ok(self) -> bool:
        """The log is healthy and every merged peer state is in a snapshot."""
        return self._rep.disk_ok

    def snapshot_path(self) -> str:
        return os.path.join(self._rep.directory, snapshot.FILENAME)

    def set_appendfsync(self, mode: str) -> None:
        """CONFIG SET appendfsync: the op log's fsync policy from now on."""
        self._rep.oplog.appendfsync = mode

    # -- status -----------------------------------------------------------------------------------
    def log_position(self) -> LogPosition:
        oplog = self._rep.oplog
        return LogPosition(oplog.first_lsn, oplog.next_lsn - 1, oplog.total_bytes(),
                           self._rep.log_retention_bytes)

    def peer_rows(self) -> list[dict[str, Any]]:
        """One row per peer region (configured address, or one that connected to us):
        ``CRDT.PEERS``, and the peer lines of ``INFO crdt`` / ``INFO replication``."""
        rep = self._rep
        rows = []
        now = time.monotonic()
        seen = set()
        for puller in rep.pullers:
            name = puller.peer or ""
            seen.add(name)
            rows.append(self._row(name, puller.address, puller, now))
        for name in sorted(rep.peers):
            if name not in seen:
                rows.append(self._row(name, rep.peers[name].address, None, now))
        return rows

    def _row(self, name: str, address: str, puller: Puller | None, now: float) -> dict[str, Any]:
        rep = self._rep
        own = rep.region
        info = rep.peers.get(name)
        streaming = any(s.peer == name and not s.closed for s in rep.streamers)
        acked = info.acked.get(own, 0) if info else 0
        lag_ops = rep.ks.vv.get(own, 0) - acked
        hb = info.heartbeat_ms if info else 0
        pulling = puller is not None and puller.connected
        return {
            "region": name or "?",
            "address": address,
            "state": "up" if (puller is None or puller.connected) and streaming else "down",
            "link_in": "up" if pulling else "down",
            "link_out": "up" if streaming else "down",
            "lag_ops": max(0, lag_ops),
            "lag_ms": max(0, int(time.time() * 1000) - hb) if hb and pulling else -1,
            "last_ack_ms_ago": int((now - info.last_seen) * 1000) if info else -1,
            "timed_out": "yes" if info and info.timed_out else "no",
            "last_error": puller.last_error if puller is not None else "",
        }

    def crdt_fields(self) -> Fields:
        """The op log, causal buffer and link counters at the end of ``INFO crdt``."""
        rep = self._rep
        oplog = rep.oplog
        return [
            ("gc_timed_out_peers", sum(1 for p in rep.peers.values() if p.timed_out)),
            ("oplog_segments", len(oplog.segments)),
            ("oplog_bytes", oplog.total_bytes()),
            ("oplog_first_lsn", oplog.first_lsn),
            ("oplog_last_lsn", oplog.next_lsn - 1),
            ("oplog_fsyncs", oplog.fsyncs),
            ("oplog_write_failures", oplog.status.failures),
            ("oplog_pending_bytes", len(oplog._pending)),
            ("peer_batches_waiting_for_disk", int(any(p.waiting_for_disk for p in rep.pullers))),
            ("appendfsync", oplog.appendfsync),
            ("snapshot_lsn", rep.snapshot_lsn),
            ("applied_remote_batches", rep.applied_remote),
            ("duplicate_batches", rep.duplicates),
            ("state_merges", rep.state_merges),
            ("state_merge_in_progress", int(rep.merger.in_progress)),
            ("state_merge_keys", rep.merger.keys),
            ("state_merge_slices", rep.merger.slices),
            ("state_merge_last_ms", rep.merger.last_ms),
            ("state_merge_swap_ms", rep.merger.swap_ms),
            ("causal_buffer_batches", len(rep.buffer)),
            ("causal_buffer_bytes", rep.buffer.bytes),
            ("causal_buffer_limit_bytes", rep.buffer.max_bytes),
            ("link_deferred_relay_batches", sum(len(st.deferred) for st in rep.streamers)),
            ("link_output_buffer_bytes", sum(st.buffered_bytes() for st in rep.streamers)),
        ]
