"""A server and its clients in this process, without sockets: a mock transport records what
a client is sent (uvicorn's protocol tests do the same)."""

from __future__ import annotations

from typing import Any

from server.app import Server
from server.connection import Client


class MockTransport:
    def __init__(self) -> None:
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 6379)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def connect(server: Server) -> tuple[Client, MockTransport]:
    """A client connected to ``server`` over a mock transport."""
    client = Client(server)
    transport = MockTransport()
    client.connection_made(transport)  # type: ignore[arg-type]
    return client, transport
