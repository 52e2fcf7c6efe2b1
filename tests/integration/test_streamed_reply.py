"""SRANDMEMBER, HRANDFIELD and ZRANDMEMBER with a large negative count (server/streamed.py).

Such a reply is streamed a part at a time while the client reads. A Redis user must not see
it: the bytes are Redis's (checked against redis-server on keys of one element, where every
draw is the same, so the whole reply is deterministic), replies stay in pipeline order, a
pub/sub message published meanwhile follows the whole reply. What the user gains: a count of
-2147483649 (a 17 GB reply) does not build the reply in memory, the client's unsent output stays
bounded while it does not read, other clients are served meanwhile, and a client that goes
away (or is killed) ends the stream.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from server.harness.processes import ServerProcess, start_activekv, start_redis
from server.streamed import HIGH_WATER, PART_BYTES, STREAM_FROM, TOO_LARGE, WHOLE_MAX_BYTES
from tests.respclient import RespConnection, client_entry, encode_command

END = b"$7\r\n__end__\r\n"  # ECHO __end__'s reply: the end of a pipeline's replies
DRAWS = STREAM_FROM + 4321  # streamed; every reply below is some MB at most
SETUP = [
    ("SADD", "s1", "only"), ("SADD", "s", *[f"m{i}" for i in range(40)]),
    ("HSET", "h1", "f", "v"), ("HSET", "h", *[x for i in range(30) for x in (f"f{i}", f"v{i}")]),
    ("ZADD", "z1", "0.3333333333333333", "only"), ("ZADD", "z", *[x for i in range(30) for x in (str(i / 7), f"z{i}")]),
]


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with start_activekv() as akv, start_redis() as redis:
        for proc in (akv, redis):
            conn = RespConnection(proc.port)
            for cmd in SETUP:
                assert conn.call(*cmd).type == ":"
            conn.close()
        yield akv, redis


def raw_replies(port: int, commands: list[tuple[str, ...]], resp3: bool) -> bytes:
    """The raw bytes of the replies of ``commands`` sent as one pipeline (HELLO's left out)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        if resp3:
            sock.sendall(encode_command(("HELLO", "3")) + encode_command(("ECHO", "__end__")))
            _read_until_end(sock)
        sock.sendall(b"".join(encode_command(c) for c in commands) + encode_command(("ECHO", "__end__")))
        return _read_until_end(sock)


def _read_until_end(sock: socket.socket) -> bytes:
    buf = bytearray()
    deadline = time.monotonic() + 20
    while not buf.endswith(END):
        assert time.monotonic() < deadline, f"no end marker after {len(buf)} bytes"
        chunk = sock.recv(1 << 20)
        assert chunk, "connection closed"
        buf += chunk
    return bytes(buf[: -len(END)])


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
@pytest.mark.parametrize("command", [
    ("SRANDMEMBER", "s1"), ("HRANDFIELD", "h1"), ("HRANDFIELD", "h1", "WITHVALUES"),
    ("ZRANDMEMBER", "z1"), ("ZRANDMEMBER", "z1", "WITHSCORES"),
])
def test_a_streamed_reply_is_redis_s_byte_for_byte(servers: tuple[ServerProcess, ServerProcess],
                                                   command: tuple[str, ...], resp3: bool) -> None:
    akv, redis = servers
    streamed = (*command[:2], str(-DRAWS), *command[2:])
    small = (*command[:2], "-3", *command[2:])
    # in a pipeline, with replies before and after it and a small one built whole
    pipeline = [("PING",), streamed, ("ECHO", "between"), small, ("DBSIZE",)]
    ours = raw_replies(akv.port, pipeline, resp3)
    assert len(ours) > PART_BYTES * 4  # long enough to be sent in several parts
    assert ours == raw_replies(redis.port, pipeline, resp3)


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_inside_multi_the_reply_is_built_whole_and_the_same(servers: tuple[ServerProcess, ServerProcess],
                                                             resp3: bool) -> None:
    akv, redis = servers
    pipeline = [("MULTI",), ("SRANDMEMBER", "s1", str(-DRAWS)), ("ZRANDMEMBER", "z1", str(-DRAWS), "WITHSCORES"),
                ("EXEC",), ("EVAL", "return #redis.call('hrandfield', 'h1', ARGV[1])", "0", str(-DRAWS))]
    assert raw_replies(akv.port, pipeline, resp3) == raw_replies(redis.port, pipeline, resp3)


def test_inside_multi_or_a_script_a_reply_too_large_to_build_is_refused(
        servers: tuple[ServerProcess, ServerProcess]) -> None:
    akv, _ = servers
    conn = RespConnection(akv.port, timeout=10)
    try:
        too_large = TOO_LARGE % WHOLE_MAX_BYTES
        assert conn.call("MULTI").value == "OK"
        assert conn.call("HRANDFIELD", "h", "-2147483649", "WITHVALUES").value == "QUEUED"
        assert conn.call("SRANDMEMBER", "s1", "-3").value == "QUEUED"
        assert conn.call("EXEC").plain() == [too_large, [b"only"] * 3]
        script = "return redis.pcall('zrandmember', 'z', ARGV[1])"
        assert conn.call("EVAL", script, "0", "-2147483649") == ("-", too_large)
        assert conn.call("SRANDMEMBER", "s1", "-2").plain() == [b"only"] * 2
    finally:
        conn.close()


def test_draws_from_many_elements_are_members_with_their_own_values(servers: tuple[ServerProcess, ServerProcess]) -> None:
    akv, _ = servers
    conn = RespConnection(akv.port, timeout=20)
    try:
        members = conn.call("SRANDMEMBER", "s", str(-DRAWS)).value
        assert len(members) == DRAWS
        names = {r.value for r in members}
        assert names <= {f"m{i}".encode() for i in range(40)} and len(names) == 40
        pairs = conn.call("HRANDFIELD", "h", str(-DRAWS), "WITHVALUES").value
        assert len(pairs) == 2 * DRAWS
        assert all(pairs[i + 1].value == b"v" + pairs[i].value[1:] for i in range(0, len(pairs), 2))
        scored = conn.call("ZRANDMEMBER", "z", str(-DRAWS), "WITHSCORES").value
        flat = conn.call("ZRANGE", "z", "0", "-1", "WITHSCORES").value
        expected = {flat[i].value: flat[i + 1].value for i in range(0, len(flat), 2)}
        assert all(expected[scored[i].value] == scored[i + 1].value for i in range(0, len(scored), 2))
    finally:
        conn.close()


def _client_of(conn: RespConnection, cmd: str) -> dict[str, str] | None:
    return client_entry(conn, "cmd", cmd)


def test_a_huge_count_streams_with_bounded_output_and_others_are_served(
        servers: tuple[ServerProcess, ServerProcess]) -> None:
    akv, _ = servers
    other = RespConnection(akv.port, timeout=10)
    sock = socket.create_connection(("127.0.0.1", akv.port), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    try:
        sock.sendall(encode_command(("SRANDMEMBER", "s", "-2147483649")) + encode_command(("PING",)))
        head = sock.recv(4096)
        assert head.startswith(b"*2147483649\r\n$")
        # it does not read on: the server stops making parts near HIGH_WATER unsent bytes
        for _ in range(20):
            assert other.call("PING").value == "PONG"  # served meanwhile
            time.sleep(0.02)
        streaming = _client_of(other, "srandmember")
        assert streaming is not None and "b" not in streaming["flags"]
        assert int(streaming["omem"]) <= HIGH_WATER + 2 * PART_BYTES
        assert other.call("SADD", "s", "new").value == 1  # a write meanwhile: not in the draws
        got = len(head)
        while got < 30 * HIGH_WATER:  # reads 30 MB of it
            chunk = sock.recv(1 << 20)
            assert chunk and b"new" not in chunk
            got += len(chunk)
        assert other.call("SREM", "s", "new").value == 1
    finally:
        sock.close()
    # gone: the stream ends with it, and the server goes on
    deadline = time.monotonic() + 5
    while _client_of(other, "srandmember") is not None:
        assert time.monotonic() < deadline, "the stream of a closed client goes on"
        time.sleep(0.02)
    assert b"unexpected_errors:0" in other.call("INFO", "stats").value
    other.close()


def test_client_kill_ends_a_stream_and_pushes_wait_for_the_reply(servers: tuple[ServerProcess, ServerProcess]) -> None:
    akv, _ = servers
    other = RespConnection(akv.port, timeout=10)
    sub = RespConnection(akv.port, timeout=20)
    try:
        assert sub.call("HELLO", "3").type == "%"
        assert sub.call("SUBSCRIBE", "news").type == ">"
        sub.send_raw(encode_command(("SRANDMEMBER", "s1", str(-DRAWS * 8))) + encode_command(("PING",)))
        time.sleep(0.1)  # the subscriber reads nothing yet: the stream waits for it
        assert other.call("PUBLISH", "news", "hello").value == 1
        reply = sub.read_reply()  # the whole reply first, then the message, then PONG
        assert reply.type == "*" and len(reply.value) == DRAWS * 8
        assert {r.value for r in reply.value} == {b"only"}
        assert sub.read_reply().plain() == [b"message", b"news", b"hello"]
        assert sub.read_reply().value == "PONG"

        victim = socket.create_connection(("127.0.0.1", akv.port), timeout=10)
        victim.sendall(encode_command(("SRANDMEMBER", "s", "-2147483649")))
        assert victim.recv(64).startswith(b"*2147483649\r\n")
        streaming = _client_of(other, "srandmember")
        assert streaming is not None
        assert other.call("CLIENT", "KILL", "ID", streaming["id"]).value == 1
        deadline = time.monotonic() + 5
        while _client_of(other, "srandmember") is not None:
            assert time.monotonic() < deadline, "a killed client's stream goes on"
            time.sleep(0.02)
        victim.close()
        assert other.call("PING").value == "PONG"
    finally:
        sub.close()
        other.close()
