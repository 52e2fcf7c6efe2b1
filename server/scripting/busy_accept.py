"""Accepting new clients while a script is busy, as Redis's processEventsWhileBlocked runs
the listening sockets' accept handler too.

The loop is blocked in the script, so ``accept_new`` (called from ``busy.serve_others``)
polls the plain-TCP listening sockets itself with a zero-timeout ``select`` and accepts
non-blockingly (through a duplicate of the listening descriptor: the loop keeps its own). Each
connection becomes an ordinary ``Client`` whose transport is a ``StandIn`` writing straight to
the socket, set up by the client's own ``connection_made`` (so ``maxclients`` and protected
mode apply as for any connection). ``busy.serve_others`` then serves it like every other
client (``-BUSY``, SCRIPT KILL, AUTH, HELLO, SHUTDOWN NOSAVE ...). When the script ends,
``hand_over`` gives each socket to the loop (``connect_accepted_socket`` with the same
client as protocol): its request reader keeps whatever was read and not yet run, and output
the stand-in could not send yet goes out first on the real transport.

The TLS port is not polled: a TLS handshake cannot be started here and continued by the
loop's SSL transport, so TLS clients that connect meanwhile wait in the backlog until the
script ends (as before), then are accepted by the loop.
"""

from __future__ import annotations

import asyncio
import select
import socket
import weakref
from typing import TYPE_CHECKING, Any, cast

from server.connection import Client

if TYPE_CHECKING:
    from server.app import Server

MAX_ACCEPTS_PER_CALL = 1000  # Redis's networking.c

_PENDING: weakref.WeakKeyDictionary[Any, list[StandIn]] = weakref.WeakKeyDictionary()


class StandIn:
    """The part of an asyncio transport a ``Client`` uses, over a non-blocking socket, until
    the loop takes the socket over."""

    def __init__(self, sock: socket.socket, protocol: Client) -> None:
        self.sock = sock
        self.protocol: Any = protocol
        self.pending = bytearray()
        self.closed = False
        self.handed_over = False
        self._extra = {"peername": _name(sock.getpeername), "sockname": _name(sock.getsockname),
                       "socket": sock}

    # -- the transport API the server uses ---------------------------------------------------
    def write(self, data: bytes) -> None:
        if self.closed:
            return
        self.pending += data
        self._flush()

    def _flush(self) -> None:
        while self.pending:
            try:
                sent = self.sock.send(self.pending)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # reset: the loop (or close) notices
                self.pending.clear()
                return
            del self.pending[:sent]

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        if self.closed:
            return
        self._flush()
        self.closed = True
        self.sock.close()
        protocol = self.protocol
        try:  # as asyncio: connection_lost comes from the loop, after this call
            asyncio.get_running_loop().call_soon(protocol.connection_lost, None)
        except RuntimeError:
            protocol.connection_lost(None)

    def abort(self) -> None:
        self.pending.clear()
        self.close()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._extra.get(name, default)

    def get_write_buffer_size(self) -> int:
        return len(self.pending)

    def get_protocol(self) -> Any:
        return self.protocol

    def set_protocol(self, protocol: Any) -> None:
        self.protocol = protocol

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    # -- the hand-over -----------------------------------------------------------------------
    def hand_over(self, transport: Any) -> None:
        """The loop's transport replaces this one (``Client.connection_made``): what could not
        be sent yet goes out first."""
        self.handed_over = True
        if self.pending:
            transport.write(bytes(self.pending))
            self.pending.clear()


def _name(getter: Any) -> Any:
    try:
        return getter()
    except OSError:
        return None


def _listening(server: Server) -> list[Any]:
    return [s for srv in server._servers for s in cast(asyncio.Server, srv).sockets]


def accept_new(server: Server) -> None:
    """Accept the connections waiting on the plain-TCP listeners (none waiting: one select)."""
    listeners = {s.fileno(): s for s in _listening(server)}
    if not listeners:
        return
    try:
        readable, _, _ = select.select(list(listeners), [], [], 0)
    except (OSError, ValueError):
        return
    for fd in readable:
        lsock = listeners[fd]
        dup = socket.fromfd(fd, lsock.family, lsock.type)
        try:
            dup.setblocking(False)
            for _ in range(MAX_ACCEPTS_PER_CALL):
                try:
                    conn, _addr = dup.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as exc:  # out of descriptors...: the loop retries after the script
                    server.log.warning("Accepting client connection: %s", exc)
                    break
                _start(server, conn)
        finally:
            dup.close()


def _start(server: Server, conn: socket.socket) -> None:
    conn.setblocking(False)
    if conn.family in (socket.AF_INET, socket.AF_INET6):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client = Client(server)
    stand_in = StandIn(conn, client)
    client.connection_made(cast(Any, stand_in))  # registers it (or refuses: maxclients, protected mode)
    _PENDING.setdefault(server, []).append(stand_in)


def hand_over(server: Server) -> None:
    """The script ended: give the sockets accepted meanwhile to the loop."""
    stand_ins = _PENDING.pop(server, None)
    if not stand_ins:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop (cannot happen when serving): the stand-ins keep serving
        _PENDING[server] = stand_ins
        return
    for stand_in in stand_ins:
        if not stand_in.closed:
            loop.create_task(_adopt(server, stand_in))


async def _adopt(server: Server, stand_in: StandIn) -> None:
    client = stand_in.protocol
    if stand_in.closed or client.transport is not stand_in:
        return
    loop = asyncio.get_running_loop()
    try:
        await loop.connect_accepted_socket(lambda: client, stand_in.sock)
    except OSError as exc:
        server.log.warning("Handing over a client accepted during a busy script: %s", exc)
        stand_in.close()
        return
    reader = client.reader
    if reader.deferred and not client.closing:  # commands held back until an AUTH had run
        client.data_received(b"")
