"""A minimal raw RESP client for tests: sends commands, parses replies keeping their RESP type.

A reply is a ``Reply(type, value)`` where ``type`` is the RESP type byte (``+ - : $ * % ~ , # _ = > |``)
so that tests can compare exactly what a server sent (a status is not a bulk string).
"""

from __future__ import annotations

import socket
from typing import Any, NamedTuple


class Reply(NamedTuple):
    type: str
    value: Any

    def plain(self) -> Any:
        """The value with types stripped (maps as lists of pairs), for readable asserts."""
        if self.type in "*~>":
            return [r.plain() for r in self.value]
        if self.type == "%" or self.type == "|":
            return [(k.plain(), v.plain()) for k, v in self.value]
        return self.value


def encode_command(args: tuple[Any, ...] | list[Any]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        data = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class RespConnection:
    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def call(self, *args: Any) -> Reply:
        self.sock.sendall(encode_command(args))
        return self.read_reply()

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2 :]
        return data

    def read_reply(self) -> Reply:
        line = self._line()
        t, rest = chr(line[0]), line[1:]
        if t in "+-":
            return Reply(t, rest.decode("utf-8", "replace"))
        if t == ":":
            return Reply(t, int(rest))
        if t in "$=":
            n = int(rest)
            return Reply(t, None if n < 0 else self._exact(n))
        if t in ",(":  # double, big number
            return Reply(t, rest.decode())
        if t == "#":
            return Reply(t, rest == b"t")
        if t == "_":
            return Reply(t, None)
        if t in "*~>":
            n = int(rest)
            return Reply(t, None if n < 0 else [self.read_reply() for _ in range(n)])
        if t in "%|":
            n = int(rest)
            return Reply(t, [(self.read_reply(), self.read_reply()) for _ in range(n)])
        raise ValueError(f"unknown RESP type byte in {line!r}")


def client_entry(conn: RespConnection, field: str, value: str) -> dict[str, str] | None:
    """The fields of the first CLIENT LIST line whose ``field`` is ``value`` (None: none)."""
    for line in conn.call("CLIENT", "LIST").value.decode().splitlines():
        fields = dict(f.split("=", 1) for f in line.split(" ") if "=" in f)
        if fields.get(field) == value:
            return fields
    return None
