"""The peer-link handshake, both halves, and the protocol a link speaks once it is accepted.

A link starts as an ordinary client connection to the peer's port (``wire`` has the format):

* client half (``request_sync``, run by a ``Puller``): ``AUTH [peer-user] peer-password`` when
  configured,
  then ``CRDT.SYNC <wire-version> <region> <instance-id> <log-version> <vv> <log|state>``; the
  answer is ``+SYNC <region> <instance-id> <mode>`` or an error.
* server half (``accept_sync``, called by the server's ``CRDT.SYNC`` handler): check what the
  peer says about itself, open a ``Streamer`` from its VV, and return the ``+SYNC`` text and a
  ``PeerLinkProtocol``. Once the reply is written, the server hands the connection's transport
  to that protocol (``transport.set_protocol``); from then on the connection carries frames and
  the server's client code knows nothing of it.

Every refusal is a ``SyncRefused`` whose text is the error reply, so a malformed handshake
(a fuzzer's non-UTF-8 region name, a VV that is not one) is answered, never raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .oplog import LOG_VERSION
from .wire import WIRE_VERSION, pack_vv, unpack_vv

if TYPE_CHECKING:
    from .puller import Puller
    from .replicator import Replicator
    from .streamer import Streamer

HANDSHAKE_TIMEOUT_S = 3.0
SYNC_MODES = (b"log", b"state")


class SyncRefused(Exception):
    """CRDT.SYNC cannot start a link; the message is the error reply (``ERR``/``CRDTERR`` …)."""


class HandshakeRefused(Exception):
    """The peer refused us for a reason that retrying will not fix by itself."""


class PeerBusy(Exception):
    """The peer answered ``-BUSY`` (a script past busy-reply-threshold) or ``-LOADING``:
    it will take the link once that ends, so retry soon and quietly."""


# -- names ----------------------------------------------------------------------------------


def valid_name(name: str) -> bool:
    """A region name or instance id a link can carry: printable, no spaces (the ``+SYNC``
    reply is split on them), no ``/`` (an origin is ``region/epoch``)."""
    return bool(name) and name.isprintable() and not any(ch.isspace() or ch == "/" for ch in name)


def _name_arg(arg: bytes, what: str) -> str:
    try:
        name = arg.decode("utf-8")
    except UnicodeDecodeError:
        raise SyncRefused(f"ERR invalid {what}: not valid UTF-8") from None
    if not valid_name(name):
        raise SyncRefused(f"ERR invalid {what} '{name.encode('unicode_escape').decode()}': "
                          "it must be non-empty printable text without spaces or '/'")
    return name


# -- server half ----------------------------------------------------------------------------


def accept_sync(rep: Replicator, version: int, region_arg: bytes, instance_arg: bytes,
                log_version: int, vv_arg: bytes, mode_arg: bytes, address: str,
                on_lost: Callable[[Exception | None], None]) -> tuple[str, PeerLinkProtocol]:
    """A peer's ``CRDT.SYNC``: the ``+SYNC`` status text and the protocol the connection is to
    be handed to once that reply is written. Raises ``SyncRefused``. ``on_lost`` is called
    when the link's connection is gone (the server forgets the connection then)."""
    region = _name_arg(region_arg, "region name")
    instance = _name_arg(instance_arg, "instance id")
    if version != WIRE_VERSION:
        raise SyncRefused(f"CRDTERR incompatible wire version {version} (this region speaks {WIRE_VERSION})")
    if log_version != LOG_VERSION:
        raise SyncRefused(f"CRDTERR incompatible log version {log_version} (this region writes {LOG_VERSION})")
    if region == rep.name:
        rep.log.warning("refused a peer link from %s: it claims our own region name '%s'", address, region)
        raise SyncRefused(f"CRDTERR duplicate region name '{region}': it is this region's own name")
    for other in rep.streamers:
        if other.peer == region and other.instance != instance and not other.closed:
            rep.log.warning("refused a peer link from %s: region name '%s' is already in use by "
                            "another instance", address, region)
            raise SyncRefused(f"CRDTERR duplicate region name '{region}': another instance is connected")
    try:
        peer_vv = unpack_vv(vv_arg)
    except Exception:
        raise SyncRefused("CRDTERR malformed version vector") from None
    mode = mode_arg.lower()
    if mode not in SYNC_MODES:
        raise SyncRefused(f"ERR unknown sync mode '{mode_arg.decode('utf-8', 'replace')}' (log or state)")
    link = PeerLinkProtocol(on_lost)
    try:
        streamer, how = rep.open_stream(region, peer_vv, mode == b"state", link.write, link.close,
                                        link.buffered_bytes)
    except OSError as exc:  # the snapshot a state sync needs could not be written
        raise SyncRefused(f"CRDTERR cannot write the snapshot for a state sync: "
                          f"{exc.strerror or exc}") from None
    streamer.instance = instance
    link.streamer = streamer
    rep.log.info("peer %s (%s) pulls our log (%s mode)", region, address, how)
    return f"SYNC {rep.name} {rep.instance_id} {how}", link


