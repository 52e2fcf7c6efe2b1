"""client-output-buffer-limit: a client that stops reading while it is sent large replies is
closed at the hard limit (or after the soft seconds above the soft limit), and the server's
memory stays bounded."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import redis

from server.harness.processes import ServerProcess, start_activekv, start_redis
from server.harness.waiting import wait_for as _wait
from tests.respclient import encode_command

ITEMS = 20_000
ITEM = b"x" * 100  # LRANGE big 0 -1: ~2.4 MB per reply


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with start_activekv("--client-output-buffer-limit", "normal 1mb 256kb 1") as proc:
        r = redis.Redis(port=proc.port)
        pipe = r.pipeline(transaction=False)
        for _ in range(0, ITEMS, 1000):
            pipe.rpush("big", *[ITEM] * 1000)
        for i in range(ITEMS):
            pipe.set(f"key:{i:06d}:" + "k" * 40, 1)
        pipe.execute()
        r.close()
        yield proc


def _lazy_client(port: int) -> socket.socket:
    """A connection that will not read: a tiny receive window, so replies back up at us."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    return s


def _client_ids(r: redis.Redis) -> set[int]:
    return {c["id"] for c in r.client_list()}


def _stat(r: redis.Redis) -> int:
    return int(r.info("stats")["client_output_buffer_limit_disconnections"])


@pytest.mark.parametrize("command", [("LRANGE", "big", 0, -1), ("KEYS", "*")])
def test_hard_limit_closes_a_client_that_does_not_read(server: ServerProcess, command: tuple[object, ...]) -> None:
    r = redis.Redis(port=server.port)
    try:
        before_ids, before = _client_ids(r), _stat(r)
        rss_before = int(r.info("memory")["used_memory_rss"])
        lazy = _lazy_client(server.port)
        try:
            lazy.sendall(encode_command(("CLIENT", "ID")))
            time.sleep(0.2)
            lazy_ids = _client_ids(r) - before_ids
            assert len(lazy_ids) == 1
            lazy.sendall(encode_command(command) * 40)  # ~100 MB of replies if all were kept
            _wait(lambda: _stat(r) == before + 1, 10, "the limit to close the lazy client")
            assert not lazy_ids & _client_ids(r)
            rss_after = int(r.info("memory")["used_memory_rss"])
            assert rss_after - rss_before < 40 * 1024**2, (rss_before, rss_after)
            assert "closed for overcoming of output buffer limits" in server.log()
        finally:
            lazy.close()
        assert r.ping()  # the server and its other clients carry on
    finally:
        r.close()


def test_a_reading_client_gets_its_replies(server: ServerProcess) -> None:
    r = redis.Redis(port=server.port)
    try:
        before = _stat(r)
        for _ in range(3):
            assert len(r.lrange("big", 0, 999)) == 1000  # ~100 KB: under every limit
        assert _stat(r) == before
    finally:
        r.close()


def test_soft_limit_closes_after_soft_seconds(server: ServerProcess) -> None:
    r = redis.Redis(port=server.port)
    try:
        r.config_set("client-output-buffer-limit", "normal 0 256kb 1")
        before = _stat(r)
        lazy = _lazy_client(server.port)
        try:
            # ~24 MB of replies (more than the kernel's socket buffers take), then nothing
            lazy.sendall(encode_command(("LRANGE", "big", 0, -1)) * 10)
            time.sleep(0.6)
            assert _stat(r) == before  # above the soft limit, but not for a second yet
            _wait(lambda: _stat(r) == before + 1, 5, "the soft limit to close the client")
        finally:
            lazy.close()
    finally:
        r.config_set("client-output-buffer-limit", "normal 1mb 256kb 1")
        r.close()


def test_no_limit_by_default_keeps_the_client() -> None:
    """normal 0 0 0 (Redis's default): a slow reader is not closed; it gets every byte."""
    with start_activekv() as proc:
        r = redis.Redis(port=proc.port)
        try:
            r.rpush("big", *[ITEM] * 5000)
            lazy = _lazy_client(proc.port)
            try:
                lazy.sendall(encode_command(("LRANGE", "big", 0, -1)) * 3)
                time.sleep(1.2)
                assert _stat(r) == 0
                lazy.settimeout(10)
                got = 0
                while got < 3 * 5000 * 106:
                    chunk = lazy.recv(1 << 20)
                    assert chunk
                    got += len(chunk)
            finally:
                lazy.close()
        finally:
            r.close()


def test_redis_closes_the_same_lazy_client() -> None:
    """The same scenario against redis-server 7.0.15 (the reference): it closes the client too,
    and like ours keeps serving the others."""
    with start_redis("--client-output-buffer-limit", "normal 1mb 256kb 1") as ref:
        r = redis.Redis(port=ref.port)
        try:
            r.rpush("big", *[ITEM] * ITEMS)
            before_ids = _client_ids(r)
            lazy = _lazy_client(ref.port)
            try:
                lazy.sendall(encode_command(("CLIENT", "ID")))
                time.sleep(0.2)
                lazy_ids = _client_ids(r) - before_ids
                assert len(lazy_ids) == 1
                lazy.sendall(encode_command(("LRANGE", "big", 0, -1)) * 40)
                _wait(lambda: not lazy_ids & _client_ids(r), 10, "redis to close the lazy client")
            finally:
                lazy.close()
            assert r.ping()
        finally:
            r.close()
