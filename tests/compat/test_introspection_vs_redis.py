"""OBJECT FREQ/IDLETIME/REFCOUNT and MEMORY against a real redis-server (RESP2 and RESP3).

Idle times and LFU counters depend on when and how often each server saw the key, so those
are compared with a tolerance or by their documented behaviour (the counter of a fresh key
is 5 and grows with accesses); everything else, errors included, must be identical.
"""

from __future__ import annotations

from tests.compat.helpers import check_type
from tests.conftest import Differential


def _policy(diff: Differential, policy: str) -> None:
    diff.ref.call("CONFIG", "SET", "maxmemory-policy", policy)
    diff.ours.call("CONFIG", "SET", "maxmemory-policy", policy)


def test_object_refcount_and_missing_keys(diff: Differential) -> None:
    diff.check_all(("SET", "small", "100"), ("SET", "big", "100000"), ("SET", "s", "hello"),
                   ("RPUSH", "l", "a"), ("SADD", "set", "1"))
    for key in ("small", "big", "s", "l", "set", "nokey"):
        diff.check("OBJECT", "REFCOUNT", key)
    for sub in ("FREQ", "IDLETIME", "ENCODING"):
        diff.check("OBJECT", sub, "nokey")
    diff.check("OBJECT", "HELP")
    diff.check("OBJECT", "FREQ")
    diff.check("OBJECT", "NOPE", "x")


def test_object_idletime_counts_from_the_last_access(diff: Differential) -> None:
    _policy(diff, "noeviction")
    diff.check("SET", "k", "v")
    diff.check("OBJECT", "FREQ", "k")  # no LFU policy: Redis's error
    # RESTORE IDLETIME sets the idle time; OBJECT, TYPE, EXISTS and TTL do not touch, GET does
    payload = diff.ref.call("DUMP", "k").value
    diff.check("RESTORE", "old", "0", payload, "IDLETIME", "1000")
    for _ in range(2):
        ref, ours = diff.both("OBJECT", "IDLETIME", "old")
        assert abs(ref.value - ours.value) <= 1 and 999 <= ours.value <= 1002, (ref, ours)
        diff.check("TYPE", "old")
        diff.check("EXISTS", "old")
        diff.check("TTL", "old")
        diff.check("PEXPIRETIME", "old")
    diff.check("GET", "old")
    ref, ours = diff.both("OBJECT", "IDLETIME", "old")
    assert ours.value <= 1 and ref.value <= 1


def test_object_freq_with_an_lfu_policy(diff: Differential) -> None:
    _policy(diff, "allkeys-lfu")
    try:
        diff.check("SET", "k", "v")
        diff.check("OBJECT", "FREQ", "k")  # a new key: LFU_INIT_VAL, 5
        diff.check("OBJECT", "IDLETIME", "k")  # LFU: Redis's error
        for _ in range(200):
            diff.both("GET", "k")
        ref, ours = diff.both("OBJECT", "FREQ", "k")
        assert ref.type == ours.type == ":" and 5 < ours.value <= 255 and 5 < ref.value
        payload = diff.ref.call("DUMP", "k").value
        diff.check("RESTORE", "f", "0", payload, "FREQ", "100")
        diff.check("OBJECT", "FREQ", "f")
    finally:
        _policy(diff, "noeviction")


def test_memory_usage(diff: Differential) -> None:
    diff.check_all(("SET", "k", "v"), ("MEMORY", "USAGE", "nokey"), ("MEMORY", "USAGE", "k", "SAMPLES"),
                   ("MEMORY", "USAGE", "k", "SAMPLES", "-1"), ("MEMORY", "USAGE", "k", "SAMPLES", "x"),
                   ("MEMORY", "USAGE", "k", "BOGUS"), ("MEMORY", "USAGE"))
    check_type(diff, "MEMORY", "USAGE", "k")
    check_type(diff, "MEMORY", "USAGE", "k", "SAMPLES", "0")
    diff.check("RPUSH", "small", "a")
    diff.check("RPUSH", "large", *[f"element-{i}" * 10 for i in range(2000)])
    small = diff.ours.call("MEMORY", "USAGE", "small").value
    large = diff.ours.call("MEMORY", "USAGE", "large").value
    full = diff.ours.call("MEMORY", "USAGE", "large", "SAMPLES", "0").value
    # honest: the large list costs at least its bytes, and sampling estimates the full count
    assert small < 2000 < 2000 * 100 < large
    assert abs(full - large) < full * 0.25


def test_memory_subcommands(diff: Differential) -> None:
    diff.check("SET", "k", "v")
    diff.check("MEMORY", "HELP")
    diff.check("MEMORY", "PURGE")
    diff.check("MEMORY", "NOPE")
    check_type(diff, "MEMORY", "DOCTOR")
    ref, ours = diff.both("MEMORY", "STATS")
    assert ref.type == ours.type
    names = [k.value for k, _ in ours.value] if ours.type == "%" else [r.value for r in ours.value[::2]]
    ref_names = [k.value for k, _ in ref.value] if ref.type == "%" else [r.value for r in ref.value[::2]]
    assert names == ref_names
