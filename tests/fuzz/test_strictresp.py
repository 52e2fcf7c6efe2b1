"""The fuzzers' strict reply parser and connection: what they accept and refuse, and that a long
reply arriving in many reads is parsed a bounded number of times (it once was parsed again after
every read: HRANDFIELD k -100000 WITHVALUES, 2 MB, took longer than the 5 s reply timeout)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.fuzz import fuzzkit
from tests.fuzz.fuzzkit import Closed, StrictConn
from tests.fuzz.strictresp import BadReply, Incomplete, Value, parse

BS = Value("$", b"a")


@pytest.mark.parametrize(("data", "resp3", "want"), [
    (b"*2\r\n$1\r\na\r\n$0\r\n\r\n", False, Value("*", [BS, Value("$", b"")])),
    (b"*1\r\n$007\r\naaaaaaa\r\n", False, Value("*", [Value("$", b"aaaaaaa")])),
    (b"*2\r\n$-1\r\n:-3\r\n", False, Value("*", [Value("$", None), Value(":", -3)])),
    (b"%1\r\n$1\r\na\r\n,inf\r\n", True, Value("%", [BS, Value(",", b"inf")])),
    (b"|1\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n", True, BS),
    (b"*1\r\n$1\r\na\r\n", False, Value("*", [BS])),
])
def test_valid_replies_parse(data: bytes, resp3: bool, want: Value) -> None:
    assert parse(data, 0, resp3) == (want, len(data))


@pytest.mark.parametrize("data", [
    b"*1\r\n$2\r\nabc\r\n",  # a bulk longer than its length
    b"*1\r\n$-2\r\n", b"*1\r\n$+1\r\na\r\n", b"*1\r\n$ 1\r\na\r\n", b"*1\r\n$1x\r\na\r\n",
    b"*2\r\n$1\r\na\r\n:1x\r\n", b"*1\r\n+a\rb\r\n", b"*1\r\n,1\r\n",  # a RESP3 type on RESP2
    b"*1\r\n$\xd9\r\n", b"*x\r\n", b"*1\r\n$1\na\r\n",
    b"*1\r\n" * 65 + b"$1\r\na\r\n",  # nested deeper than 64, a bulk string innermost
])
def test_bad_replies_are_refused(data: bytes) -> None:
    with pytest.raises(BadReply):
        parse(data, 0, False)


@pytest.mark.parametrize("data", [b"*2\r\n$1\r\na\r\n", b"*1\r\n$3\r\nab\r\n", b"*1\r\n$3\r\nabc\r", b"*1\r\n$3"])
def test_truncated_replies_are_incomplete(data: bytes) -> None:
    with pytest.raises(Incomplete):
        parse(data, 0, False)


def pair() -> tuple[StrictConn, socket.socket]:
    ours, theirs = socket.socketpair()
    conn = StrictConn.__new__(StrictConn)
    conn.sock, conn.buf, conn.resp3, conn.timeout = ours, b"", False, 5.0
    return conn, theirs


def test_a_long_reply_in_many_writes_is_parsed_a_few_times(monkeypatch: pytest.MonkeyPatch) -> None:
    n = 20_000
    data = b"*%d\r\n" % n + b"$1\r\na\r\n" * n + b"+OK\r\n"
    calls = []

    def counting(buf: bytes, pos: int, resp3: bool) -> tuple[Value, int]:
        calls.append(len(buf))
        return parse(buf, pos, resp3)

    monkeypatch.setattr(fuzzkit, "parse", counting)
    conn, peer = pair()

    def write() -> None:
        for i in range(0, len(data), 1000):  # 141 writes, 1 ms apart (each its own read)
            peer.sendall(data[i:i + 1000])
            time.sleep(0.001)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        reply = conn.reply()
        assert reply.type == "*" and len(reply.value) == n and reply.value[-1] == BS
        assert conn.reply() == Value("+", b"OK")
    finally:
        writer.join(timeout=5)
        conn.close()
        peer.close()
    assert len(calls) < 30, calls


def test_a_reply_sent_just_before_the_close_is_read_then_the_close_is_seen() -> None:
    conn, peer = pair()
    try:
        peer.sendall(b"*2\r\n$1\r\na\r\n")
        time.sleep(0.05)
        peer.sendall(b"$1\r\na\r\n+OK\r\n$3\r\nab")
        peer.close()
        assert conn.reply() == Value("*", [BS, BS])
        assert conn.reply() == Value("+", b"OK")
        with pytest.raises(Closed):
            conn.reply()
    finally:
        conn.close()


def test_a_reply_that_never_completes_times_out() -> None:
    conn, peer = pair()
    try:
        peer.sendall(b"*2\r\n$1\r\na\r\n")
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            conn.reply(timeout=0.3)
        assert 0.25 < time.monotonic() - start < 2
    finally:
        conn.close()
        peer.close()
