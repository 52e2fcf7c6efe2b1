"""Client-side caching against redis-server 7.0.15: CLIENT TRACKING (REDIRECT, BCAST, PREFIX,
OPTIN, OPTOUT, NOLOOP) and its errors, CLIENT CACHING, CLIENT GETREDIR, CLIENT TRACKINGINFO,
and the invalidation messages (RESP3 pushes; RESP2 through REDIRECT to a subscribed connection;
after the reply for a client's own write; batched per prefix in BCAST; null on FLUSHALL;
``tracking-redir-broken``).

Each scenario runs the same steps against each server and records a transcript of every reply
and push, client ids replaced by their role; the transcripts must be identical. A transcript
step ends with a PING on the tracking connection, so whatever arrived before its PONG is in it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from server.harness.processes import ServerProcess
from tests.respclient import Reply, RespConnection, encode_command

Transcript = list[Any]


class Side:
    def __init__(self, port: int, protocol: int) -> None:
        self.port, self.protocol = port, protocol
        self.conns: list[RespConnection] = []
        self.ids: dict[int, str] = {}
        self.log: Transcript = []

    def conn(self, role: str, protocol: int | None = None) -> RespConnection:
        conn = RespConnection(self.port, timeout=5.0)
        if (protocol or self.protocol) == 3:
            assert conn.call("HELLO", "3").type == "%"
        self.ids[conn.call("CLIENT", "ID").value] = role
        self.conns.append(conn)
        return conn

    def id_of(self, role: str) -> int:
        return next(i for i, r in self.ids.items() if r == role)

    def norm(self, reply: Reply) -> Any:
        if reply.type == ":" and reply.value in self.ids:
            return ("id", self.ids[reply.value])
        if reply.type in "*>~" and reply.value is not None:
            return (reply.type, [self.norm(r) for r in reply.value])
        if reply.type in "%|":
            return (reply.type, [(self.norm(k), self.norm(v)) for k, v in reply.value])
        return reply

    def call(self, conn: RespConnection, *args: Any) -> None:
        """Send; record the replies up to this command's own (pushes before it included)."""
        conn.send_raw(encode_command(args))
        self._until_reply(conn, args)

    def _until_reply(self, conn: RespConnection, args: tuple[Any, ...]) -> None:
        for _ in range(50):
            reply = conn.read_reply()
            self.log.append((args[0], self.norm(reply)))
            if reply.type != ">":
                return
        raise AssertionError("too many pushes")

    def sync(self, conn: RespConnection) -> None:
        """PING; record everything that arrives before its reply (pushes, messages)."""
        conn.send_raw(encode_command(("PING", "sync")))
        for _ in range(50):
            reply = conn.read_reply()
            self.log.append(("sync", self.norm(reply)))
            value = reply.value
            if reply.type == "$" and value == b"sync":
                return
            if reply.type in "*>" and len(value) == 2 and value[0].value == b"pong":
                return
        raise AssertionError("no PING reply")

    def wait_gone(self, conn: RespConnection, role: str) -> None:
        """Until the server no longer lists the connection (its close was processed)."""
        for _ in range(500):
            listing = conn.call("CLIENT", "LIST", "ID", self.id_of(role))
            if listing.value in (b"", b"txt:"):  # empty (RESP3: an empty verbatim string)
                return
            time.sleep(0.01)
        raise AssertionError(f"{role} still connected")

    def close(self) -> None:
        for conn in self.conns:
            conn.close()


Scenario = Callable[[Side], None]


def _compare(redis_ref: ServerProcess, activekv: ServerProcess, protocol: int, scenario: Scenario) -> None:
    transcripts = []
    for port in (redis_ref.port, activekv.port):
        side = Side(port, protocol)
        try:
            side.call(side.conn("setup"), "FLUSHALL")
            scenario(side)
        finally:
            side.close()
        transcripts.append(side.log)
    ref, ours = transcripts
    for i, (r, o) in enumerate(zip(ref, ours, strict=False)):
        assert o == r, f"RESP{protocol} step {i}:\n  redis:    {r!r}\n  activekv: {o!r}"
    assert len(ours) == len(ref), f"RESP{protocol}: redis {ref[len(ours):]!r} activekv {ours[len(ref):]!r}"


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def protocol(request: pytest.FixtureRequest) -> int:
    return int(request.param)


