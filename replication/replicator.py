"""A region's replication: the op log, the peer links, and what each peer has.

The server hands every committed local batch to ``append`` (this is its replication sink);
pullers hand every batch received from a peer to ``receive``. Both end in the op log and wake
the streamers; remote batches are applied through the keyspace's one ``apply_batch`` after
the causal buffer and de-duplication (G2, G3).

Identity. A region has a *name* (``--region``) and an *origin id* used in its dots:
``name/epoch``. The epoch is chosen when the data directory is created and again after every
unclean stop: effects the crash lost locally may already be at peers (they flow back), so the
new life must never reuse their sequence numbers.

GC stability. ``ks.stable`` is what every region has applied: the minimum of our VV and, for
each peer, the VV in its latest heartbeat, taken only once we have applied everything that peer
had made by then (so no effect of theirs that could still arrive predates it). A peer that has
been unreachable for ``peer_timeout`` no longer holds it back; it must then catch up by state.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeAlias

from mypy_extensions import mypyc_attr

from crdt.clock import vv_merge
from crdt.codec import decode_batch, decode_meta, encode_batch
from crdt.effects import Batch, Effect
from crdt.keyspace import Keyspace

from . import merger, snapshot
from .causal import CausalBuffer
from .oplog import LOG_VERSION, SEGMENT_BYTES, OpLog
from .puller import Puller
from .streamer import Streamer

log = logging.getLogger("activekv")

Meta: TypeAlias = tuple[str, int, int, dict[str, int]]  # origin, first seq, last seq, deps
SNAPSHOT_EVERY_BATCHES = 50_000
JOIN_MAX_EFFECTS = 1024  # local batches joined into one log record: at most this many effects
SNAPSHOT_MIN_INTERVAL_S = 10.0


def batch_meta(batch: Batch) -> Meta:
    return (batch.origin, batch.first_seq, batch.last_seq, batch.deps)


def _joins(pending: Batch, batch: Batch, last: int) -> bool:
    """``batch`` directly follows the group that starts with ``pending`` and ends at seq
    ``last`` (same origin and HLC, next seq) and its origin applied nothing else in between
    (its deps are ``pending``'s, plus the group itself)."""
    if batch.hlc != pending.hlc or batch.origin != pending.origin:
        return False
    if batch.first_seq != last + 1:
        return False
    deps, before = batch.deps, pending.deps
    if len(deps) != len(before) and len(deps) != len(before) + 1:
        return False
    origin = pending.origin
    for region, seq in deps.items():
        if seq != (last if region == origin else before.get(region, 0)):
            return False
    for region in before:
        if region not in deps:
            return False
    return True


@mypyc_attr(native_class=False)  # a builtin subclass: a Python class under mypyc
class RecoveryError(RuntimeError):
    """The data directory cannot be used by this region (start-up must stop)."""


@dataclass
class PeerInfo:
    region: str
    address: str = ""
    acked: dict[str, int] = field(default_factory=dict)  # what it told our streamer it has
    report: dict[str, int] = field(default_factory=dict)  # its latest usable heartbeat VV
    pending_report: dict[str, int] = field(default_factory=dict)
    last_seen: float = field(default_factory=time.monotonic)
    heartbeat_ms: int = 0
    timed_out: bool = False  # unreachable for longer than peer_timeout: not holding GC back
    needs_state: bool = False  # GC went on without it: catch up with it by state, not by log


class Replicator:
    def __init__(self, ks: Keyspace, name: str, directory: str, *, appendfsync: str = "everysec",
                 peers: list[tuple[str, int]] | None = None, peer_password: str = "", peer_user: str = "",
                 peer_timeout_s: float = 3600.0, log_retention_bytes: int = 1 << 30,
                 truncate_corrupt: bool = False, segment_bytes: int = SEGMENT_BYTES,
                 snapshot_every: int = SNAPSHOT_EVERY_BATCHES,
                 snapshot_min_interval_s: float = SNAPSHOT_MIN_INTERVAL_S) -> None:
        self.ks = ks
        self.name = name
        self.directory = directory
        self.log = log
        self.peer_password = peer_password
        self.peer_user = peer_user  # the ACL user links authenticate as ("": default)
        self.peer_timeout_s = peer_timeout_s
        self.log_retention_bytes = log_retention_bytes
        self.log_version = LOG_VERSION
        self.snapshot_every = snapshot_every
        self.snapshot_min_interval_s = snapshot_min_interval_s
        self.oplog = OpLog(directory, appendfsync, segment_bytes, truncate_corrupt=truncate_corrupt)
        self.buffer = CausalBuffer()
        self.merger = merger.StateMerger(self)
        self.streamers: set[Streamer] = set()
        self.pullers = [Puller(self, host, port) for host, port in peers or []]
        self.peer_ssl: ssl.SSLContext | None = None  # our links to peers speak TLS with it
        self.peers: dict[str, PeerInfo] = {}
        self.instance_id, self.region, self.unclean = self._identity()
        self.snapshot_lsn = 0
        self._snapshot_pid = 0
        self._snapshot_pending_lsn = 0
        self._last_snapshot = time.monotonic()
        self.applied_remote = 0
        self.duplicates = 0
        self.state_merges = 0
        self.started = time.monotonic()
        self.on_progress: Callable[[], None] = lambda: None  # blocked clients may be ready
        # A peer's PUBLISH/SPUBLISH (shard, channel, message), for our local subscribers.
        self.on_publish: Callable[[bool, bytes, bytes], None] = lambda shard, ch, msg: None
        self._flush_scheduled = False
        # What the log holds (written, fsynced with ``always``): acknowledged to peers.
        self.durable_vv: dict[str, int] = {}
        self._snapshot_done: Callable[[bool], None] | None = None
        self._pending: Batch | None = None  # the first local batch of the group being joined
        self._joined: list[Effect] | None = None  # the group's effects, once a second batch joined
        self._joined_events: list[tuple[str, str, int, bytes]] = []  # and their notifications
        self._joined_last = 0  # the group's last seq
        self.coalesced = 0  # local batch records logged (each one or more joined batches)
        if self.pullers:
            ks.expect_peers()  # nothing is stable until they say so

    # -- identity and recovery ------------------------------------------------------------
    def _identity(self) -> tuple[str, str, bool]:
        """(instance id, origin id, whether the last stop was unclean)."""
        os.makedirs(self.directory, exist_ok=True)
        id_path = os.path.join(self.directory, "region.id")
        clean_path = os.path.join(self.directory, "clean-shutdown")
        if os.path.exists(id_path):
            with open(id_path) as f:
                fields = f.read().split()
            if len(fields) != 3 or fields[0] != self.name:
                raise RecoveryError(
                    f"{id_path} belongs to region {fields[0] if fields else '?'}, not {self.name}")
            instance, epoch = fields[1], fields[2]
            unclean = not os.path.exists(clean_path)
        else:
            instance, epoch, unclean = secrets.token_hex(8), "", True
        if unclean or not epoch:
            epoch = secrets.token_hex(3)
            _write_durably(id_path, f"{self.name} {instance} {epoch}\n")
        try:
            os.unlink(clean_path)
        except FileNotFoundError:
            pass
        return instance, f"{self.name}/{epoch}", unclean

    def recover(self) -> int:
        """Load the snapshot and replay the log tail. Returns the number of batches replayed."""
        self.snapshot_lsn = snapshot.load(self.ks, self.directory)
        merger.remove_temporary_files(self.directory)
        merges = []  # peer states swapped in after the snapshot: merged again at their LSN
        for lsn, path in merger.pending_merge_files(self.directory):
            if lsn < self.snapshot_lsn:  # the snapshot was taken after it
                os.unlink(path)
            else:
                merges.append((lsn, path))
                self.merger.pending.append(lsn)
        replayed = 0
        for lsn, payload in self.oplog.open():
            if lsn <= self.snapshot_lsn:
                continue
            while merges and merges[0][0] < lsn:
                merger.merge_now(self, merges.pop(0)[1])
            batch = decode_batch(payload)
            if self.ks.ready(batch):
                self.ks.apply_batch(batch)
                replayed += 1
        for _, path in merges:
            merger.merge_now(self, path)
        self.ks.region = self.region
        self.durable_vv = dict(self.ks.vv)
        return replayed

    # -- the sink: local batches ----------------------------------------------------------
    def append(self, batch: Batch) -> None:
        """A local batch. Consecutive local batches that share an HLC and between which
        nothing else was applied (``_joins``) are logged and shipped as one: their effects
        keep their dots, tags and causal contexts exactly (a batch's effects all take its
        HLC, and each its origin's previous seq on top of the batch's deps), and a bigger
        batch is still atomic. The open one is logged before anything else is (a remote
        batch, a snapshot) and at the latest when the log is flushed, before any reply."""
        pending = self._pending
        if pending is not None:
            joined = self._joined
            if ((len(joined) if joined is not None else len(pending.effects)) < JOIN_MAX_EFFECTS
                    and _joins(pending, batch, self._joined_last)):
                if joined is None:  # the second batch of a group: the group's own lists now
                    joined = self._joined = list(pending.effects)
                    self._joined_events = list(pending.events)
                effects = batch.effects
                joined.extend(effects)
                self._joined_last = batch.first_seq + len(effects) - 1  # (batch.last_seq)
                if batch.events:  # keyspace notifications travel with the effects
                    self._joined_events.extend(batch.events)
                return
            self._log_pending()
        # The first batch of a group is kept as it is (a committed batch is never changed):
        # a lone batch costs no copy; the lists are made when a second one joins it.
        self._pending = batch
        self._joined = None
        self._joined_last = batch.first_seq + len(batch.effects) - 1  # (batch.last_seq)
        self._schedule_flush()

    def _log_pending(self) -> None:
        pending = self._pending
        if pending is not None:
            self._pending = None
            joined = self._joined
            if joined is not None:
                self._joined = None
                pending = Batch(pending.origin, pending.first_seq, pending.hlc, pending.deps, joined,
                                tuple(self._joined_events))
            self.coalesced += 1
            self._log(encode_batch(pending), batch_meta(pending))

    def _log(self, raw: bytes, meta: Meta) -> None:
        if self._pending is not None:
            self._log_pending()  # the log is in the order batches were applied
        self.oplog.append(raw, self.ks.vv, meta)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:  # at most once per event loop iteration
            self._flush_scheduled = True
            try:
                asyncio.get_running_loop().call_soon(self._scheduled_flush)
            except RuntimeError:  # no loop running (recovery, tests): the caller flushes
                self._flush_scheduled = False

    def _scheduled_flush(self) -> None:
        self._flush_scheduled = False
        self.flush()

    def flush(self) -> None:
        """Before replies go out: the log reaches the file (and the disk with ``always``);
        then, and only then, peers are sent the new records. Batches applied from peers or
        by the expire cycle, with no client waiting, are flushed once per loop iteration."""
        self._log_pending()
        if self.oplog.flush() and self.durable_vv != self.ks.vv:
            self.durable_vv = dict(self.ks.vv)
        durable = self.oplog.durable_lsn
        for s in list(self.streamers):
            if s.live and not s.paused and s.cursor <= durable:  # something new to send
                s.pump()

    @property
    def disk_ok(self) -> bool:
        """The log takes writes: peers' batches may be applied (else they wait in the link,
        unacknowledged). (A merged peer state is durable before its swap: ``merger``.)"""
        return self.oplog.status.ok

    def close(self) -> None:
        self._log_pending()
        self.oplog._last_retry = 0.0  # one last attempt, now
        self.oplog.flush()
        if not self.oplog.close():
            log.warning("op log: could not write everything at shutdown; the next start is an "
                        "unclean one (a new epoch)")
            return
        _write_durably(os.path.join(self.directory, "clean-shutdown"), "clean\n")

    # -- remote batches -------------------------------------------------------------------
    def receive(self, batch: Batch, raw: bytes) -> bool:
        """A batch from a peer link. False when the causal buffer is full (drop the link)."""
        ks = self.ks
        last = batch.last_seq
        if ks.vv.get(batch.origin, 0) >= last:
            self.duplicates += 1
            return True
        if not ks.ready(batch):
            self.buffer.add(batch, raw)
            return not self.buffer.full()
        self._apply(batch, raw)
        self._drain_buffer()
        self.on_progress()
        return True

    def _apply(self, batch: Batch, raw: bytes) -> None:
        self.ks.apply_batch(batch)
        self.applied_remote += 1
        self._log(raw, batch_meta(batch))

    async def merge_state_file(self, peer: str, path: str) -> int:
        """A peer's state (a file this takes over): merged in slices (``merger``)."""
        return await self.merger.merge(peer, path)

    def state_merged(self, peer: str, keys: int) -> None:
        """The merger swapped a peer's state in."""
        self.state_merges += 1
        if peer in self.peers:
            self.peers[peer].needs_state = False
        self._drain_buffer()
        self.on_progress()

    def flush_log(self) -> None:
        """Every applied batch in the log file and on disk (before a state swap)."""
        self._log_pending()
        self.oplog.flush()
        self.oplog.fsync()

    def snapshot_running(self) -> bool:
        return bool(self._snapshot_pid)

    def _drain_buffer(self) -> None:
        """Apply every buffered batch that has become ready (each may make others ready)."""
        while self.buffer:
            item = self.buffer.pop_ready(self.ks)
            if item is None:
                break
            self._apply(*item)

    # -- streaming to peers ---------------------------------------------------------------
    def read_log(self, lsn: int) -> Iterator[tuple[int, bytes, Meta]]:
        """Durable records from ``lsn`` on, with their metadata."""
        durable = self.oplog.durable_lsn
        for item_lsn, raw, meta in self.oplog.read_from(lsn):
            if item_lsn > durable:
                return
            if meta is None:
                meta = decode_meta(raw)
            yield item_lsn, raw, meta

    def open_stream(self, peer: str, peer_vv: dict[str, int], want_state: bool,
                    write: Callable[[bytes], None], close: Callable[[], None],
                    buffer_size: Callable[[], int] | None = None) -> tuple[Streamer, str]:
        """A peer asked for our log from ``peer_vv``: from the log when it reaches back that
        far, else a snapshot first. Returns the streamer and the mode."""
        self.oplog.flush()
        start = self.oplog.segment_for(peer_vv)
        by_state = want_state or start == 0
        if by_state:
            # The state is a snapshot written by a forked child (as Redis's BGSAVE: this loop
            # does not stall on it; one being written already serves); the streamer sends it
            # once it is complete (``_wait_snapshot``), then the log after it.
            if not self._snapshot_pid:
                self.snapshot_now(blocking=False)
            lsn = self._snapshot_pending_lsn if self._snapshot_pid else self.snapshot_lsn
            start = lsn + 1
        streamer = Streamer(self, peer, peer_vv, start, write, close, None, buffer_size)
        if by_state:
            streamer.wait_for_state(start - 1)
            if not self._snapshot_pid:  # written in this process: ready now
                streamer.state_ready(os.path.join(self.directory, snapshot.FILENAME))
        self.streamers.add(streamer)
        info = self.peers.setdefault(peer, PeerInfo(peer))
        info.last_seen = time.monotonic()
        info.timed_out = False
        vv_merge(info.acked, peer_vv)
        return streamer, "state" if by_state else "log"

    def streamer_closed(self, streamer: Streamer) -> None:
        self.streamers.discard(streamer)

    def on_ack(self, peer: str, vv: dict[str, int]) -> None:
        info = self.peers.setdefault(peer, PeerInfo(peer))
        vv_merge(info.acked, vv)
        info.last_seen = time.monotonic()
        self.on_progress()

    # -- pullers --------------------------------------------------------------------------
    def check_peer_identity(self, peer: str, instance: str, puller: Puller) -> str:
        if peer == self.name:
            return f"peer at {puller.address} has our own region name '{peer}'"
        for other in self.pullers:
            if other is not puller and other.connected and other.peer == peer:
                return f"peers {other.address} and {puller.address} both claim region name '{peer}'"
        return ""

    def needs_state_from(self, address: str) -> bool:
        for p in self.pullers:
            if p.address == address and p.peer and self.peers.get(p.peer, PeerInfo(p.peer)).needs_state:
                return True
        return False

    def puller_state_changed(self, puller: Puller) -> None:
        if puller.peer:
            info = self.peers.setdefault(puller.peer, PeerInfo(puller.peer))
            info.address = puller.address
            if puller.connected:  # a failed attempt is not a sign of life
                info.last_seen = time.monotonic()

    def on_heartbeat(self, peer: str, vv: dict[str, int], now_ms: int) -> None:
        info = self.peers.setdefault(peer, PeerInfo(peer))
        info.pending_report = dict(vv)
        info.heartbeat_ms = now_ms
        info.last_seen = time.monotonic()

    # -- periodic work --------------------------------------------------------------------
    def tick(self) -> None:
        """Every ~100 ms: relays and heartbeats, stability, snapshots and log truncation."""
        for s in list(self.streamers):
            s.tick()
        self._update_stability()
        self._wait_snapshot(block=False)
        self.merger.tick()
        since = self.oplog.next_lsn - 1 - self.snapshot_lsn
        if (since >= self.snapshot_every and not self._snapshot_pid
                and time.monotonic() - self._last_snapshot >= self.snapshot_min_interval_s):
            try:
                self.snapshot_now(blocking=False)
            except OSError as exc:  # the log and the previous snapshot are intact; retried
                log.warning("periodic snapshot failed: %s", exc.strerror or exc)
        self._truncate_log()

    def fsync(self) -> None:
        self.oplog.fsync()

    def _update_stability(self) -> None:
        if not self.pullers:
            return
        now = time.monotonic()
        stable = self.ks.stable
        reporters: list[dict[str, int]] = [self.ks.vv]
        for puller in self.pullers:
            info = self.peers.get(puller.peer) if puller.peer else None
            if info is None:  # never reached: holds GC back until the timeout
                if now - self.started < self.peer_timeout_s:
                    stable.clear()
                    return
                continue
            if info.pending_report:
                own = [o for o in info.pending_report if o.split("/", 1)[0] == info.region]
                if all(self.ks.vv.get(o, 0) >= info.pending_report[o] for o in own):
                    info.report = info.pending_report
                    info.pending_report = {}
            if now - info.last_seen > self.peer_timeout_s:
                if not info.timed_out:
                    log.warning("peer %s unreachable for %.0fs: it no longer holds back GC; "
                                "it will need a state merge when it returns",
                                info.region, now - info.last_seen)
                info.timed_out = info.needs_state = True
                continue
            if not info.report:
                stable.clear()
                return
            reporters.append(info.report)
        regions = set().union(*reporters)
        stable.clear()
        for r in regions:
            low = min(v.get(r, 0) for v in reporters)
            if low:
                stable[r] = low

    def snapshot_now(self, blocking: bool, done: Callable[[bool], None] | None = None) -> None:
        """A snapshot of everything logged. ``OSError`` when the log itself cannot be written
        (a snapshot past the log's end would hide the records after it) or the snapshot
        failed in this process; ``done(ok)`` is called when a background one ends."""
        self._log_pending()
        self._last_snapshot = time.monotonic()
        if not self.oplog.flush():
            code = self.oplog.status.errno
            raise OSError(code, os.strerror(code))
        lsn = self.oplog.next_lsn - 1
        if blocking:
            snapshot.write(self.ks, self.directory, lsn)
            self.snapshot_lsn = lsn
        else:
            pid = snapshot.write_in_child(self.ks, self.directory, lsn)
            if pid == 0:
                self.snapshot_lsn = lsn
                if done is not None:
                    done(True)
            else:
                self._snapshot_pid = pid
                self._snapshot_pending_lsn = lsn
                self._snapshot_done = done

    def _wait_snapshot(self, block: bool) -> None:
        if not self._snapshot_pid:
            return
        pid, status = os.waitpid(self._snapshot_pid, 0 if block else os.WNOHANG)
        if pid == 0:
            return
        self._snapshot_pid = 0
        ok = os.waitstatus_to_exitcode(status) == 0
        if ok:
            self.snapshot_lsn = self._snapshot_pending_lsn
        else:
            log.warning("Background saving error (snapshot child exit status %d)", status)
        done, self._snapshot_done = self._snapshot_done, None
        if done is not None:
            done(ok)
        path = os.path.join(self.directory, snapshot.FILENAME)
        for s in list(self.streamers):  # peers waiting for this state (``open_stream``)
            if s.state_lsn == self._snapshot_pending_lsn and s.state_waiting:
                if ok:
                    s.state_ready(path)
                else:
                    s.close()  # it reconnects and asks again

    def _truncate_log(self) -> None:
        """Drop segments the snapshot covers and every peer has (or past the retention)."""
        oplog = self.oplog
        if len(oplog.segments) < 2:
            return
        limit = self.snapshot_lsn + 1
        over = oplog.total_bytes() > self.log_retention_bytes
        for seg in oplog.segments[:-1]:
            if seg.last_lsn >= limit:
                break
            everyone = all(
                all(info.acked.get(o, 0) >= s for o, s in seg.max_vv.items())
                for info in self.peers.values() if not info.timed_out
            ) and len(self.peers) >= len(self.pullers)
            if not (everyone or over):
                break
            oplog.truncate_before(seg.last_lsn + 1)
            over = oplog.total_bytes() > self.log_retention_bytes


def _write_durably(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
