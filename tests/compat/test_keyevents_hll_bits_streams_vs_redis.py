"""Keyspace notifications of the HyperLogLog, bit and stream commands: the same events, in the
same order, as Redis 7.0 (consumers created by XREADGROUP/XCLAIM fire no event here: a gap)."""

from __future__ import annotations

import time

import redis

from server.harness.processes import ServerProcess


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