def test_errors_and_info(redis_ref: ServerProcess, activekv: ServerProcess, protocol: int) -> None:
    def scenario(s: Side) -> None:
        t = s.conn("tracker")
        other = s.conn("other")
        for cmd in (
            ("CLIENT", "TRACKING"), ("CLIENT", "TRACKING", "maybe"), ("CLIENT", "TRACKING", "on", "nosuch"),
            ("CLIENT", "TRACKING", "on", "redirect"), ("CLIENT", "TRACKING", "on", "redirect", "x"),
            ("CLIENT", "TRACKING", "on", "redirect", "999999"),
            ("CLIENT", "TRACKING", "on", "redirect", s.id_of("other"), "redirect", s.id_of("other")),
            ("CLIENT", "TRACKING", "on", "prefix", "a"), ("CLIENT", "TRACKING", "on", "bcast", "optin"),
            ("CLIENT", "TRACKING", "on", "optin", "optout"),
            ("CLIENT", "TRACKING", "on", "bcast", "prefix", "ab", "prefix", "a"),
            ("CLIENT", "TRACKING", "on", "bcast", "prefix"),
            ("CLIENT", "CACHING", "yes"), ("CLIENT", "CACHING"), ("CLIENT", "CACHING", "yes", "x"),
            ("CLIENT", "GETREDIR"), ("CLIENT", "TRACKINGINFO"), ("CLIENT", "TRACKINGINFO", "x"),
            ("CLIENT", "TRACKING", "on", "optin"), ("CLIENT", "CACHING", "no"), ("CLIENT", "CACHING", "maybe"),
            ("CLIENT", "CACHING", "yes"), ("CLIENT", "TRACKINGINFO"),
            ("CLIENT", "TRACKING", "on", "optout"), ("CLIENT", "TRACKING", "on", "bcast"),
            ("CLIENT", "TRACKING", "on", "optin", "noloop", "redirect", s.id_of("other")),
            ("CLIENT", "GETREDIR"), ("CLIENT", "TRACKINGINFO"), ("CLIENT", "TRACKING", "off"),
            ("CLIENT", "TRACKINGINFO"), ("CLIENT", "GETREDIR"),
            ("CLIENT", "TRACKING", "on", "bcast", "prefix", "b", "prefix", "a"),
            ("CLIENT", "TRACKING", "on", "bcast", "prefix", "bb"),
            ("CLIENT", "TRACKING", "on", "bcast", "prefix", "c", "noloop"),
            ("CLIENT", "TRACKINGINFO"), ("CLIENT", "TRACKING", "on"), ("CLIENT", "TRACKING", "OFF"),
            ("CLIENT", "TRACKING", "on", "optout"), ("CLIENT", "CACHING", "no"), ("CLIENT", "TRACKINGINFO"),
            ("RESET",), ("CLIENT", "TRACKINGINFO"),
        ):
            s.call(t, *cmd)
        del other

    _compare(redis_ref, activekv, protocol, scenario)


def test_invalidations_resp3(redis_ref: ServerProcess, activekv: ServerProcess) -> None:
    def scenario(s: Side) -> None:
        t = s.conn("tracker", 3)
        w = s.conn("writer", 3)
        s.call(t, "CLIENT", "TRACKING", "on")
        s.call(w, "MSET", "a", "1", "b", "2", "c", "3")
        s.call(t, "GET", "a")
        s.call(t, "MGET", "b", "c", "nosuch")
        s.call(w, "SET", "a", "2")  # tracker: invalidate [a]
        s.sync(t)
        s.call(w, "SET", "a", "3")  # no longer tracked: nothing
        s.call(w, "DEL", "b", "c")
        s.sync(t)
        s.call(t, "GET", "a")
        s.call(t, "SET", "a", "own")  # own write: the invalidation comes after the reply
        s.sync(t)
        s.call(t, "GET", "a")
        s.call(w, "FLUSHALL")  # null invalidation
        s.sync(t)
        s.call(t, "CLIENT", "TRACKING", "on", "noloop")
        s.call(t, "GET", "a")
        s.call(t, "SET", "a", "again")  # NOLOOP: nothing
        s.sync(t)
        s.call(t, "GET", "a")
        s.call(w, "MULTI")
        s.call(w, "SET", "a", "x")
        s.call(w, "EXEC")
        s.sync(t)

    _compare(redis_ref, activekv, 3, scenario)


