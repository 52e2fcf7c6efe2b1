"""The receiving side of a peer link: connect to a peer region and pull its op log.

One puller per configured peer address, for the life of the server: connect, authenticate and
``CRDT.SYNC`` with our VV (``peerlink.request_sync``), then read frames — batches go to the
replicator (causal buffer, de-duplication, apply, log), a snapshot stream is merged, heartbeats
feed GC stability — and acknowledge what we applied. Any failure closes the link and it reconnects with exponential
backoff; the handshake's VV makes the peer resume from exactly what we lack.
"""

from __future__ import annotations

import asyncio
import os
import random
import ssl
import tempfile
import time
from typing import TYPE_CHECKING

from crdt.clock import vv_merge
from crdt.codec import CodecError, decode_batch
from crdt.shape import bad_db

from .collector import COLLECTOR
from .merger import TEMP_PREFIX
from .peerlink import HandshakeRefused, PeerBusy, request_sync
from .wire import (
    F_ACK,
    F_BATCH,
    F_HEARTBEAT,
    F_PUBLISH,
    F_STATE_DATA,
    F_STATE_END,
    PULLER_FRAMES,
    FrameError,
    FrameReader,
    frame,
    pack_vv,
    unpack_heartbeat,
    unpack_publish,
    unpack_vv,
)

if TYPE_CHECKING:
    from .replicator import Replicator

BACKOFF_MIN_S = 0.05
BACKOFF_MAX_S = 2.0
ACK_INTERVAL_S = 0.02
CONNECT_TIMEOUT_S = 3.0
READ_CHUNK = 256 * 1024
DISK_POLL_S = 0.1  # how often a link waiting for our disk looks again
# Frames that change our state: they wait while our log cannot be written.
DURABLE_FRAMES = frozenset({F_BATCH, F_STATE_DATA, F_STATE_END})


