"""A loopback server that accepts connections and never replies (a target that hangs:
MIGRATE's timeouts are tested against it). ``close()`` stops it and closes what it accepted."""

from __future__ import annotations

import socket
import threading


class Silent:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_server((host, 0))
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)
            self._accepted(conn)

    def _accepted(self, conn: socket.socket) -> None:
        """A silent target does nothing with a connection it accepted."""

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        for conn in self.conns:
            conn.close()
        self.sock.close()

    def __enter__(self) -> Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Scripted(Silent):
    """A loopback "target" that reads ``commands`` RESP commands from each connection, then
    answers ``replies`` and closes it (a target that fails half-way through a MIGRATE)."""

    def __init__(self, replies: bytes, commands: int, host: str = "127.0.0.1") -> None:
        self.replies = replies
        self.commands = commands
        super().__init__(host)

    def _accepted(self, conn: socket.socket) -> None:
        threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        import hiredis

        reader = hiredis.Reader()
        seen = 0
        conn.settimeout(5)
        try:
            while seen < self.commands:
                data = conn.recv(65536)
                if not data:
                    return
                reader.feed(data)
                while reader.gets() is not False:
                    seen += 1
            conn.sendall(self.replies)
        except OSError:
            return
        finally:
            conn.close()
