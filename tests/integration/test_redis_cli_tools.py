"""redis-cli's keyspace tools against a real activekv-server: --bigkeys, --memkeys, --hotkeys,
--scan, --pipe (they end by themselves) and --stat, --latency (bounded by time). Each must run
without an error or a warning and report what the database holds. They work in database 9 of
the session's server, so other tests' keys do not show up."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis

from server.harness.processes import ServerProcess

DB = "9"


@pytest.fixture
def r(activekv: ServerProcess) -> Iterator[redis.Redis]:
    client = redis.Redis(port=activekv.port, db=int(DB))
    client.flushdb()
    client.rpush("biglist", *[f"e{i}" for i in range(50)])
    client.rpush("smalllist", "a")
    client.set("bigstring", "x" * 300)
    client.set("s1", "v")
    client.sadd("set", "a", "b", "c")
    client.hset("hash", mapping={"f1": "v1", "f2": "v2"})
    client.zadd("zset", {"m1": 1, "m2": 2, "m3": 3, "m4": 4})
    yield client
    client.config_set("maxmemory-policy", "noeviction")
    client.flushdb()
    client.close()


def _cli(port: int, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(["redis-cli", "-p", str(port), "-n", DB, *args], input=stdin,
                          capture_output=True, text=True, timeout=30)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    _clean(out)
    return out


def _clean(out: str) -> None:
    for bad in ("ERR", "error:", "Error", "Warning", "WARNING", "Traceback"):
        if bad == "error:" and "errors: 0" in out:
            continue
        assert bad not in out, out


def _timed(port: int, *args: str, seconds: float) -> str:
    """A tool that runs until stopped: line-buffered (stdbuf), stopped after ``seconds``."""
    proc = subprocess.Popen(["stdbuf", "-oL", "redis-cli", "-p", str(port), "-n", DB, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(seconds)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    _clean(out)
    return out


def test_bigkeys(activekv: ServerProcess, r: redis.Redis) -> None:
    out = _cli(activekv.port, "--bigkeys")
    assert "Sampled 7 keys in the keyspace!" in out
    assert "Biggest   list found '\"biglist\"' has 50 items" in out
    assert "Biggest string found '\"bigstring\"' has 300 bytes" in out
    assert "Biggest   zset found '\"zset\"' has 4 members" in out
    assert "2 lists with 51 items" in out


def test_memkeys(activekv: ServerProcess, r: redis.Redis) -> None:
    out = _cli(activekv.port, "--memkeys")
    assert "Sampled 7 keys in the keyspace!" in out
    assert "Biggest   list found '\"biglist\"' has" in out
    sizes = dict(re.findall(r"Biggest +(\w+) found '\"\w+\"' has (\d+) bytes", out))
    assert set(sizes) == {"list", "hash", "string", "set", "zset"}
    assert all(int(v) > 0 for v in sizes.values())


def test_hotkeys(activekv: ServerProcess, r: redis.Redis) -> None:
    # without an LFU policy it stops at the first OBJECT FREQ with Redis's error, as on Redis
    done = subprocess.run(["redis-cli", "-p", str(activekv.port), "-n", DB, "--hotkeys"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "ERR An LFU maxmemory policy is not selected, access frequency not tracked." in done.stderr
    r.config_set("maxmemory-policy", "allkeys-lfu")
    for _ in range(300):
        r.get("s1")
    out = _cli(activekv.port, "--hotkeys")
    found = dict((k, int(n)) for n, k in re.findall(r"hot key found with counter: (\d+)\s+keyname: \"(\w+)\"", out))
    assert found and max(found, key=lambda k: found[k]) == "s1"
    assert all(0 <= n <= 255 for n in found.values())


def test_scan(activekv: ServerProcess, r: redis.Redis) -> None:
    out = _cli(activekv.port, "--scan", "--pattern", "s*")
    assert sorted(out.split()) == ["s1", "set", "smalllist"]
    out = _cli(activekv.port, "--scan")
    assert len(out.split()) == 7


def test_pipe(activekv: ServerProcess, r: redis.Redis) -> None:
    commands = "".join(f"SET piped:{i} {i}\r\n" for i in range(100)) + "INCR piped:0\r\n"
    out = _cli(activekv.port, "--pipe", stdin=commands)
    assert "errors: 0, replies: 101" in out
    assert r.get("piped:0") == b"1" and r.get("piped:99") == b"99"


def test_stat(activekv: ServerProcess, r: redis.Redis) -> None:
    out = _timed(activekv.port, "--stat", "-i", "0.2", seconds=1.5)
    lines = out.splitlines()
    assert lines[0].startswith("------- data ------")
    rows = [ln.split() for ln in lines[2:] if ln.strip()]
    assert rows and all(row[0].isdigit() for row in rows)  # the key count of every database


def test_latency(activekv: ServerProcess, r: redis.Redis) -> None:
    # Not on a terminal, --latency samples for a second and prints "min max avg samples".
    out = subprocess.run(["redis-cli", "-p", str(activekv.port), "--latency"], capture_output=True,
                         text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    fields = out.stdout.split()
    assert len(fields) == 4 and int(fields[3]) > 10, out.stdout
    assert 0 <= int(fields[0]) <= int(fields[1])


def test_memory_usage_measures_a_key_at_rest_whatever_the_sweep_reached(r: redis.Redis) -> None:
    # a just-written key and one the packing sweep has passed measure the same (the sweep's
    # progress must not reorder --memkeys' biggest keys)
    passes = int(r.info("crdt")["packing_passes"])
    deadline = time.monotonic() + 10
    while int(r.info("crdt")["packing_passes"]) < passes + 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # until the sweep has passed the fixture's keys
    r.rpush("newlist", *[f"e{i}" for i in range(50)])
    first = r.memory_usage("newlist")  # (named as long as biglist)
    assert first is not None and r.memory_usage("newlist") == first
    assert r.memory_usage("biglist") > r.memory_usage("smalllist")
    assert r.memory_usage("biglist") == first  # the same list, packed by the sweep
    r.set("s2", "v")  # (the same length of name as s1's)
    assert r.memory_usage("s2") == r.memory_usage("s1")