class Puller:
    def __init__(self, rep: Replicator, host: str, port: int) -> None:
        self.rep = rep
        self.host = host
        self.port = port
        self.address = f"{host}:{port}"
        self.peer: str | None = None  # region name, learned at the handshake
        self.connected = False
        self.last_error = ""
        self.last_frame = 0.0
        self.received_batches = 0
        self.received_bytes = 0
        self.connects = 0
        self.heartbeat_vv: dict[str, int] = {}
        self.heartbeat_ms = 0
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._stop = False
        self.waiting_for_disk = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._stop = True
        if self._writer is not None:
            self._writer.close()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    async def _run(self) -> None:
        backoff = BACKOFF_MIN_S
        while not self._stop:
            try:
                await self._session()
                backoff = BACKOFF_MIN_S
            except asyncio.CancelledError:
                raise
            except HandshakeRefused as exc:
                self._note_error(str(exc), warn=True)
                backoff = BACKOFF_MAX_S
            except PeerBusy as exc:  # a busy script there: one info line, retry soon
                self._note_error(f"peer is busy: {exc}", warn=False)
                backoff = BACKOFF_MIN_S / 2
            except ssl.SSLError as exc:  # one warning per distinct refusal, then quiet retries
                self._note_error(tls_refusal(exc), warn=True, repeat=False)
                backoff = BACKOFF_MAX_S
            except (CodecError, FrameError) as exc:  # a broken peer: one warning, then retry
                self._note_error(f"dropped the link: {exc}", warn=True, repeat=False)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                self._note_error(f"{type(exc).__name__}: {exc}", warn=False)
            except Exception as exc:  # a bug of ours: say so, and keep the link retrying
                self.rep.log.warning("peer link to %s: unexpected error; retrying", self.address,
                                     exc_info=exc)
            finally:
                if self.connected:
                    # The link was up: this is a new failure, not the same one persisting,
                    # so retry from the shortest backoff (``_session`` only ends by raising).
                    backoff = BACKOFF_MIN_S
                    self.rep.log.info("peer link to %s (%s) down", self.peer or "?", self.address)
                self.connected = False
                self.rep.puller_state_changed(self)
                if self._writer is not None:
                    self._writer.close()
                    self._writer = None
            if self._stop:
                return
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(BACKOFF_MAX_S, backoff * 2)

    def _note_error(self, message: str, warn: bool, repeat: bool = True) -> None:
        if message != self.last_error or (warn and repeat):
            log = self.rep.log.warning if warn else self.rep.log.info
            log("peer link to %s: %s", self.address, message)
        self.last_error = message

    async def _session(self) -> None:
        tls = self.rep.peer_ssl
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, ssl=tls,
                                    server_hostname=self.host if tls is not None else None),
            CONNECT_TIMEOUT_S,
        )
        self._writer = writer
        rep = self.rep
        peer, _instance = await request_sync(rep, self, reader, writer)
        self.peer = peer
        self.connected = True
        self.connects += 1
        self.last_error = ""
        rep.log.info("peer link to %s (%s) up", peer, self.address)
        rep.puller_state_changed(self)
        ack_task = asyncio.get_running_loop().create_task(self._ack_loop(writer))
        state_file = None
        frames = FrameReader(PULLER_FRAMES)
        catching_up = True  # until the peer's first heartbeat: it sends them once live
        COLLECTOR.begin()
        try:
            while True:
                # Read what has arrived (many frames at once under load) and parse it in one
                # go: two awaits per frame cost more than applying a small batch.
                data = await reader.read(READ_CHUNK)
                if not data:
                    raise asyncio.IncompleteReadError(b"", None)
                self.last_frame = time.monotonic()
                self.received_bytes += len(data)
                for ftype, payload in frames.feed(data):
                    if ftype in DURABLE_FRAMES and not rep.disk_ok:
                        await self._wait_for_disk()
                    if ftype == F_BATCH:
                        self.received_batches += 1
                        batch = decode_batch(payload)
                        db = bad_db(batch.effects, len(rep.ks.dbs))
                        if db is not None:
                            raise CodecError(f"an effect on db {db}: this region has "
                                             f"{len(rep.ks.dbs)} databases")
                        if not rep.receive(batch, payload):
                            raise ValueError("causal buffer full; reconnecting to catch up from the log")
                        if catching_up:
                            COLLECTOR.loaded += len(batch.effects)
                    elif ftype == F_PUBLISH:
                        rep.on_publish(*unpack_publish(payload))
                    elif ftype == F_HEARTBEAT:
                        if catching_up:
                            catching_up = False
                            COLLECTOR.end()
                        vv, now_ms = unpack_heartbeat(payload)
                        vv_merge(self.heartbeat_vv, vv)
                        self.heartbeat_ms = now_ms
                        rep.on_heartbeat(peer, self.heartbeat_vv, now_ms)
                    elif ftype == F_STATE_DATA:
                        if state_file is None:
                            state_file = tempfile.NamedTemporaryFile(
                                dir=rep.directory, prefix=TEMP_PREFIX, delete=False)
                        state_file.write(payload)
                    elif ftype == F_STATE_END:
                        if state_file is not None:
                            state_file.close()
                            name, state_file = state_file.name, None
                            await rep.merge_state_file(peer, name)  # takes the file over
                    else:
                        raise FrameError(f"unexpected frame type {ftype}")
        finally:
            if catching_up:
                COLLECTOR.end()
            ack_task.cancel()
            if state_file is not None:
                state_file.close()
                os.unlink(state_file.name)

    async def _wait_for_disk(self) -> None:
        """Our log cannot be written: leave the peer's frames unread (TCP pushes back on its
        streamer; it keeps them in its log) until it can. Nothing is applied or acknowledged
        meanwhile; a link that drops resumes from what we have."""
        self.waiting_for_disk = True
        try:
            while not self.rep.disk_ok:
                await asyncio.sleep(DISK_POLL_S)
        finally:
            self.waiting_for_disk = False

    async def _ack_loop(self, writer: asyncio.StreamWriter) -> None:
        last: dict[str, int] = {}
        quiet = 0.0
        while True:
            await asyncio.sleep(ACK_INTERVAL_S)
            quiet += ACK_INTERVAL_S
            vv = self.rep.durable_vv  # only what our log holds: the peer may drop the rest
            if vv != last or quiet >= 1.0:
                last = dict(vv)
                quiet = 0.0
                writer.write(frame(F_ACK, pack_vv(last)))


def tls_refusal(exc: ssl.SSLError) -> str:
    """One line for a TLS link that failed: whose certificate was refused, and why."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"TLS: refused the peer's certificate: {exc.verify_message} (it must be signed "
                "by tls-ca-cert-file / tls-ca-cert-dir); retrying")
    reason = exc.reason or str(exc)
    if "alert" in reason.lower():
        return f"TLS: the peer refused our certificate or protocol ({reason}); retrying"
    return f"TLS: {reason}; retrying"


__all__ = ["Puller", "HandshakeRefused", "unpack_vv"]
