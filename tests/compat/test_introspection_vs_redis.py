"""OBJECT FREQ/IDLETIME/REFCOUNT and MEMORY against a real redis-server (RESP2 and RESP3).

Idle times and LFU counters depend on when and how often each server saw the key, so those
are compared with a tolerance or by their documented behaviour (the counter of a fresh key
is 5 and grows with accesses); everything else, errors included, must be identical.
"""

from __future__ import annotations

from typing import Any

from tests.compat.helpers import check_type
from tests.conftest import Differential
from tests.respclient import Reply


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


def _stats(r: Reply) -> dict[bytes, Any]:
    pairs = r.value if r.type == "%" else list(zip(r.value[::2], r.value[1::2], strict=True))
    return {k.value: v.value for k, v in pairs}


def _info_memory(diff: Differential) -> dict[str, str]:
    r = diff.ours.call("INFO", "memory")
    text = (r.value[4:] if r.type == "=" else r.value).decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def test_memory_doctor_on_an_empty_instance_is_redis_s(diff: Differential) -> None:
    diff.check("MEMORY", "DOCTOR")  # under 5 MB: Redis's "empty instance" report, word for word


def test_memory_stats_agree_with_info_memory(diff: Differential) -> None:
    stats = _stats(diff.ours.call("MEMORY", "STATS"))
    fields = _info_memory(diff)
    assert stats[b"startup.allocated"] == int(fields["used_memory_startup"])
    # (used_memory moves between the two calls by a few hundred bytes at most)
    assert abs(stats[b"total.allocated"] - int(fields["used_memory"])) < 4096
    assert stats[b"peak.allocated"] >= stats[b"total.allocated"]
    assert stats[b"clients.normal"] >= 0 and stats[b"clients.slaves"] == 0


def test_memory_doctor_reports_over_5_mb(diff: Differential) -> None:
    big = "x" * 100_000
    for i in range(0, 80, 20):  # 8 MB of strings
        diff.ours.call("MSET", *[x for j in range(i, i + 20) for x in (f"big:{j}", big)])
    report = diff.ours.call("MEMORY", "DOCTOR")
    text = (report.value[4:] if report.type == "=" else report.value).decode()
    fields = _info_memory(diff)
    used, rss = int(fields["used_memory"]), int(fields["used_memory_rss"])
    assert used >= 5 << 20
    if rss / used > 1.4 and rss - used > 10 << 20:  # Python's own RSS: Redis's "High total RSS"
        assert text.startswith("Sam, I detected a few issues in this Redis instance memory implants:")
        assert " * High total RSS: " in text and 'allocator is "pymalloc"' in text
        assert text.endswith("I'm here to keep you safe, Sam. I want to help you.\n")
    else:
        assert text == "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
    diff.ours.call("FLUSHALL")
