"""The peer link wire format.

A link starts as a client connection to the peer's normal port: ``AUTH`` (when the peer has a
password), then ``CRDT.SYNC <wire-version> <region> <instance-id> <log-version> <vv>`` where
``vv`` is msgpack. The peer answers ``+SYNC <region> <instance-id> <log|state>`` or an error,
then the connection carries frames both ways (``peerlink`` has both halves of the handshake
and the protocol the accepted connection is handed to)::

    u8 type | u32 length | payload

peer -> puller: BATCH (a ``crdt.codec`` batch, exactly as logged), STATE_DATA (a chunk of a
snapshot stream), STATE_END, HEARTBEAT (msgpack ``[vv_at_cursor, now_ms]``: the sender's VV as of
the stream position, which tells what it had applied when it made anything that follows).
puller -> peer: ACK (msgpack VV of everything the puller has applied and logged).
peer -> puller: PUBLISH (msgpack ``[shard, channel, message]``: a PUBLISH or SPUBLISH made at
the sender, for the puller's local subscribers; never logged, never relayed, dropped while the
link is down or its socket pushes back: at-most-once, SEMANTICS "Pub/sub").
"""

from __future__ import annotations

import struct

import msgpack

WIRE_VERSION = 1
FRAME = struct.Struct("<BI")
F_BATCH, F_STATE_DATA, F_STATE_END, F_HEARTBEAT, F_ACK, F_PUBLISH = 1, 2, 3, 4, 5, 6
MAX_FRAME = 64 * 1024 * 1024
MAX_ACK = 1024 * 1024  # a version vector: a few bytes per region
# What each end of a link accepts, and how large: a puller reads everything but ACK, a
# streamer only ACKs.
PULLER_FRAMES = {F_BATCH: MAX_FRAME, F_STATE_DATA: MAX_FRAME, F_STATE_END: MAX_FRAME,
                 F_HEARTBEAT: MAX_ACK, F_PUBLISH: MAX_FRAME}
STREAMER_FRAMES = {F_ACK: MAX_ACK}


class FrameError(ValueError):
    """A frame a peer sent is not what its type says it is (a broken or hostile peer): the
    link is dropped before anything of it is applied."""


def frame(ftype: int, payload: bytes) -> bytes:
    return FRAME.pack(ftype, len(payload)) + payload


def pack_vv(vv: dict[str, int]) -> bytes:
    return msgpack.packb(vv)


def unpack_vv(data: bytes) -> dict[str, int]:
    vv = msgpack.unpackb(data, raw=False)
    if not isinstance(vv, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and v >= 0 for k, v in vv.items()
    ):
        raise ValueError("malformed version vector")
    return vv


def _unpack(payload: bytes, what: str) -> object:
    try:
        return msgpack.unpackb(payload, raw=False)
    except Exception as exc:  # msgpack raises several types for malformed input
        raise FrameError(f"malformed {what} frame: {exc}") from None


def unpack_heartbeat(payload: bytes) -> tuple[dict[str, int], int]:
    """A HEARTBEAT payload: ``(vv_at_cursor, now_ms)``; ``FrameError`` if it is not one."""
    hb = _unpack(payload, "heartbeat")
    if not isinstance(hb, list) or len(hb) != 2 or type(hb[1]) is not int:
        raise FrameError("malformed heartbeat frame")
    try:
        vv = unpack_vv(msgpack.packb(hb[0]))
    except ValueError:
        raise FrameError("malformed heartbeat frame: not a version vector") from None
    return vv, hb[1]


def unpack_publish(payload: bytes) -> tuple[bool, bytes, bytes]:
    """A PUBLISH payload: ``(shard, channel, message)``; ``FrameError`` if it is not one."""
    pub = _unpack(payload, "publish")
    if (not isinstance(pub, list) or len(pub) != 3 or type(pub[1]) is not bytes
            or type(pub[2]) is not bytes):
        raise FrameError("malformed publish frame")
    return bool(pub[0]), pub[1], pub[2]


class FrameReader:
    """Incremental frame parser for a protocol's data_received.

    ``limits`` maps each frame type this end accepts to its largest payload: a header of any
    other type, or one over its type's limit, is a ``FrameError`` as soon as the header has
    arrived, never a wait for a payload that a broken peer may never send."""

    def __init__(self, limits: dict[int, int]) -> None:
        self.buf = bytearray()
        self.limits = limits

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self.buf += data
        out: list[tuple[int, bytes]] = []
        off = 0
        while len(self.buf) - off >= FRAME.size:
            ftype, length = FRAME.unpack_from(self.buf, off)
            limit = self.limits.get(ftype)
            if limit is None:
                raise FrameError(f"unexpected frame type {ftype}")
            if length > limit:
                raise FrameError(f"frame of {length} bytes is over the limit")
            end = off + FRAME.size + length
            if end > len(self.buf):
                break
            out.append((ftype, bytes(self.buf[off + FRAME.size : end])))
            off = end
        del self.buf[:off]
        return out
