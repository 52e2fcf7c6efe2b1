"""SEMANTICS "Transactions, scripts, functions" with three real regions and fault proxies:
a script's writes reach peers as one atomic batch of effects (G6) — a reader at a peer never
sees half of them — peers apply the effects and never re-run the script, and the script
cache is local to its region."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from server.harness.regions import Cluster

KEYS = [f"atomic:{i}" for i in range(40)]
WRITE_ALL = "for i, k in ipairs(KEYS) do redis.call('set', k, ARGV[1]) end return #KEYS"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with Cluster(3) as c:
        c.wait_linked()
        yield c


def test_a_scripts_writes_arrive_at_peers_atomically(cluster: Cluster) -> None:
    # The link that region 1 pulls region 0's log through is slowed down, so a script's
    # ~10 KB of effects reaches region 1 in several pieces over several hundred ms: were they
    # several batches, region 1 would apply the first ones before the rest arrived, and the
    # reader there would see a mix of generations.
    torn: list[list[bytes | None]] = []
    reads = 0
    stop = threading.Event()
    pad = "x" * 200

    def reader() -> None:
        nonlocal reads
        deadline = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < deadline:
            values = cluster.call(1, "MGET", *KEYS)
            reads += 1
            if len(set(values)) != 1:
                torn.append(values)

    slow = cluster.proxies[(1, 0)]
    slow.set_bandwidth(40_000)
    thread = threading.Thread(target=reader, daemon=True)
    try:
        thread.start()
        for generation in range(1, 7):
            assert cluster.call(0, "EVAL", WRITE_ALL, len(KEYS), *KEYS, f"{generation}{pad}") == len(KEYS)
        cluster.wait_converged()
    finally:
        slow.set_bandwidth(0)
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert reads > 0
    assert torn == [], f"a peer saw half a script's writes: {[v[:12] if v else v for v in torn[0]]}"
    for region in range(3):
        assert set(cluster.call(region, "MGET", *KEYS)) == {f"6{pad}".encode()}


def test_peers_apply_the_effects_instead_of_re_running_the_script(cluster: Cluster) -> None:
    # math.random and TIME differ on every run: equal values everywhere mean one run.
    script = ("local t = redis.call('time') "
              "redis.call('set', KEYS[1], t[1] .. '.' .. t[2] .. ':' .. math.random()) "
              "redis.call('incr', KEYS[2]) return redis.call('get', KEYS[1])")
    origin_value = cluster.call(0, "EVAL", script, 2, "nondet", "runs")
    cluster.wait_converged()
    assert [cluster.call(i, "GET", "nondet") for i in range(3)] == [origin_value] * 3
    assert [cluster.call(i, "GET", "runs") for i in range(3)] == [b"1"] * 3


def test_the_script_cache_is_local_to_a_region(cluster: Cluster) -> None:
    sha = cluster.call(0, "SCRIPT", "LOAD", "return 'cached'")
    assert cluster.call(0, "EVALSHA", sha, 0) == b"cached"
    assert cluster.call(1, "SCRIPT", "EXISTS", sha) == [0]


def test_a_script_and_a_concurrent_write_merge_by_the_data_rules(cluster: Cluster) -> None:
    cluster.partition(0, 1)
    cluster.partition(0, 2)
    cluster.partition(1, 2)
    cluster.call(0, "EVAL", "redis.call('sadd', KEYS[1], 'from-script') return redis.call('incrby', KEYS[2], 5)",
                 2, "merged:set", "merged:counter")
    cluster.call(1, "SADD", "merged:set", "from-east")
    cluster.call(2, "INCRBY", "merged:counter", 3)
    cluster.heal_all()
    cluster.wait_converged()
    for region in range(3):
        assert sorted(cluster.call(region, "SMEMBERS", "merged:set")) == [b"from-east", b"from-script"]
        assert cluster.call(region, "GET", "merged:counter") == b"8"


def _lib(name: str, value: str) -> str:
    return (f"#!lua name={name}\n"
            f"redis.register_function('{name}_version', function() return '{value}' end)")


def _eventually(check: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.02)
    assert check()  # type: ignore[operator]


def test_function_load_in_one_region_is_callable_in_the_others(cluster: Cluster) -> None:
    assert cluster.call(0, "FUNCTION", "LOAD", _lib("shared", "v1")) == b"shared"
    _eventually(lambda: all(cluster.call(i, "FCALL", "shared_version", 0) == b"v1" for i in range(3)))
    cluster.call(2, "FUNCTION", "LOAD", "REPLACE", _lib("shared", "v2"))
    _eventually(lambda: all(cluster.call(i, "FCALL", "shared_version", 0) == b"v2" for i in range(3)))
    cluster.call(1, "FUNCTION", "DELETE", "shared")
    _eventually(lambda: all(cluster.call(i, "FUNCTION", "LIST", "LIBRARYNAME", "shared") == []
                            for i in range(3)))


def test_concurrent_loads_of_one_library_the_greatest_timestamp_wins(cluster: Cluster) -> None:
    cluster.partition(0, 1)
    cluster.partition(0, 2)
    cluster.partition(1, 2)
    cluster.call(0, "FUNCTION", "LOAD", _lib("race", "first"))
    time.sleep(0.01)
    cluster.call(1, "FUNCTION", "LOAD", _lib("race", "second"))  # later timestamp
    assert cluster.call(0, "FCALL", "race_version", 0) == b"first"
    cluster.heal_all()
    cluster.wait_converged()
    _eventually(lambda: all(cluster.call(i, "FCALL", "race_version", 0) == b"second" for i in range(3)))


def test_function_delete_concurrent_with_a_load_keeps_the_load(cluster: Cluster) -> None:
    cluster.call(0, "FUNCTION", "LOAD", _lib("kept", "old"))
    _eventually(lambda: all(cluster.call(i, "FCALL", "kept_version", 0) == b"old" for i in range(3)))
    cluster.partition(0, 1)
    cluster.partition(0, 2)
    cluster.partition(1, 2)
    cluster.call(0, "FUNCTION", "DELETE", "kept")
    cluster.call(1, "FUNCTION", "LOAD", "REPLACE", _lib("kept", "new"))
    cluster.heal_all()
    cluster.wait_converged()
    _eventually(lambda: all(cluster.call(i, "FCALL", "kept_version", 0) == b"new" for i in range(3)))
    cluster.call(2, "FUNCTION", "FLUSH")
    _eventually(lambda: all(cluster.call(i, "FUNCTION", "LIST") == [] for i in range(3)))


def test_function_restore_is_replicated_like_a_load(cluster: Cluster) -> None:
    """FUNCTION RESTORE writes libraries as data too: a dump taken in one region and restored
    in another (APPEND, then FLUSH) reaches every region."""
    cluster.call(0, "FUNCTION", "FLUSH")
    cluster.call(0, "FUNCTION", "LOAD", _lib("dumped", "d1"))
    payload = cluster.call(0, "FUNCTION", "DUMP")
    _eventually(lambda: all(cluster.call(i, "FCALL", "dumped_version", 0) == b"d1" for i in range(3)))
    cluster.call(1, "FUNCTION", "FLUSH")
    _eventually(lambda: all(cluster.call(i, "FUNCTION", "LIST") == [] for i in range(3)))
    assert cluster.call(2, "FUNCTION", "RESTORE", payload) == b"OK"
    _eventually(lambda: all(cluster.call(i, "FCALL", "dumped_version", 0) == b"d1" for i in range(3)))
    cluster.call(0, "FUNCTION", "LOAD", _lib("extra", "e"))
    _eventually(lambda: all(cluster.call(i, "FCALL", "extra_version", 0) == b"e" for i in range(3)))
    assert cluster.call(1, "FUNCTION", "RESTORE", payload, "FLUSH") == b"OK"
    _eventually(lambda: all([lib[b"library_name"] for lib in cluster.call(i, "FUNCTION", "LIST")] == [b"dumped"]
                            for i in range(3)))


def test_a_busy_script_leaves_the_peer_links_intact(cluster: Cluster) -> None:
    """While a script is busy the region serves its clients from their sockets; replication
    in both directions carries on and converges once the script is killed. (That the busy loop
    never reads a handed-over peer link as commands is checked by protocol, in
    tests/unit/test_scripting_busy_poll.py.)"""
    import redis

    admin = redis.Redis(host="127.0.0.1", port=cluster.ports[0], socket_timeout=10)
    admin.config_set("busy-reply-threshold", 100)
    caller = redis.Redis(host="127.0.0.1", port=cluster.ports[0], socket_timeout=10)
    caller.ping()
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["reply"] = caller.eval("local i = 0 while true do i = i + 1 end", 0)
        except Exception as exc:
            result["reply"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    cluster.call(1, "SET", "during-busy", "from-east")  # replicates to the busy region's links
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            admin.get("probe")
        except redis.exceptions.ResponseError:
            break
        time.sleep(0.02)
    time.sleep(0.3)  # peers keep streaming to region 0 while it is busy
    assert admin.execute_command("SCRIPT", "KILL") in (b"OK", True)
    thread.join(10)
    assert not thread.is_alive()
    admin.config_set("busy-reply-threshold", 5000)
    cluster.call(0, "SET", "after-busy", "from-west")
    cluster.wait_converged()
    for region in range(3):
        assert cluster.call(region, "GET", "during-busy") == b"from-east"
        assert cluster.call(region, "GET", "after-busy") == b"from-west"
