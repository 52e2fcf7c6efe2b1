"""``client-output-buffer-limit pubsub``: a subscriber that stops reading is disconnected once
its pending output passes the hard limit, or stays over the soft limit longer than the soft
seconds; a subscriber that reads is not; the server keeps serving and its memory stays bounded.
The limits are set by CONFIG SET (Redis's syntax) on one activekv process."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from server.harness.processes import ServerProcess, start_activekv
from tests.respclient import RespConnection, encode_command

MESSAGE = b"x" * 16384


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with start_activekv() as proc:
        yield proc


def _stalled_subscriber(port: int, channel: str) -> socket.socket:
    """A subscriber with a small receive buffer that never reads after subscribing."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(encode_command(("SUBSCRIBE", channel)))
    return sock


def _numsub(conn: RespConnection, channel: str) -> int:
    return int(conn.call("PUBSUB", "NUMSUB", channel).value[1].value)


def _used_memory(conn: RespConnection) -> int:
    info = conn.call("INFO", "memory").value.decode()
    for line in info.splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    raise AssertionError("no used_memory in INFO memory")


def _publish_until_dropped(conn: RespConnection, channel: str, max_messages: int) -> int:
    """Publish until nobody is subscribed to ``channel``; the number published."""
    for n in range(1, max_messages + 1):
        if conn.call("PUBLISH", channel, MESSAGE).value == 0:
            return n
    raise AssertionError(f"subscriber still connected after {max_messages} messages")


def test_hard_limit_disconnects_a_subscriber_that_does_not_read(server: ServerProcess) -> None:
    conn = RespConnection(server.port, timeout=5.0)
    try:
        assert conn.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 0 0").value == "OK"
        stalled = _stalled_subscriber(server.port, "firehose")
        reader = RespConnection(server.port, timeout=5.0)
        assert reader.call("SUBSCRIBE", "firehose").type == "*"
        deadline = time.monotonic() + 5
        while _numsub(conn, "firehose") != 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        # 1 MB plus whatever the kernel's socket buffers absorb (a few MB at most on loopback).
        published = 0
        while published < 2000 and _numsub(conn, "firehose") == 2:
            conn.call("PUBLISH", "firehose", MESSAGE)
            published += 1
            reader.read_reply()  # the reading subscriber keeps up
        assert _numsub(conn, "firehose") == 1, "the stalled subscriber was never disconnected"
        assert published * len(MESSAGE) < 24 * 1024**2
        assert conn.call("PING").value == "PONG"
        assert reader.call("PING").value[0].value == b"pong"  # the reader is still subscribed
        stalled.close()
        reader.close()
    finally:
        conn.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60")
        conn.close()


def test_soft_limit_needs_the_soft_seconds(server: ServerProcess) -> None:
    conn = RespConnection(server.port, timeout=5.0)
    try:
        assert conn.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 256kb 1").value == "OK"
        stalled = _stalled_subscriber(server.port, "slow")
        deadline = time.monotonic() + 5
        while _numsub(conn, "slow") != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        for _ in range(400):  # well over the soft limit and the socket buffers (no hard limit)
            conn.call("PUBLISH", "slow", MESSAGE)
        if time.monotonic() - started < 0.8:  # over the soft limit for less than its 1 s
            assert _numsub(conn, "slow") == 1
        time.sleep(1.1)
        _publish_until_dropped(conn, "slow", 50)  # over the soft limit for longer than 1 s
        memory = _used_memory(conn)
        assert memory < 512 * 1024**2
        stalled.close()
    finally:
        conn.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60")
        conn.close()


def test_config_syntax_matches_redis(server: ServerProcess) -> None:
    conn = RespConnection(server.port, timeout=5.0)
    try:
        value = conn.call("CONFIG", "GET", "client-output-buffer-limit").value[1].value
        assert value == b"normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    finally:
        conn.close()
