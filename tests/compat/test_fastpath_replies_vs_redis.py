"""The replies the command fast path encodes itself (``Client.execute``: +OK, bulk strings,
integers, nulls) and what goes around it (CLIENT REPLY, errors, commandstats), byte for byte
as redis-server sends them, in RESP2 and RESP3."""

from __future__ import annotations

from tests.conftest import Differential
from tests.respclient import encode_command


def _raw(diff: Differential, *commands: tuple[object, ...]) -> None:
    """Send the commands pipelined to both servers, then a PING; the bytes before the PONG
    must be the same."""
    data = b"".join(encode_command(list(c)) for c in commands) + encode_command(["PING"])
    got = []
    for conn in (diff.ref, diff.ours):
        conn.send_raw(data)
        buf = b""
        conn.sock.settimeout(5.0)
        while not buf.endswith(b"+PONG\r\n"):
            chunk = conn.sock.recv(65536)
            assert chunk, "connection closed"
            buf += chunk
        got.append(buf)
    assert got[1] == got[0], f"RESP{diff.protocol} {commands!r}:\n  redis:    {got[0]!r}\n  activekv: {got[1]!r}"


def test_common_replies_byte_for_byte(diff: Differential) -> None:
    big = b"x" * 5000  # a bulk header past the pre-encoded ones
    _raw(diff, ("SET", "k", "v"), ("GET", "k"), ("GET", "missing"), ("SET", "big", big), ("GET", "big"),
         ("SET", "empty", ""), ("GET", "empty"), ("INCR", "n"), ("INCRBY", "n", "2000"),
         ("DECRBY", "n", "5000"), ("SADD", "s", "a"), ("SADD", "s", "a"), ("HSET", "h", "f", "v"),
         ("HSET", "h", "f", "w"), ("LPUSH", "l", "a"), ("ZADD", "z", "1", "m"), ("INCR", "k"),
         ("NOSUCHCOMMAND",), ("GET",), ("SET", "k", "v", "NX"), ("SET", "k", "v", "XX", "GET"))


def test_client_reply_skip_and_off_around_the_fast_path(diff: Differential) -> None:
    _raw(diff, ("SET", "a", "1"), ("CLIENT", "REPLY", "SKIP"), ("SET", "b", "2"), ("GET", "b"),
         ("CLIENT", "REPLY", "OFF"), ("SET", "c", "3"), ("GET", "c"), ("CLIENT", "REPLY", "ON"),
         ("GET", "c"))


def test_commandstats_count_every_call_of_the_fast_path(diff: Differential) -> None:
    for conn in (diff.ref, diff.ours):
        conn.call("CONFIG", "RESETSTAT")
        for i in range(25):
            conn.call("SET", f"k{i}", "v")
            conn.call("GET", f"k{i}")
        conn.call("GET")  # rejected: wrong arity
        conn.call("INCR", "k0")  # failed: not an integer
    stats = []
    for conn in (diff.ref, diff.ours):
        info = conn.call("INFO", "commandstats").plain()
        text = info.decode() if isinstance(info, bytes) else str(info)
        rows = {}
        for line in text.splitlines():
            if line.startswith("cmdstat_") and line.split(":")[0] in ("cmdstat_set", "cmdstat_get", "cmdstat_incr"):
                name, fields = line.split(":", 1)
                rows[name] = {k: v for k, v in (f.split("=") for f in fields.split(",")) if k not in ("usec", "usec_per_call")}
        stats.append(rows)
    assert stats[1] == stats[0]
    assert stats[0]["cmdstat_get"] == {"calls": "25", "rejected_calls": "1", "failed_calls": "0"}


def test_a_slow_client_is_not_taken_by_the_fast_path(diff: Differential) -> None:
    """MULTI and a subscribed RESP2 client go the full way: queued, or refused."""
    _raw(diff, ("MULTI",), ("SET", "m", "1"), ("GET", "m"), ("EXEC",))
    _raw(diff, ("SUBSCRIBE", "ch"), ("GET", "m"), ("UNSUBSCRIBE", "ch"))

