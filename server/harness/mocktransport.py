"""An asyncio transport without a socket, for driving protocols in-process (uvicorn's protocol
tests do the same): what is written is recorded (or, for benchmarks, only counted), and a
protocol handed over with ``set_protocol`` is kept where a test can reach it."""

from __future__ import annotations

from typing import Any


class MockTransport:
    def __init__(self, keep: bool = True, buffered: int = 0,
                 peername: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self.peername = peername  # the client's address, as the socket would say
        self.keep = keep  # False: count the bytes written, keep nothing (a benchmark's clients)
        self.buffered = buffered  # what get_write_buffer_size reports
        self.written = bytearray()
        self.bytes = 0
        self.closed = False
        self.reading = True
        self.protocol: Any = None

    def write(self, data: bytes) -> None:
        self.bytes += len(data)
        if self.keep:
            self.written += data

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": self.peername, "sockname": ("127.0.0.1", 6379)}.get(name, default)

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def set_protocol(self, protocol: Any) -> None:
        self.protocol = protocol

    def get_protocol(self) -> Any:
        return self.protocol
