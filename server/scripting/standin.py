"""The transport of a client accepted while a script is busy (``busy_accept``), until the
loop takes its socket over: the part of an asyncio transport a ``Client`` uses, over a
non-blocking socket."""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.connection import Client


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
