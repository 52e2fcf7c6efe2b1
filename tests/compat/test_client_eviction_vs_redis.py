"""Client eviction (``maxmemory-clients``, ``CLIENT NO-EVICT``, INFO ``evicted_clients``) against
redis-server 7.0.15: the same scenario on both servers, the same outcome (which clients are
closed, what is counted, the replies and errors). A pair of servers of this module's own: the
limits set here must not leak into other suites."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from functools import partial

import pytest

from server.harness.processes import ServerProcess, start_activekv, start_redis
from tests.respclient import RespConnection, client_entry

LIMIT = 3_000_000  # as Redis's client-eviction.tcl


@pytest.fixture(scope="module")
def pair() -> Iterator[list[ServerProcess]]:
    with start_redis() as ref, start_activekv() as ours:
        yield [ref, ours]


@pytest.fixture
def controls(pair: list[ServerProcess]) -> Iterator[list[RespConnection]]:
    """One NO-EVICT connection per server (redis first); limits back to 0 afterwards."""
    conns = [RespConnection(p.port, timeout=5.0) for p in pair]
    for c in conns:
        assert c.call("CLIENT", "NO-EVICT", "on").value == "OK"
        assert c.call("CONFIG", "SET", "maxmemory-clients", "0", "maxmemory", "0").value == "OK"
        assert c.call("CONFIG", "RESETSTAT").value == "OK"
    yield conns
    for c in conns:
        c.call("CONFIG", "SET", "maxmemory-clients", "0", "maxmemory", "0")
        c.close()


def _fields(control: RespConnection, name: str) -> dict[str, str] | None:
    return client_entry(control, "name", name)


def _evicted(control: RespConnection) -> int:
    for line in control.call("INFO", "stats").value.decode().splitlines():
        if line.startswith("evicted_clients:"):
            return int(line.split(":")[1])
    raise AssertionError("no evicted_clients in INFO stats")


def _wait(cond: Callable[[], bool], what: str) -> None:
    for _ in range(200):  # at most 2 s
        if cond():
            return
        time.sleep(0.01)
    raise AssertionError(what)


def _named(port: int, name: str) -> RespConnection:
    conn = RespConnection(port, timeout=5.0)
    assert conn.call("CLIENT", "SETNAME", name).value == "OK"
    return conn


def _qbuf(control: RespConnection, name: str) -> int:
    fields = _fields(control, name)
    return int(fields["qbuf"]) if fields is not None else -1


def _qbuf_at_least(control: RespConnection, name: str, size: int) -> bool:
    return _qbuf(control, name) >= size


def _all_filled(control: RespConnection, sizes: dict[str, int]) -> bool:
    return all(_qbuf(control, n) >= s for n, s in sizes.items())


def _gone(control: RespConnection, name: str) -> bool:
    return _fields(control, name) is None


def _closed(conn: RespConnection, wait: float = 2.0) -> bool:
    """The server closed ``conn`` within ``wait`` seconds (EOF, or the connection reset)."""
    conn.sock.settimeout(wait)
    try:
        while True:
            if not conn.sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def test_config_parse_errors_and_replies(controls: list[RespConnection]) -> None:
    cases = ["10%", "100%", "101%", "-1", "-1%", "abc", "1.5", "%", "10mb", "5gb", "", "0", "0%",
             "1", "7%", "200000"]
    for value in cases:
        ref, ours = (c.call("CONFIG", "SET", "maxmemory-clients", value) for c in controls)
        assert ref == ours, value
        got = [c.call("CONFIG", "GET", "maxmemory-clients") for c in controls]
        assert got[0] == got[1], value
    for c in controls:
        c.call("CONFIG", "SET", "maxmemory-clients", "0")


def test_no_evict_flag_and_errors(controls: list[RespConnection]) -> None:
    for args in (("CLIENT", "NO-EVICT", "maybe"), ("CLIENT", "NO-EVICT"), ("CLIENT", "NO-EVICT", "on", "x"),
                 ("CLIENT", "NO-EVICT", "OFF")):
        ref, ours = (c.call(*args) for c in controls)
        assert ref == ours, args
    for c in controls:
        assert b" flags=N " in c.call("CLIENT", "INFO").value
        assert c.call("CLIENT", "NO-EVICT", "ON").value == "OK"
        assert b" flags=e " in c.call("CLIENT", "INFO").value


def test_big_query_buffer_evicted_and_counted(pair: list[ServerProcess], controls: list[RespConnection]) -> None:
    """A client whose unfinished argument passes the limit is closed; INFO counts it; the other
    (small) clients stay. The declared length counts at once, as Redis allocates it whole."""
    for proc, control in zip(pair, controls, strict=True):
        assert control.call("CONFIG", "SET", "maxmemory-clients", str(LIMIT)).value == "OK"
        small = _named(proc.port, "small")
        big = _named(proc.port, "big")
        big.send_raw(b"*1\r\n$%d\r\n" % LIMIT + b"v" * 1000)
        assert _closed(big), proc
        assert _fields(control, "big") is None
        assert _evicted(control) == 1
        assert small.call("PING").value == "PONG"
        small.close()
        big.close()


def test_under_the_limit_kept_and_tot_mem_reported(pair: list[ServerProcess], controls: list[RespConnection]) -> None:
    """Half the limit in a pending argument: kept, and its tot-mem shows at least that."""
    half = LIMIT // 2
    for proc, control in zip(pair, controls, strict=True):
        assert control.call("CONFIG", "SET", "maxmemory-clients", str(LIMIT)).value == "OK"
        c = _named(proc.port, "half")
        c.send_raw(b"*1\r\n$%d\r\n" % half + b"v" * half)
        _wait(partial(_qbuf_at_least, control, "half", half), "qbuf filled")
        fields = _fields(control, "half")
        assert fields is not None and half <= int(fields["tot-mem"]) < LIMIT
        assert _evicted(control) == 0
        c.close()


def test_percent_of_maxmemory(pair: list[ServerProcess], controls: list[RespConnection]) -> None:
    """7% of 6 MB: a client under it stays, one over it is closed; with maxmemory 0 a percent
    limit is off."""
    maxmemory = 6 * 1024 * 1024
    actual = maxmemory * 7 // 100
    for proc, control in zip(pair, controls, strict=True):
        assert control.call("CONFIG", "SET", "maxmemory-clients", "7%").value == "OK"
        off = _named(proc.port, "off")
        off.send_raw(b"*1\r\n$%d\r\n" % (actual * 2) + b"v" * 10)
        assert not _closed(off, 0.3)  # maxmemory 0: no limit
        off.close()
        _wait(partial(_gone, control, "off"), "the closed client is gone")
        assert control.call("CONFIG", "SET", "maxmemory", str(maxmemory)).value == "OK"
        under = _named(proc.port, "under")
        under.send_raw(b"*1\r\n$%d\r\n" % (actual // 2) + b"v" * 10)
        over = _named(proc.port, "over")
        over.send_raw(b"*1\r\n$%d\r\n" % actual + b"v" * 10)
        assert _closed(over)
        assert _fields(control, "under") is not None
        assert _evicted(control) == 1
        under.close()
        over.close()
        assert control.call("CONFIG", "SET", "maxmemory", "0").value == "OK"


def test_no_evict_client_kept(pair: list[ServerProcess], controls: list[RespConnection]) -> None:
    """A NO-EVICT client over the limit stays (and shows its memory); NO-EVICT off: closed."""
    for proc, control in zip(pair, controls, strict=True):
        assert control.call("CONFIG", "SET", "maxmemory-clients", str(LIMIT)).value == "OK"
        c = _named(proc.port, "keep")
        assert c.call("CLIENT", "NO-EVICT", "on").value == "OK"
        size = LIMIT + 1
        c.send_raw(b"*1\r\n$%d\r\n" % size + b"v" * size)
        _wait(partial(_qbuf_at_least, control, "keep", size), "qbuf filled")
        fields = _fields(control, "keep")
        assert fields is not None and int(fields["tot-mem"]) > LIMIT and "e" in fields["flags"]
        assert _evicted(control) == 0
        c.close()


def test_multi_buffer_evicted(pair: list[ServerProcess], controls: list[RespConnection]) -> None:
    """Queued MULTI commands count: the fourth quarter-limit SET closes the client."""
    value = b"v" * (LIMIT // 4)
    for proc, control in zip(pair, controls, strict=True):
        assert control.call("CONFIG", "SET", "maxmemory-clients", str(LIMIT)).value == "OK"
        c = _named(proc.port, "multi")
        assert c.call("MULTI").value == "OK"
        replies = []
        try:
            for _ in range(5):
                replies.append(c.call("SET", "k", value).value)
        except (ConnectionError, OSError):
            pass
        assert replies == ["QUEUED"] * 3, proc
        assert _fields(control, "multi") is None
        assert _evicted(control) == 1
        c.close()


def test_unread_replies_evicted(pair: list[ServerProcess], controls: list[RespConnection]) -> None:
    """A client whose unread replies pass the limit is closed: one pipelined read of big GETs,
    or GETs sent one at a time (the server reads on while the replies wait: Redis has no flow
    control); another client that read its replies stays."""
    for proc, control in zip(pair, controls, strict=True):
        assert control.call("SETRANGE", "k", "200000", "v").value == 200001
        assert control.call("CONFIG", "SET", "maxmemory-clients", str(LIMIT)).value == "OK"
        reader = _named(proc.port, "reader")
        assert len(reader.call("GET", "k").value) == 200001
        lazy = _named(proc.port, "lazy")
        lazy.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        lazy.send_raw(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n" * 40)  # 8 MB of replies, not read
        _wait(partial(_gone, control, "lazy"), "the client that does not read is closed")
        assert _evicted(control) == 1
        slow = _named(proc.port, "slow")
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sent = 0
        while sent < 300:  # 60 MB at most; Redis closes it after ~40 (3 MB + sockets)
            sent += 1
            try:
                slow.send_raw(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
            except OSError:
                break
            fields = _fields(control, "slow")
            if fields is None:
                break
            assert int(fields["tot-mem"]) < LIMIT + 2 * 200001  # closed on its way past the limit
        assert _gone(control, "slow"), f"not evicted after {sent} GETs"
        assert _evicted(control) == 2
        assert len(reader.call("GET", "k").value) == 200001
        for c in (reader, lazy, slow):
            c.close()


def test_largest_first_and_only_until_below(pair: list[ServerProcess], controls: list[RespConnection]) -> None:
    """Lowering the limit closes the largest clients first, and only as many as needed."""
    sizes = {"c-small": 150_000, "c-mid": 600_000, "c-big": 1_200_000}
    outcome = []
    for proc, control in zip(pair, controls, strict=True):
        conns = []
        for name, size in sizes.items():
            c = _named(proc.port, name)
            c.send_raw(b"*2\r\n$%d\r\n" % size + b"v" * size)
            conns.append(c)
        _wait(partial(_all_filled, control, sizes), "qbuf filled")
        mem = {n: int((_fields(control, n) or {})["tot-mem"]) for n in sizes}
        assert control.call("CLIENT", "SETNAME", "control").value == "OK"
        control_mem = int((_fields(control, "control") or {})["tot-mem"])
        # room for the small and the middle one (and the control connection)
        limit = mem["c-small"] + mem["c-mid"] + control_mem + 20_000
        assert control.call("CONFIG", "SET", "maxmemory-clients", str(limit)).value == "OK"
        control.call("PING")
        present = sorted(n for n in sizes if _fields(control, n) is not None)
        outcome.append((present, _evicted(control)))
        for c in conns:
            c.close()
    assert outcome[0] == outcome[1] == (["c-mid", "c-small"], 1)


def test_limit_has_a_128kb_floor(pair: list[ServerProcess], controls: list[RespConnection]) -> None:
    """``maxmemory-clients 1`` is 128 KB in effect (CONFIG GET still shows 1): a client with
    part of a command pending stays, one with a 200 KB argument pending is closed."""
    for proc, control in zip(pair, controls, strict=True):
        assert control.call("CONFIG", "SET", "maxmemory-clients", "1").value == "OK"
        assert control.call("CONFIG", "GET", "maxmemory-clients").plain() == [b"maxmemory-clients", b"1"]
        small = _named(proc.port, "small")
        small.send_raw(b"*1\r\n$20000\r\n" + b"v" * 100)
        assert not _closed(small, 0.3)
        big = _named(proc.port, "big")
        big.send_raw(b"*1\r\n$200000\r\n" + b"v" * 100)
        assert _closed(big)
        assert _fields(control, "small") is not None
        assert _evicted(control) == 1
        small.close()
        big.close()
        _wait(partial(_gone, control, "small"), "the closed client is gone")
