"""Protected mode: without a password, only loopback clients are served; the others get Redis's
exact -DENIED reply and are closed. The decision is unit-tested, driven in-process with a
non-loopback peer address, and end to end (against redis-server) through this machine's own
non-loopback address when it has one — the connection still never leaves the host."""

from __future__ import annotations

import fcntl
import socket
import struct

import redis

from server import protected
from server.app import Server
from server.config import Config
from server.connection import Client
from server.harness.mocktransport import MockTransport
from server.harness.processes import start_activekv, start_redis

SIOCGIFADDR = 0x8915


def own_non_loopback_ipv4() -> str | None:
    """An IPv4 address of one of this machine's interfaces other than loopback, if any."""
    for _, name in socket.if_nameindex():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                packed = fcntl.ioctl(s.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue
        addr = socket.inet_ntoa(packed[20:24])
        if not addr.startswith("127."):
            return addr
    return None


def test_decision() -> None:
    assert protected.denies(True, False, ("192.0.2.2", 5000))
    assert protected.denies(True, False, ("10.1.2.3", 1))
    assert protected.denies(True, False, ("127.0.0.2", 1))  # Redis 7.0: only these two are local
    assert protected.denies(True, False, ("::ffff:127.0.0.1", 1, 0, 0))
    assert not protected.denies(True, False, ("127.0.0.1", 5000))
    assert not protected.denies(True, False, ("::1", 5000, 0, 0))
    assert not protected.denies(True, False, "/tmp/redis.sock")  # a Unix socket
    assert not protected.denies(True, True, ("192.0.2.2", 5000))  # a password is set
    assert not protected.denies(False, False, ("192.0.2.2", 5000))  # protected-mode no


def _connect(server: Server, host: str) -> tuple[Client, MockTransport]:
    client = Client(server)
    transport = MockTransport(peername=(host, 40000))
    client.connection_made(transport)  # type: ignore[arg-type]
    return client, transport


def test_in_process_a_remote_client_is_denied_and_closed() -> None:
    server = Server(Config(region="pm"), sink=_NullSink())
    client, transport = _connect(server, "192.0.2.2")
    assert bytes(transport.written) == protected.DENIED and transport.closed
    assert server.stats.rejected_connections == 1
    client.connection_lost(None)
    assert not server.clients
    local, t2 = _connect(server, "127.0.0.1")
    assert not t2.closed and t2.written == b""
    server.config.protected_mode = False
    _, t3 = _connect(server, "192.0.2.2")
    assert not t3.closed
    server.config.protected_mode = True
    server.acl.set_requirepass("secret")  # the default user has a password now
    _, t4 = _connect(server, "192.0.2.2")
    assert not t4.closed


class _NullSink:
    def append(self, batch: object) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def _denied_reply(port: int, host: str) -> bytes:
    """Connect from ``host`` to ``host:port``, read what the server says at once (the -DENIED
    reply, then the close), or else send PING and read its reply. Nothing is sent before the
    refusal could come: unread bytes would make the server's close a reset."""
    with socket.create_connection((host, port), timeout=5, source_address=(host, 0)) as s:
        s.settimeout(0.5)
        try:
            first = s.recv(65536)
        except TimeoutError:
            first = None
        s.settimeout(5)
        if first is not None:
            data = first
            while chunk := s.recv(65536):
                data += chunk
            return data
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk
            if data == b"+PONG\r\n":
                return data


def test_end_to_end_against_redis() -> None:
    host = own_non_loopback_ipv4()
    if host is None:  # no such address here: loopback must still be served (and is by default)
        with start_activekv() as ours:
            assert redis.Redis(port=ours.port).ping()
        return
    bind = ["--bind", f"127.0.0.1 {host}"]
    with start_redis(*bind) as ref, start_activekv(*bind) as ours:
        for proc in (ref, ours):
            assert _denied_reply(proc.port, host) == protected.DENIED
            local = redis.Redis(port=proc.port)
            try:
                assert local.ping()  # loopback is served
                assert local.info("stats")["rejected_connections"] == 1
                local.config_set("protected-mode", "no")
                assert _denied_reply(proc.port, host) == b"+PONG\r\n"
                local.config_set("protected-mode", "yes")
                local.config_set("requirepass", "secret")
                with socket.create_connection((host, proc.port), timeout=5, source_address=(host, 0)) as s:
                    s.sendall(b"*1\r\n$4\r\nPING\r\n")
                    assert s.recv(100) == b"-NOAUTH Authentication required.\r\n"
            finally:
                local.close()