class PeerLinkProtocol(asyncio.Protocol):
    """Our end of a link a peer opened (the peer pulls our log): frames out, ACKs in.

    ``connection_made`` is called when the server hands the transport over, after the
    ``+SYNC`` reply; the stream starts then. Writes before it (there are none: the streamer
    sends only once pumped) are held and go out first."""

    def __init__(self, on_lost: Callable[[Exception | None], None] = lambda exc: None) -> None:
        self.streamer: Streamer | None = None
        self.transport: Any = None  # uvloop's transports are not asyncio.Transport subclasses
        self._on_lost = on_lost
        self._early = bytearray()
        self._lost = False

    # -- what the streamer calls --------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)
        else:
            self._early += data

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def buffered_bytes(self) -> int:
        return self.transport.get_write_buffer_size() if self.transport is not None else 0

    # -- asyncio.Protocol -----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if self._early:
            transport.write(bytes(self._early))  # type: ignore[attr-defined]
            self._early.clear()
        if self.streamer is not None:
            self.streamer.pump()

    def data_received(self, data: bytes) -> None:
        if self.streamer is not None:
            self.streamer.data_received(data)

    def pause_writing(self) -> None:
        if self.streamer is not None:
            self.streamer.pause()

    def resume_writing(self) -> None:
        if self.streamer is not None:
            self.streamer.resume()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._lost:
            return
        self._lost = True
        if self.streamer is not None:
            self.streamer.close()
        self._on_lost(exc)


# -- client half ----------------------------------------------------------------------------


def resp_command(*args: bytes | str) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        data = a.encode() if isinstance(a, str) else a
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


async def _reply_line(reader: asyncio.StreamReader) -> bytes:
    """One handshake reply. A connection closed before it (the peer, or something on the way
    to it, is not up) is a network failure to retry soon, not a refusal."""
    line = await asyncio.wait_for(reader.readline(), HANDSHAKE_TIMEOUT_S)
    if not line.endswith(b"\n"):
        raise ConnectionError("connection closed during the handshake")
    return line


async def request_sync(rep: Replicator, puller: Puller, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> tuple[str, str]:
    """Our side of a link we open: authenticate, ask for the peer's log from our VV.
    Returns the peer's (region, instance id). Raises ``HandshakeRefused`` when the peer (or
    what it says it is) refuses the link, a network error when the connection fails."""
    if rep.peer_user:  # AUTH user password (a nopass user takes any password)
        writer.write(resp_command("AUTH", rep.peer_user, rep.peer_password))
    elif rep.peer_password:
        writer.write(resp_command("AUTH", rep.peer_password))
    if rep.peer_user or rep.peer_password:
        line = await _reply_line(reader)
        if not line.startswith(b"+OK"):
            raise HandshakeRefused(f"authentication refused: {line.decode(errors='replace').strip()}")
    mode = b"state" if rep.needs_state_from(puller.address) else b"log"
    writer.write(resp_command(
        "CRDT.SYNC", str(WIRE_VERSION), rep.name, rep.instance_id, str(rep.log_version),
        pack_vv(rep.ks.vv), mode,
    ))
    line = await _reply_line(reader)
    if not line.startswith(b"+SYNC "):
        text = line.decode(errors="replace").strip().lstrip("-")
        if text.startswith(("BUSY ", "LOADING ")):
            raise PeerBusy(text)
        raise HandshakeRefused(f"peer refused the link: {text}")
    _, peer, instance, _mode = line.decode().split()
    problem = rep.check_peer_identity(peer, instance, puller)
    if problem:
        raise HandshakeRefused(problem)
    return peer, instance
