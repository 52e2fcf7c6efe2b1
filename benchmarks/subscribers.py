"""Subscribers for the PUBLISH benchmark row: ``n`` connections SUBSCRIBEd to one channel,
drained by one thread until stopped (so the server's pushes never back up)."""

from __future__ import annotations

import selectors
import socket
import threading
from types import TracebackType


class Subscribers:
    def __init__(self, port: int, n: int, channel: bytes) -> None:
        self.socks = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(channel), channel))
            s.recv(4096)  # the subscribe confirmation
            s.setblocking(False)
            self.socks.append(s)
        self.received_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)

    def _drain(self) -> None:
        sel = selectors.DefaultSelector()
        for s in self.socks:
            sel.register(s, selectors.EVENT_READ)
        while not self._stop.is_set():
            for key, _ in sel.select(timeout=0.1):
                try:
                    data = key.fileobj.recv(1 << 20)  # type: ignore[union-attr]
                except BlockingIOError:
                    continue
                self.received_bytes += len(data)
        sel.close()

    def __enter__(self) -> Subscribers:
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(5)
        for s in self.socks:
            s.close()