def test_optin_optout(redis_ref: ServerProcess, activekv: ServerProcess) -> None:
    def scenario(s: Side) -> None:
        t = s.conn("tracker", 3)
        w = s.conn("writer", 3)
        s.call(t, "CLIENT", "TRACKING", "on", "optin")
        s.call(t, "GET", "k1")  # not cached: no CLIENT CACHING yes
        s.call(t, "CLIENT", "CACHING", "yes")
        s.call(t, "GET", "k2")
        s.call(t, "GET", "k3")  # CACHING applied to the previous command only
        s.call(w, "MSET", "k1", "x", "k2", "x", "k3", "x")
        s.sync(t)
        s.call(t, "CLIENT", "TRACKING", "off")
        s.call(t, "CLIENT", "TRACKING", "on", "optout")
        s.call(t, "GET", "k1")
        s.call(t, "CLIENT", "CACHING", "no")
        s.call(t, "GET", "k2")
        s.call(w, "MSET", "k1", "y", "k2", "y")
        s.sync(t)

    _compare(redis_ref, activekv, 3, scenario)


def test_bcast(redis_ref: ServerProcess, activekv: ServerProcess) -> None:
    def scenario(s: Side) -> None:
        t = s.conn("tracker", 3)
        w = s.conn("writer", 3)
        s.call(t, "CLIENT", "TRACKING", "on", "bcast", "prefix", "user:", "prefix", "item:")
        s.call(w, "MSET", "user:2", "a", "user:1", "b", "other", "c", "item:9", "d")
        s.sync(t)
        s.call(w, "SET", "nothing", "x")
        s.sync(t)
        s.call(t, "CLIENT", "TRACKING", "off")
        s.call(t, "CLIENT", "TRACKING", "on", "bcast", "noloop")
        s.call(t, "SET", "mine", "1")
        s.call(w, "SET", "theirs", "1")
        s.sync(t)

    _compare(redis_ref, activekv, 3, scenario)


def test_redirect(redis_ref: ServerProcess, activekv: ServerProcess, protocol: int) -> None:
    def scenario(s: Side) -> None:
        t = s.conn("tracker")
        r = s.conn("redirected", 2)
        w = s.conn("writer")
        s.call(r, "SUBSCRIBE", "__redis__:invalidate")
        s.call(t, "CLIENT", "TRACKING", "on", "redirect", s.id_of("redirected"))
        s.call(t, "GET", "k")
        s.call(w, "SET", "k", "v")
        s.sync(r)
        s.call(t, "GET", "k")
        s.call(w, "FLUSHALL")
        s.sync(r)
        s.call(t, "GET", "k")
        r.close()
        s.conns.remove(r)
        s.wait_gone(w, "redirected")
        s.call(w, "SET", "k", "v2")  # the redirect target is gone: broken redirect
        s.sync(t)
        s.call(t, "CLIENT", "TRACKINGINFO")

    _compare(redis_ref, activekv, protocol, scenario)


def test_info_tracking_fields(redis_ref: ServerProcess, activekv: ServerProcess) -> None:
    def scenario(s: Side) -> None:
        t = s.conn("tracker", 3)
        b = s.conn("bcast", 3)
        s.call(t, "CLIENT", "TRACKING", "on")
        s.call(t, "MGET", "x", "y", "z")
        s.call(b, "CLIENT", "TRACKING", "on", "bcast", "prefix", "p", "prefix", "q")
        info = s.conn("info")
        text = info.call("INFO", "stats").value
        fields = dict(ln.split(":", 1) for ln in text.decode().splitlines() if ln.startswith("tracking_"))
        s.log.append(sorted(fields.items()))
        text = info.call("INFO", "clients").value
        s.log.append([ln for ln in text.decode().splitlines() if ln.startswith("tracking_clients")])

    _compare(redis_ref, activekv, 2, scenario)
