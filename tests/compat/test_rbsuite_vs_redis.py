"""The replies of redis-benchmark's default suite's heavier tests against a real redis-server,
byte for byte: LRANGE's pre-encoded bulk array (``_range_reply`` of server/commands/lists.py), the array
encoder's bulk-string fast path, and MSET with a key given more than once (the default suite's
``MSET`` sends ``key:__rand_int__`` ten times) — RESP2 and RESP3, in MULTI and in scripts."""

from __future__ import annotations

import socket
import time

from server.harness.processes import ServerProcess
from tests.compat.helpers import connect
from tests.conftest import Differential


def raw_reply(port: int, protocol: int, *commands: bytes) -> bytes:
    """The exact bytes a server sends for ``commands`` (inline), up to a closing PING's +PONG."""
    with socket.create_connection(("127.0.0.1", port), timeout=5.0) as s:
        hello = b"HELLO 3\r\n" if protocol == 3 else b""
        s.sendall(hello + b"".join(c + b"\r\n" for c in commands) + b"PING\r\n")
        data = b""
        deadline = time.monotonic() + 5.0
        while not data.endswith(b"+PONG\r\n") and time.monotonic() < deadline:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            data += chunk
    assert data.endswith(b"+PONG\r\n"), data[-200:]
    if protocol == 3:  # the HELLO map differs (server name, id): drop it
        data = data[data.index(b"\r\n", data.index(b"mode")) + 2:]
        data = data[data.index(b"\r\n", data.index(b"modules")) + 2:]
    return data


def test_lrange_bulk_array(diff: Differential) -> None:
    # redis-benchmark's fill: LPUSH mylist xxx, then LRANGE_100 .. LRANGE_600
    for _ in range(7):
        diff.check("LPUSH", "mylist", *(["xxx"] * 100))
    for n in (100, 300, 450, 600):
        diff.check("LRANGE", "mylist", "0", str(n - 1))
    # element lengths around the pre-encoded header table (1024) and the empty string
    diff.check("RPUSH", "sizes", "", "a", "x" * 1023, "y" * 1024, "z" * 5000, "\r\n\x00")
    diff.check_all(
        ("LRANGE", "sizes", "0", "-1"),
        ("LRANGE", "sizes", "-3", "-2"),
        ("LRANGE", "sizes", "2", "2"),
        ("LRANGE", "sizes", "5", "1"),
        ("LRANGE", "sizes", "100", "200"),
        ("LRANGE", "nosuch", "0", "-1"),
        ("LRANGE", "sizes", "x", "1"),
        ("LRANGE", "sizes", "0"),
        ("EVAL", "return redis.call('LRANGE', KEYS[1], 0, -1)", "1", "sizes"),
        ("EVAL", "return #redis.call('LRANGE', KEYS[1], 0, -1)", "1", "mylist"),
        ("MULTI",), ("LRANGE", "sizes", "0", "2"), ("LRANGE", "nosuch", "0", "1"), ("EXEC",),
    )


def test_arrays_of_bulk_strings_and_others(diff: Differential) -> None:
    diff.check_all(
        ("MSET", "a", "1", "b", "x" * 2000, "c", ""),
        ("MGET", "a", "nosuch", "b", "c"),  # bulk strings and a null in one array
        ("SADD", "s", "m"),
        ("SMEMBERS", "s"),
        ("HSET", "h", "f", "v"),
        ("HGETALL", "h"),
        ("ZADD", "z", "1.5", "m"),
        ("ZRANGE", "z", "0", "-1", "WITHSCORES"),
    )


def test_mset_repeated_key(diff: Differential) -> None:
    args = [a for i in range(10) for a in ("key:__rand_int__", f"v{i}")]
    diff.check_all(
        ("SET", "key:__rand_int__", "old", "EX", "100"),
        ("MSET", *args),
        ("GET", "key:__rand_int__"),
        ("TTL", "key:__rand_int__"),
        ("MSET", "k1", "a", "k2", "b", "k1", "c", "k3", "d", "k2", "e"),
        ("MGET", "k1", "k2", "k3"),
        ("MSETNX", "n1", "a", "n1", "b"),
        ("GET", "n1"),
        ("MSET", "k1", "x", "k1"),
        ("LPUSH", "list", "a"),
        ("MSET", "list", "1", "list", "2"),  # MSET overwrites any type
        ("TYPE", "list"),
        ("GET", "list"),
        ("MULTI",), ("MSET", "m", "1", "m", "2"), ("GET", "m"), ("EXEC",),
    )


def test_mset_notifications(redis_ref: ServerProcess, activekv: ServerProcess) -> None:
    """MSET's events in Redis's order: ``new`` at a key's first pair, then ``set`` for every
    pair, a key named twice signalled twice (though only its last value is written)."""
    got = []
    for port in (redis_ref.port, activekv.port):
        admin = connect(port, 2)
        admin.call("DEL", "nk", "other", "old")
        admin.call("SET", "old", "x")
        admin.call("CONFIG", "SET", "notify-keyspace-events", "KEAn")
        sub = connect(port, 2)
        sub.call("PSUBSCRIBE", "__key*__:*")
        admin.call("MSET", "nk", "1", "other", "3", "nk", "2", "old", "y", "nk", "4")
        admin.call("MSETNX", "nk", "1", "fresh", "2")  # refused: signals nothing
        sub.send_raw(b"PING\r\n")
        messages = []
        for _ in range(40):  # bounded: 14 expected, then the PING's reply
            reply = sub.read_reply()
            if reply.type == "*" and reply.value[0].value == b"pong":
                break
            messages.append(repr(reply))
        got.append(messages)
        admin.call("CONFIG", "SET", "notify-keyspace-events", "")
        admin.call("DEL", "nk", "other", "old")
        sub.close()
        admin.close()
    assert got[0] == got[1] and len(got[0]) == 14, got


def test_lrange_bytes(redis_ref: ServerProcess, activekv: ServerProcess) -> None:
    for port in (redis_ref.port, activekv.port):
        c = connect(port, 2)
        c.call("DEL", "raw")
        c.call("RPUSH", "raw", *(["xxx"] * 600), "", "y" * 1500)
        c.close()
    for protocol in (2, 3):
        for cmd in (b"LRANGE raw 0 -1", b"LRANGE raw 0 99", b"LRANGE raw 599 -1", b"LRANGE raw 5 1"):
            ref = raw_reply(redis_ref.port, protocol, cmd)
            ours = raw_reply(activekv.port, protocol, cmd)
            assert ours == ref, (protocol, cmd, ref[:100], ours[:100])
