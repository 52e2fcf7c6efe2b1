"""Accepting new clients while a script is busy, as Redis's processEventsWhileBlocked runs
the listening sockets' accept handler too.

The loop is blocked in the script, so ``accept_new`` (called from ``busy.serve_others``)
polls the listening sockets (plain TCP and TLS) itself with a zero-timeout ``select`` and accepts
non-blockingly (through a duplicate of the listening descriptor: the loop keeps its own). Each
connection becomes an ordinary ``Client`` whose transport is a ``StandIn`` writing straight to
the socket, set up by the client's own ``connection_made`` (so ``maxclients`` and protected
mode apply as for any connection). ``busy.serve_others`` then serves it like every other
client (``-BUSY``, SCRIPT KILL, AUTH, HELLO, SHUTDOWN NOSAVE ...). When the script ends,
``hand_over`` gives each socket to the loop (``connect_accepted_socket`` with the same
client as protocol): its request reader keeps whatever was read and not yet run, and output
the stand-in could not send yet goes out first on the real transport. A TLS connection
keeps its own TLS session for its lifetime (``busy_tls``: asyncio's SSL transport cannot take
over an established session).
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
import weakref
from typing import TYPE_CHECKING, Any, cast

from server.connection import Client
from server.scripting.busy_tls import Bridge, TlsStandIn
from server.scripting.standin import StandIn

if TYPE_CHECKING:
    from server.app import Server

MAX_ACCEPTS_PER_CALL = 1000  # Redis's networking.c

_PENDING: weakref.WeakKeyDictionary[Any, list[StandIn]] = weakref.WeakKeyDictionary()


def _listening(server: Server) -> dict[int, tuple[Any, ssl.SSLContext | None]]:
    """fd -> (listening socket, TLS context or None), plain TCP and TLS ports."""
    out: dict[int, tuple[Any, ssl.SSLContext | None]] = {}
    for servers, context in ((server._servers, None), (server._tls_servers, server.tls_context)):
        for srv in servers:
            for sock in cast(asyncio.Server, srv).sockets:
                out[sock.fileno()] = (sock, context)
    return out


def accept_new(server: Server) -> None:
    """Accept the connections waiting on the listeners (none waiting: one select)."""
    _finish_refusals(server)
    listeners = _listening(server)
    if not listeners:
        return
    try:
        readable, _, _ = select.select(list(listeners), [], [], 0)
    except (OSError, ValueError):
        return
    for fd in readable:
        lsock, context = listeners[fd]
        if lsock.type != socket.SOCK_STREAM:
            continue
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
                _start(server, conn, context)
        finally:
            dup.close()


def _finish_refusals(server: Server) -> None:
    """TLS connections refused (maxclients, protected mode) before their handshake completed
    are not clients any more, so the busy poll does not read them: go on with the handshake
    here, so that the refusal reaches them and they are closed."""
    for stand_in in _PENDING.get(server, ()):
        if isinstance(stand_in, TlsStandIn) and stand_in.close_pending and not stand_in.closed:
            try:
                data = stand_in.sock.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if data:
                stand_in.decrypt(data)
            else:
                stand_in.abort()


def _start(server: Server, conn: socket.socket, context: ssl.SSLContext | None) -> None:
    conn.setblocking(False)
    if conn.family in (socket.AF_INET, socket.AF_INET6):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client = Client(server)
    stand_in = StandIn(conn, client) if context is None else TlsStandIn(conn, client, context)
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
    factory: Any = (lambda: Bridge(stand_in)) if isinstance(stand_in, TlsStandIn) else (lambda: client)
    try:
        await loop.connect_accepted_socket(factory, stand_in.sock)
    except OSError as exc:
        server.log.warning("Handing over a client accepted during a busy script: %s", exc)
        stand_in.close()
        return
    reader = client.reader
    if reader.deferred and not client.closing:  # commands held back until an AUTH had run
        client.data_received(b"")
