"""SLOWLOG, LATENCY and DEBUG against redis-server (both servers of this module are started
with enable-debug-command yes, so DEBUG SLEEP makes latency, and enable-protected-configs yes)."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator

import pytest

from server.harness.processes import start_activekv, start_redis
from tests.conftest import Differential
from tests.respclient import Reply, encode_command


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[int, int]]:
    flags = ("--enable-debug-command", "yes", "--enable-protected-configs", "yes")
    with start_redis(*flags) as ref, start_activekv(*flags) as ours:
        yield ref.port, ours.port


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def d(request: pytest.FixtureRequest, servers: tuple[int, int]) -> Iterator[Differential]:
    diff = Differential(servers[0], servers[1], request.param)
    yield diff
    for conn in (diff.ref, diff.ours):
        conn.call("CONFIG", "SET", "slowlog-log-slower-than", "10000", "slowlog-max-len", "128",
                  "latency-monitor-threshold", "0")
        conn.call("LATENCY", "RESET")
    diff.close()


def _slowlog(r: Reply) -> list[list[object]]:
    """Entries without what differs between two servers (id base, time, duration, port)."""
    entries = r.plain()
    assert r.type == "*"
    out = []
    first = entries[-1][0] if entries else 0
    for e in entries:
        ident, ts, dur, argv, addr, name = e
        assert isinstance(ts, int) and isinstance(dur, int) and dur >= 0
        assert re.fullmatch(rb"127\.0\.0\.1:\d+", addr)
        out.append([ident - first, argv, name])
    return out


def test_slowlog_entries_and_truncation(d: Differential) -> None:
    d.check("CONFIG", "SET", "slowlog-log-slower-than", "0")
    d.check("SLOWLOG", "RESET")
    d.check("CLIENT", "SETNAME", "slowpoke")
    d.check("SET", "k", "x" * 200)
    d.check("RPUSH", "l", *[str(i) for i in range(40)])
    d.check("SADD", "s", *[str(i) for i in range(31)])
    d.check("GET",)  # rejected: not executed, not logged
    d.check("MULTI")
    d.check("INCR", "n")
    d.check("EXEC")  # EXEC is skip_slowlog; the INCR inside is logged
    ref, ours = d.both("SLOWLOG", "GET", "-1")
    assert _slowlog(ours) == _slowlog(ref)
    d.check("SLOWLOG", "LEN")
    ref, ours = d.both("SLOWLOG", "GET", "2")
    assert _slowlog(ours) == _slowlog(ref) and len(ours.value) == 2
    d.check("CONFIG", "SET", "slowlog-max-len", "3")
    d.check("PING")
    d.check("SLOWLOG", "LEN")
    d.check("CONFIG", "SET", "slowlog-log-slower-than", "-1")
    d.check("SLOWLOG", "RESET")
    d.check("PING")
    d.check("SLOWLOG", "LEN")
    d.check("SLOWLOG", "GET")


def test_slowlog_errors_and_help(d: Differential) -> None:
    d.check_all(
        ("SLOWLOG",), ("SLOWLOG", "GET", "x"), ("SLOWLOG", "GET", "-2"), ("SLOWLOG", "GET", "1", "2"),
        ("SLOWLOG", "LEN", "x"), ("SLOWLOG", "RESET", "x"), ("SLOWLOG", "NOSUCH"), ("SLOWLOG", "HELP"),
        ("SLOWLOG", "GET", "0"),
    )


def test_latency_events(d: Differential) -> None:
    d.check("LATENCY", "RESET")
    d.check("LATENCY", "LATEST")
    d.check("LATENCY", "HISTORY", "command")
    d.check("LATENCY", "GRAPH", "command")  # no samples: error
    ref, ours = d.both("LATENCY", "DOCTOR")
    assert ours == ref  # monitoring disabled
    d.check("CONFIG", "SET", "latency-monitor-threshold", "5")
    d.check("DEBUG", "SLEEP", "0.02")
    ref, ours = (r.plain() for r in d.both("LATENCY", "LATEST"))
    assert [e[0] for e in ours] == [e[0] for e in ref] == [b"command"]
    for e in (ref[0], ours[0]):
        assert 20 <= e[2] <= 60 and e[3] >= e[2]
    ref, ours = (r.plain() for r in d.both("LATENCY", "HISTORY", "command"))
    assert len(ref) == len(ours) == 1
    ref, ours = d.both("LATENCY", "GRAPH", "command")
    assert ref.type == ours.type
    ref_text, our_text = ref.value, ours.value
    if ref.type == "=":
        ref_text, our_text = ref_text[4:], our_text[4:]
    mask = re.compile(rb"\d+")
    assert mask.sub(b"N", our_text) == mask.sub(b"N", ref_text)
    ref, ours = d.both("LATENCY", "DOCTOR")
    assert mask.sub(b"N", ours.value) == mask.sub(b"N", ref.value)
    d.check("LATENCY", "RESET", "nosuch", "COMMAND")
    d.check("LATENCY", "LATEST")


def test_latency_errors_and_help(d: Differential) -> None:
    d.check_all(
        ("LATENCY",), ("LATENCY", "LATEST", "x"), ("LATENCY", "HISTORY"), ("LATENCY", "DOCTOR", "x"),
        ("LATENCY", "GRAPH", "nosuch"), ("LATENCY", "NOSUCH"), ("LATENCY", "HELP"),
        ("LATENCY", "HISTOGRAM", "nosuch"), ("LATENCY", "RESET"),
    )


def test_latency_histogram(d: Differential) -> None:
    d.check("CONFIG", "RESETSTAT")
    d.check("SET", "a", "1")
    d.check("GET", "a")
    d.check("GET", "a")
    ref, ours = d.both("LATENCY", "HISTOGRAM", "get", "SET", "nosuch", "get")
    assert ref.type == ours.type

    def pairs(value: list[object]) -> list[tuple[object, object]]:
        if value and isinstance(value[0], tuple):  # RESP3 map
            return list(value)  # type: ignore[arg-type]
        return list(zip(value[::2], value[1::2], strict=True))

    def shape(r: Reply) -> dict[object, tuple[object, list[object]]]:
        out = {}
        for name, body in pairs(r.plain()):
            fields = dict(pairs(body))  # type: ignore[arg-type]
            flat = pairs(fields[b"histogram_usec"])  # type: ignore[arg-type]
            counts = [n for _, n in flat]
            assert counts == sorted(counts)  # type: ignore[type-var]  # cumulative
            assert all(k in HDR_KEYS for k, _ in flat), flat
            out[name] = (fields[b"calls"], counts[-1:])
        return out

    assert shape(ours) == shape(ref) == {b"get": (2, [2]), b"set": (1, [1])}


def _hdr_highest(v: int) -> int:
    """hdr_histogram (2 significant figures, 256 sub-buckets): highest equivalent value."""
    bucket = (v | 255).bit_length() - 8
    return ((v >> bucket) << bucket) + (1 << bucket) - 1


# The points of hdr's log iteration from 1024 ns, base 2, as LATENCY HISTOGRAM reports them.
HDR_KEYS = {_hdr_highest(1024 << k) // 1000 for k in range(25)}


def test_debug_enabled(d: Differential) -> None:
    d.check("SET", "k", "hello")
    ref, ours = d.both("DEBUG", "OBJECT", "k")
    pattern = rb"Value at:0x[0-9a-f]+ refcount:1 encoding:embstr serializedlength:\d+ lru:\d+ lru_seconds_idle:\d+"
    assert re.fullmatch(pattern, ref.value.encode() if isinstance(ref.value, str) else ref.value)
    assert re.fullmatch(pattern, ours.value.encode() if isinstance(ours.value, str) else ours.value)
    assert ref.type == ours.type == "+"
    d.check_all(
        ("DEBUG", "OBJECT", "nokey"), ("DEBUG", "SLEEP", "0"), ("DEBUG", "SLEEP", "x"),
        ("DEBUG", "SLEEP"), ("DEBUG", "NOSUCH"), ("DEBUG", "HELP"),
        ("DEBUG", "SET-ACTIVE-EXPIRE", "0"), ("DEBUG", "RELOAD", "x"), ("DEBUG", "RELOAD"),
        ("GET", "k"), ("DEBUG", "ERROR", "MYERR custom"), ("DEBUG", "LOG", "hello"),
        ("DEBUG", "POPULATE", "5"), ("DEBUG", "POPULATE", "3", "p", "3"), ("DEBUG", "POPULATE", "2", "q", "12"),
        ("DEBUG", "POPULATE", "-1"), ("DEBUG", "POPULATE", "x"), ("DEBUG", "POPULATE", "1", "p", "-2"),
        ("DEBUG", "POPULATE", "1", "p", "1", "x"), ("DBSIZE",), ("GET", "key:4"), ("GET", "p:2"),
        ("GET", "q:1"), ("DEBUG", "POPULATE", "6"), ("DBSIZE",),
    )
    # active expiry off: an expired key stays in the keyspace count until it is touched
    d.check("FLUSHALL")
    d.check("SET", "k", "hello")
    d.check("SET", "e", "1", "PX", "1")
    time.sleep(0.3)
    for conn in (d.ref, d.ours):
        assert b"keys=2" in conn.call("INFO", "keyspace").value
    d.check("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    for conn in (d.ref, d.ours):
        for _ in range(100):
            if b"keys=1" in conn.call("INFO", "keyspace").value:
                break
            time.sleep(0.02)
        else:
            raise AssertionError("active expiry did not resume")


def _exchange(port: int, data: bytes, until: bytes) -> bytes:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        sock.sendall(data)
        got = b""
        while not got.endswith(until):
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
        return got
    finally:
        sock.close()


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_debug_protocol(servers: tuple[int, int], resp3: bool) -> None:
    """Byte for byte (the test client does not parse RESP3 big numbers and attributes)."""
    script = encode_command(("HELLO", "3")) if resp3 else b""
    for name in ("string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib",
                 "push", "verbatim", "true", "false", "nosuch", "STRING"):
        script += encode_command(("DEBUG", "PROTOCOL", name))
    script += encode_command(("ECHO", "end"))
    ref, ours = (_exchange(port, script, b"$3\r\nend\r\n") for port in servers)
    if resp3:  # HELLO's map differs (ids, versions): compare from the first DEBUG reply on
        ref, ours = ref[ref.index(b"$11\r\nHello"):], ours[ours.index(b"$11\r\nHello"):]
    assert ours == ref


def test_protected_configs_when_enabled(d: Differential) -> None:
    d.check_all(
        ("CONFIG", "SET", "dbfilename", "other.rdb"), ("CONFIG", "GET", "dbfilename"),
        ("CONFIG", "SET", "dbfilename", "a/b"), ("CONFIG", "SET", "dbfilename", "dump.rdb"),
    )
    # ours: the data directory of a running region cannot move (Redis chdirs)
    got = d.ours.call("CONFIG", "SET", "dir", "/")
    assert got.type == "-" and got.value.startswith(
        "ERR CONFIG SET failed (possibly related to argument 'dir') - ")
    reply = d.ours.call("CONFIG", "GET", "dir").plain()
    value = reply[0][1] if d.protocol == 3 else reply[1]
    assert value != b"/" and value.startswith(b"/")  # unchanged
