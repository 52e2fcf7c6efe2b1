"""Keyspace notifications of the HyperLogLog, bit and stream commands: the same events, in the
same order, as Redis 7.0, consumers created implicitly by XREADGROUP, XCLAIM and XAUTOCLAIM
included (only when they deliver or claim something)."""

from __future__ import annotations

import time

import redis

from server.harness.processes import ServerProcess
from tests.respclient import RespConnection, encode_command


def _events(port: int) -> list[tuple[str, str]]:
    r = redis.Redis(port=port)
    r.flushall()
    r.config_set("notify-keyspace-events", "KEA")
    p = r.pubsub()
    p.psubscribe("__keyevent@0__:*")
    p.get_message(timeout=2)
    r.pfadd("h", "a", "b")
    r.pfadd("h", "a")  # nothing changed: no event
    r.pfadd("h2", "z")
    r.pfmerge("h3", "h", "h2")
    r.pfcount("h")
    r.set("b1", "ab")
    r.set("b2", "cd")
    r.bitop("AND", "b3", "b1", "b2")
    r.bitop("AND", "b4", "nokey1", "nokey2")  # an empty result: no key, no event
    r.bitfield("bf").set("u8", 0, 5).execute()
    r.bitfield("bf").get("u8", 0).execute()
    r.xadd("s", {"f": "v"}, id="1-1")
    r.xadd("s", {"f": "v"}, id="2-1")
    r.xdel("s", "2-1")
    r.xtrim("s", maxlen=0)
    r.xgroup_create("s", "g", id="0")
    r.xgroup_createconsumer("s", "g", "c1")
    r.xgroup_setid("s", "g", "0")
    r.xgroup_delconsumer("s", "g", "c1")
    r.xgroup_destroy("s", "g")
    r.execute_command("XSETID", "s", "5-5")
    r.xadd("q", {"f": "v"}, id="1-0")
    r.xadd("q", {"f": "v"}, id="2-0")
    r.xgroup_create("q", "g", id="0")
    r.xreadgroup("g", "alice", {"q": ">"}, count=1)  # a new consumer
    r.xreadgroup("g", "alice", {"q": ">"}, count=1)  # an existing one
    r.xreadgroup("g", "bob", {"q": "0"}, count=1)  # history read: created too
    r.xreadgroup("g", "frank", {"q": ">"}, count=1)  # nothing new to deliver: not created
    r.xclaim("q", "g", "carol", 0, ["1-0"])
    r.xclaim("q", "g", "dave", 0, ["9-0"])  # nothing claimed: not created
    r.xautoclaim("q", "g", "erin", 0, "0-0")
    r.xautoclaim("q", "g", "gina", 0, "0-0", justid=True)
    r.xautoclaim("q", "g", "hank", 0, "3-0")  # nothing to claim
    r.xclaim("q", "g", "ivan", 0, ["1-0"], justid=True)
    blocked = RespConnection(port)  # a blocked XREADGROUP's new consumer, created when served
    blocked.send_raw(encode_command(("XREADGROUP", "GROUP", "g", "judy", "BLOCK", "5000", "STREAMS", "q", ">")))
    deadline = time.monotonic() + 5
    while int(r.info("clients")["blocked_clients"]) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    r.xadd("q", {"f": "v"}, id="3-0")
    assert blocked.read_reply().type in "*%"
    blocked.close()
    r.publish("__keyevent@0__:end", "x")
    out = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        m = p.get_message(timeout=2)
        if m is None:
            break
        if m["type"] != "pmessage":
            continue
        if m["channel"] == b"__keyevent@0__:end":
            break
        out.append((m["channel"].decode().split(":", 1)[1], m["data"].decode()))
    r.config_set("notify-keyspace-events", "")
    p.close()
    r.close()
    return out


def test_hll_bit_and_stream_events_are_redis_s(redis_ref: ServerProcess, activekv: ServerProcess) -> None:
    ref = _events(redis_ref.port)
    assert ("pfadd", "h3") in ref and ("xgroup-destroy", "s") in ref  # the test sees them at all
    assert _events(activekv.port) == ref
