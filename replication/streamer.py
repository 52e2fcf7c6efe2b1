"""The sending side of a peer link: stream our op log to one peer region.

A peer connects, says what it has (its VV), and we stream every logged batch it lacks, in log
order (which is causal order: we applied them in it). ``view`` is what the peer has or has been
sent; its acknowledgements raise it.

Relay without duplicates: while catching up, batches of every origin are sent (the peer may
have missed them). Once live, a batch from a third region is on its way to the peer directly,
so it is *deferred* instead of sent, and goes out only if the peer still has not acknowledged it
after ``relay_delay`` (its origin cannot reach the peer). One of our own batches that depends on
it waits in the peer's causal buffer meanwhile. Memory stays bounded: the deferred list has a
cap, and a peer that does not read only costs the socket's buffer — the cursor waits in the log.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import msgpack

from crdt.clock import vv_merge

from .wire import (
    F_BATCH,
    F_HEARTBEAT,
    F_PUBLISH,
    F_STATE_DATA,
    F_STATE_END,
    FRAME,
    STREAMER_FRAMES,
    FrameReader,
    unpack_vv,
)

if TYPE_CHECKING:
    from .replicator import Meta, Replicator

RELAY_DELAY_S = 1.0
DEFERRED_MAX = 10000
STATE_CHUNK = 256 * 1024
WRITE_CHUNK = 256 * 1024


class Streamer:
    def __init__(self, rep: Replicator, peer: str, peer_vv: dict[str, int], start_lsn: int,
                 write: Callable[[bytes], None], close: Callable[[], None],
                 state_path: str | None = None,
                 buffer_size: Callable[[], int] | None = None) -> None:
        self.rep = rep
        self.peer = peer
        self.instance = ""
        self.view = dict(peer_vv)
        self.cursor = start_lsn
        self._write = write
        self._close = close
        self._buffer_size = buffer_size
        self.paused = False
        self.closed = False
        self.live = False
        self.deferred: deque[tuple[float, int, bytes, Meta]] = deque()
        self.reader = FrameReader(STREAMER_FRAMES)
        self._buf = bytearray()  # frames queued by this pump, written together
        self.sent_batches = 0
        self.sent_bytes = 0
        self.acked: dict[str, int] = dict(peer_vv)
        self.last_ack = time.monotonic()
        self._state_file = open(state_path, "rb") if state_path else None  # noqa: SIM115
        self.state_waiting = False  # sends nothing until its state snapshot is written
        self.state_lsn = 0

    # -- transport callbacks (from the PeerLinkProtocol the connection was handed to) -------
    def data_received(self, data: bytes) -> None:
        try:
            frames = self.reader.feed(data)
        except ValueError as exc:
            self.rep.log.warning("peer %s: bad frame (%s); closing the link", self.peer, exc)
            self.close()
            return
        for _ftype, payload in frames:  # only ACKs pass the reader
            try:
                vv = unpack_vv(payload)
            except Exception:
                self.rep.log.warning("peer %s: malformed ACK frame; closing the link", self.peer)
                self.close()
                return
            vv_merge(self.acked, vv)
            vv_merge(self.view, vv)
            self.last_ack = time.monotonic()
            self.rep.on_ack(self.peer, self.acked)

    def buffered_bytes(self) -> int:
        """Bytes queued in the socket's write buffer (bounded by flow control)."""
        return self._buffer_size() if self._buffer_size is not None else 0

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self.pump()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self._state_file is not None:
                self._state_file.close()
            self._close()
            self.rep.streamer_closed(self)

    def wait_for_state(self, lsn: int) -> None:
        """Send the snapshot of ``lsn`` first, once it is written (``state_ready``)."""
        self.state_waiting, self.state_lsn = True, lsn

    def state_ready(self, path: str) -> None:
        self.state_waiting = False
        if not self.closed:
            self._state_file = open(path, "rb")  # noqa: SIM115 (closed when sent or on close)
            self.pump()

    # -- sending ----------------------------------------------------------------------------
    def _send(self, ftype: int, payload: bytes) -> None:
        """Queue a frame; ``_flush`` writes the queued frames in one go."""
        self._buf += FRAME.pack(ftype, len(payload))
        self._buf += payload
        self.sent_bytes += FRAME.size + len(payload)
        if len(self._buf) >= WRITE_CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._buf and not self.closed:
            data = bytes(self._buf)
            self._buf.clear()
            self._write(data)  # may pause us (flow control) synchronously

    def _send_batch(self, raw: bytes, meta: Meta) -> None:
        self._send(F_BATCH, raw)
        self.sent_batches += 1
        origin, _, last, _ = meta
        if self.view.get(origin, 0) < last:
            self.view[origin] = last

    def pump(self) -> None:
        """Send what we can until the socket pushes back or the log is exhausted."""
        if self.closed or self.state_waiting:
            return
        if self._state_file is not None and not self._pump_state():
            return
        own = self.rep.region
        view = self.view
        records: Iterator[tuple[int, bytes, Meta]] = self.rep.read_log(self.cursor)
        for lsn, raw, meta in records:
            if self.paused or self.closed:
                return
            self.cursor = lsn + 1
            origin, _, last, deps = meta
            if view.get(origin, 0) >= last:
                continue
            if origin == own:
                self._send_batch(raw, meta)
            elif self.live:
                self.deferred.append((time.monotonic(), lsn, raw, meta))
                if len(self.deferred) > DEFERRED_MAX:
                    self._flush_deferred(force=True)
            else:
                self._send_batch(raw, meta)
        self._flush()
        if not self.paused:
            self.live = True

    def _pump_state(self) -> bool:
        """Send the snapshot (state-based catch-up) before the log. True when done."""
        f = self._state_file
        assert f is not None
        while not self.paused and not self.closed:
            chunk = f.read(STATE_CHUNK)
            if not chunk:
                f.close()
                self._state_file = None
                self._send(F_STATE_END, b"")
                self._flush()
                return True
            self._send(F_STATE_DATA, chunk)
            self._flush()
        return False

    def publish(self, payload: bytes) -> bool:
        """Send a PUBLISH frame now (not logged). Dropped (False) while the socket pushes back
        or the link is closed: pub/sub is at-most-once and must not grow memory."""
        if self.closed or self.paused:
            return False
        self._send(F_PUBLISH, payload)
        self._flush()
        return True

    def _flush_deferred(self, force: bool) -> None:
        now = time.monotonic()
        while self.deferred:
            ts, _, raw, meta = self.deferred[0]
            if not force and now - ts < RELAY_DELAY_S:
                break
            self.deferred.popleft()
            if self.view.get(meta[0], 0) < meta[2]:
                self._send_batch(raw, meta)

    def tick(self) -> None:
        """Periodic: relay deferred batches the peer still lacks; heartbeat when live."""
        if self.closed or self.paused or self.state_waiting:
            return
        self._flush_deferred(force=False)
        if self.live and self._state_file is None:
            self._send(F_HEARTBEAT, msgpack.packb([self.rep.ks.vv, int(time.time() * 1000)]))
        self._flush()

