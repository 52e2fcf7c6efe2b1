"""Pub/sub against redis-server 7.0.15, RESP2 and RESP3: (P|S)SUBSCRIBE/(P|S)UNSUBSCRIBE
replies and counts, the RESP2 subscribed context (allowed commands, the error for others, PING's
["pong", arg]), messages and their order (channel, pattern, shard, self-publish, pipelines),
PUBLISH/SPUBLISH counts, PUBSUB introspection, errors. Subscribers are second connections per
server; every read is bounded by the connection's timeout."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from server.harness.processes import ServerProcess
from tests.compat.helpers import connect as _conn
from tests.conftest import Differential
from tests.respclient import Reply, RespConnection, encode_command


class Pair:
    """One connection to each server, the same protocol; commands go to both."""

    def __init__(self, ref: RespConnection, ours: RespConnection, protocol: int) -> None:
        self.ref, self.ours, self.protocol = ref, ours, protocol

    def send(self, *args: Any) -> None:
        for conn in (self.ref, self.ours):
            conn.send_raw(encode_command(args))

    def read(self, n: int = 1) -> list[tuple[Reply, Reply]]:
        return [(self.ref.read_reply(), self.ours.read_reply()) for _ in range(n)]

    def check(self, *args: Any, replies: int = 1) -> list[Reply]:
        """Send; the next ``replies`` replies must be identical on both."""
        self.send(*args)
        return self.expect(args, replies)

    def check_unordered(self, *args: Any, replies: int) -> None:
        """Unsubscribing from everything: Redis walks a dict (hash order), so the names may come
        in another order; the counts count down the same way, the names are the same."""
        self.send(*args)
        pairs = self.read(replies)
        for side in (0, 1):
            kinds = {r.value[0].value for r in (p[side] for p in pairs)}
            assert len(kinds) == 1
        ref = [p[0].value for p in pairs]
        ours = [p[1].value for p in pairs]
        assert [r[2] for r in ours] == [r[2] for r in ref], (ref, ours)
        assert sorted(repr(r[1]) for r in ours) == sorted(repr(r[1]) for r in ref), (ref, ours)
        assert {p[0].type for p in pairs} == {p[1].type for p in pairs}

    def expect(self, what: Any, replies: int = 1) -> list[Reply]:
        got = []
        for ref, ours in self.read(replies):
            assert ours == ref, f"RESP{self.protocol} {what!r}:\n  redis:    {ref!r}\n  activekv: {ours!r}"
            got.append(ours)
        return got


@pytest.fixture
def subs(diff: Differential, redis_ref: ServerProcess, activekv: ServerProcess) -> Iterator[list[Pair]]:
    """Two more connection pairs (subscribers), same protocol as ``diff``."""
    pairs = [Pair(_conn(redis_ref.port, diff.protocol), _conn(activekv.port, diff.protocol), diff.protocol)
             for _ in range(2)]
    yield pairs
    for p in pairs:
        p.ref.close()
        p.ours.close()


def _main(diff: Differential) -> Pair:
    return Pair(diff.ref, diff.ours, diff.protocol)


def test_subscribe_unsubscribe_replies(diff: Differential) -> None:
    p = _main(diff)
    p.check("UNSUBSCRIBE")
    p.check("PUNSUBSCRIBE")
    p.check("SUNSUBSCRIBE")
    p.check("SUBSCRIBE", "a", "b", "a", replies=3)
    p.check("PSUBSCRIBE", "p*", "q?", replies=2)
    p.check("SSUBSCRIBE", "s1", "s2", replies=2)
    p.check("SUBSCRIBE", "c", replies=1)
    p.check("UNSUBSCRIBE", "b", "nosuch", replies=2)
    p.check("SUNSUBSCRIBE", "s2", replies=1)
    p.check_unordered("UNSUBSCRIBE", replies=2)
    p.check_unordered("PUNSUBSCRIBE", replies=2)
    p.check("PUNSUBSCRIBE")
    p.check("SUNSUBSCRIBE", replies=1)
    p.check("UNSUBSCRIBE")
    p.check("PING")  # out of the pub/sub context again
    p.check("GET", "k")


def test_resp2_context_and_ping(diff: Differential) -> None:
    p = _main(diff)
    p.check("SUBSCRIBE", "ch")
    for cmd in (("PING",), ("PING", "hello"), ("GET", "k"), ("SET", "k", "v"), ("CLIENT", "GETNAME"),
                ("CONFIG", "GET", "databases"), ("MULTI",), ("PUBLISH", "ch", "x"), ("NOSUCH",),
                ("PING", "a", "b"), ("SUBSCRIBE",), ("PSUBSCRIBE", "x*"), ("PUNSUBSCRIBE", "x*")):
        p.check(*cmd)
    p.check("SSUBSCRIBE", "s")
    p.check("UNSUBSCRIBE", "ch")
    p.check("GET", "k")  # still in the context: a shard channel is left
    p.check("SUNSUBSCRIBE", "s")
    p.check("GET", "k")
    p.check("PING")


def test_reset_and_quit_leave_the_context(diff: Differential) -> None:
    p = _main(diff)
    p.check("SUBSCRIBE", "a", "b", replies=2)
    p.check("PSUBSCRIBE", "x*")
    p.check("RESET")
    p.check("PING")
    p.check("PUBSUB", "NUMSUB", "a", "b")
    p.check("PUBSUB", "NUMPAT")


def test_messages_and_counts(diff: Differential, subs: list[Pair]) -> None:
    pub = _main(diff)
    s1, s2 = subs
    s1.check("SUBSCRIBE", "news", "sport", replies=2)
    s1.check("PSUBSCRIBE", "n*")
    s2.check("PSUBSCRIBE", "n?ws", "*", replies=2)
    s2.check("SSUBSCRIBE", "news")
    pub.check("PUBLISH", "news", "hello")  # s1: message + pmessage; s2: two pmessages
    s1.expect("news to s1", 2)  # channel subscribers first, then patterns
    got = s2.read(2)  # two patterns of one client: Redis walks a dict (hash order)
    assert sorted(repr(o) for _, o in got) == sorted(repr(r) for r, _ in got), got
    pub.check("PUBLISH", "sport", "")
    s1.expect("sport to s1", 1)
    s2.expect("sport to s2", 1)
    pub.check("PUBLISH", "nobody", "x")  # s1's n* and s2's *
    s1.expect("nobody to s1", 1)
    s2.expect("nobody to s2", 1)
    pub.check("SPUBLISH", "news", "shard")
    s2.expect("smessage", 1)
    pub.check("SPUBLISH", "empty", "x")
    pub.check("PUBLISH", "bin\x00ary", "\r\n\x00")
    s2.expect("binary", 1)
    pub.check("PUBSUB", "NUMSUB", "news", "sport", "none")
    pub.check("PUBSUB", "SHARDNUMSUB", "news", "none")
    pub.check("PUBSUB", "NUMSUB")
    pub.check("PUBSUB", "NUMPAT")
    pub.check("PUBSUB", "CHANNELS", "n*")
    pub.check("PUBSUB", "SHARDCHANNELS")
    pub.check("PUBSUB", "SHARDCHANNELS", "x*")
    r, o = diff.both("PUBSUB", "CHANNELS")
    assert sorted(map(repr, r.value)) == sorted(map(repr, o.value))  # dict order in Redis


def test_self_publish_and_pipeline_order(diff: Differential) -> None:
    p = _main(diff)
    p.check("SUBSCRIBE", "me")
    if diff.protocol == 3:
        # The message reaches the connection before the PUBLISH reply; commands pipelined
        # around it keep their order.
        for conn in (p.ref, p.ours):
            conn.send_raw(encode_command(("PING",)) + encode_command(("PUBLISH", "me", "x"))
                          + encode_command(("ECHO", "after")))
        p.expect("pipeline", 4)
        p.check("GET", "k")
    else:
        p.check("PUBLISH", "me", "x")  # refused in the RESP2 context
    p.check("UNSUBSCRIBE")


def test_errors(diff: Differential) -> None:
    for cmd in (("PUBLISH",), ("PUBLISH", "a"), ("PUBLISH", "a", "b", "c"), ("SPUBLISH", "a"),
                ("SUBSCRIBE",), ("PSUBSCRIBE",), ("SSUBSCRIBE",), ("PUBSUB",), ("PUBSUB", "NOSUCH"),
                ("PUBSUB", "NUMPAT", "x"), ("PUBSUB", "CHANNELS", "a", "b"),
                ("PUBSUB", "SHARDCHANNELS", "a", "b"), ("PUBSUB", "HELP"), ("PUBSUB", "help", "x")):
        diff.check(*cmd)


def test_inside_multi(diff: Differential, subs: list[Pair]) -> None:
    s1 = subs[0]
    s1.check("SUBSCRIBE", "t")
    diff.check("MULTI")
    diff.check("PUBLISH", "t", "in-exec")
    diff.check("PUBSUB", "NUMSUB", "t")
    diff.check("EXEC")
    s1.expect("message from EXEC", 1)


def _fields(text: bytes, names: tuple[str, ...]) -> list[dict[str, str]]:
    rows = []
    for line in text.decode().splitlines():
        if not line or line.startswith("#") or ":" in line and "=" not in line:
            continue
        kv = dict(part.split("=", 1) for part in line.split(" ") if "=" in part)
        rows.append({n: kv.get(n, "?") for n in names})
    return rows


def test_client_list_and_info(diff: Differential, subs: list[Pair]) -> None:
    s1, s2 = subs
    s1.check("SUBSCRIBE", "a", "b", replies=2)
    s1.check("PSUBSCRIBE", "x*")
    s2.check("SSUBSCRIBE", "s")
    names = ("flags", "sub", "psub", "ssub", "cmd")
    ref, ours = diff.both("CLIENT", "LIST", "TYPE", "pubsub")
    assert sorted(map(repr, _fields(ours.value, names))) == sorted(map(repr, _fields(ref.value, names)))
    ref, ours = diff.both("CLIENT", "LIST", "TYPE", "normal")
    assert len(_fields(ours.value, names)) == len(_fields(ref.value, names)) == 1
    info_names = ("pubsub_channels", "pubsub_patterns", "pubsubshard_channels")
    for ref_info, our_info in [diff.both("INFO", "stats")]:
        ref_lines = {k: v for k, _, v in (ln.partition(":") for ln in ref_info.value.decode().splitlines())}
        our_lines = {k: v for k, _, v in (ln.partition(":") for ln in our_info.value.decode().splitlines())}
        assert [our_lines.get(n) for n in info_names] == [ref_lines.get(n) for n in info_names]


def test_subscribe_inside_multi(diff: Differential) -> None:
    """Redis queues SUBSCRIBE in MULTI; at EXEC each channel's reply is one more reply inside
    the EXEC array (so the array's count is the number of commands, not of replies)."""
    p = _main(diff)
    p.check("MULTI")
    p.check("SUBSCRIBE", "m1", "m2")
    p.check("PING")
    # Read back as *2 [subscribe m1, subscribe m2] and then PING's reply on its own.
    p.check("EXEC", replies=2)
    p.check("PING")
    p.check_unordered("UNSUBSCRIBE", replies=2)


def test_client_output_buffer_limit_config(diff: Differential) -> None:
    default = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    try:
        diff.check("CONFIG", "GET", "client-output-buffer-limit")
        for value in ("pubsub 1mb 1kb 0", "pubsub 1 2", "foo 1 1 1", "master 1 1 1", "pubsub -1 1 1",
                      "pubsub x 1 1", "", "replica 1 2 3 normal 4g 5 6", "SLAVE 1 1 1", "Pubsub 1gb 2GB 3",
                      "pubsub 1 1 1 pubsub 2 2 2", "normal 1 1 1 bad 1 1 1", "pubsub 18446744073709551615 1 1"):
            diff.check("CONFIG", "SET", "client-output-buffer-limit", value)
            diff.check("CONFIG", "GET", "client-output-buffer-limit")
    finally:
        diff.check("CONFIG", "SET", "client-output-buffer-limit", default)
