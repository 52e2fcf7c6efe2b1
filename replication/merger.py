"""State-based catch-up without stalling clients: a peer's state merged in slices, made durable.

The puller hands a received state file to ``StateMerger.merge``. It is joined a bounded slice
at a time (``crdt.state_merge.SlicedMerge``: about ``SLICE_S`` of work, then the event loop
runs other work: clients, other peers' batches, timers), and swapped in at once at the end.
The same peer's frames that follow the state wait in its socket meanwhile (the puller awaits
the merge); merges from two peers run one after the other.

Durability. A swap changes the state without op log records. Just before it, the received
state file is kept as ``<dir>/merge-<lsn>.akv`` (fsynced, renamed, directory fsynced), where
``lsn`` is the last op log record applied before the swap: recovery replays the log up to
``lsn``, merges the file, and replays the rest, which rebuilds exactly the swapped state. A
background snapshot started after the swap makes the file unnecessary, and it is deleted. A crash during the slices leaves only a temporary
``peer-state-*`` file (removed at start-up): nothing was changed, and the peer is asked again.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from typing import TYPE_CHECKING

from crdt import state
from crdt.state_merge import SlicedMerge

from . import diskio, snapshot
from .collector import COLLECTOR
from .wire import FrameError

if TYPE_CHECKING:
    from .replicator import Replicator

SLICE_S = 0.002  # work per slice before yielding to the event loop
FIRST_BUDGET = 64  # keys in the first slice; then sized from the measured cost per key
MERGE_FILE = re.compile(r"^merge-(\d{20})\.akv$")
TEMP_PREFIX = "peer-state-"


def merge_file_name(lsn: int) -> str:
    return f"merge-{lsn:020d}.akv"


def pending_merge_files(directory: str) -> list[tuple[int, str]]:
    """The kept state files, ``(lsn, path)`` in LSN order."""
    out = []
    for name in os.listdir(directory):
        m = MERGE_FILE.match(name)
        if m:
            out.append((int(m.group(1)), os.path.join(directory, name)))
    return sorted(out)


def remove_temporary_files(directory: str) -> None:
    """State files of transfers a crash interrupted (nothing of them was applied)."""
    for name in os.listdir(directory):
        if name.startswith(TEMP_PREFIX):
            os.unlink(os.path.join(directory, name))


def merge_now(rep: Replicator, path: str) -> int:
    """Merge a kept state file synchronously (recovery, before clients are served)."""
    _, records = snapshot.records(path)
    return state.merge(rep.ks, records)


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        diskio.fsync(fd)  # (a disk fault makes the merge fail: nothing is swapped in)
    finally:
        os.close(fd)


class StateMerger:
    def __init__(self, rep: Replicator) -> None:
        self.rep = rep
        self.lock = asyncio.Lock()
        self.in_progress = False
        self.keys = 0  # keys joined by the merge in progress (or the last one)
        self.slices = 0  # slices of the merge in progress (or the last one)
        self.total_slices = 0
        self.last_ms = 0  # duration of the last merge
        self.swap_ms = 0  # of which the final, synchronous swap
        self.pending: list[int] = []  # LSNs of kept state files a snapshot does not cover yet
        self._snapshot_for: set[int] = set()  # those the snapshot we started last was taken after

    async def merge(self, peer: str, path: str) -> int:
        """Merge the peer's state file (this takes it over: kept or deleted). Returns the
        number of the peer's keys."""
        try:
            async with self.lock:
                return await self._merge(peer, path)
        finally:
            if os.path.exists(path):
                os.unlink(path)

    async def _merge(self, peer: str, path: str) -> int:
        rep = self.rep
        ks = rep.ks
        await asyncio.to_thread(_fsync_file, path)  # durable before it can be kept
        started = time.monotonic()
        try:
            _, records = snapshot.records(path)
            job = SlicedMerge(ks, records)
        except snapshot.SnapshotError as exc:  # the link is dropped (one warning) and tried again
            raise FrameError(f"malformed state stream: {exc}") from exc
        prev = ks.on_change

        def changed(db: int, key: bytes | None) -> None:
            job.touched(db, key)
            if prev is not None:
                prev(db, key)

        ks.on_change = changed
        self.in_progress, self.keys, self.slices = True, 0, 0
        COLLECTOR.begin()
        try:
            budget = FIRST_BUDGET
            while not job.ready:
                t0 = time.perf_counter()
                n = job.step(budget)
                spent = time.perf_counter() - t0
                self.keys = job.keys
                self.slices += 1
                self.total_slices += 1
                if n and spent > 0:  # size the next slice to about SLICE_S
                    budget = max(16, min(100_000, int(budget * SLICE_S / spent)))
                await asyncio.sleep(0)
            # The swap: from here to the end nothing yields.
            t0 = time.perf_counter()
            rep.flush_log()
            lsn = rep.oplog.next_lsn - 1
            kept = os.path.join(rep.directory, merge_file_name(lsn))
            os.replace(path, kept)
            snapshot.fsync_dir(rep.directory)
            ks.on_change = prev
            peer_keys = job.finish()
            self.swap_ms = int((time.perf_counter() - t0) * 1000)
        except BaseException:
            ks.on_change = prev
            raise
        finally:
            self.in_progress = False
            COLLECTOR.loaded += job.keys
            COLLECTOR.end()
        self.pending.append(lsn)
        self.last_ms = int((time.monotonic() - started) * 1000)
        rep.state_merged(peer, peer_keys)
        rep.log.info("merged the state of peer %s (%d keys) in %d slices, %d ms (swap %d ms); VV now %s",
                     peer, peer_keys, self.slices, self.last_ms, self.swap_ms, ks.vv)
        self.tick()
        return peer_keys

    def tick(self) -> None:
        """Periodic: a snapshot taken after the swap covers the kept state files; then they go.
        (A snapshot at an LSN past a file's covers it too. At recovery, a file whose LSN is
        not below the snapshot's is merged again: a join with a state already joined changes
        nothing.)"""
        rep = self.rep
        if not self.pending or rep.snapshot_running():
            return
        done = rep.snapshot_lsn
        for lsn in list(self.pending):
            if lsn < done or (lsn in self._snapshot_for and lsn <= done):
                self.pending.remove(lsn)
                try:
                    os.unlink(os.path.join(rep.directory, merge_file_name(lsn)))
                except FileNotFoundError:
                    pass
        if self.pending:
            self._snapshot_for = set(self.pending)
            rep.snapshot_now(blocking=False)
