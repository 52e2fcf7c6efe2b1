"""Reading the final state of every copy of the data and judging it against the oracles."""

from __future__ import annotations

import collections
import hashlib
from typing import Any

import redis

from benchmarks.concurrent_writes.workload import KeySpace, Worker


def read_state(r: redis.Redis, ks: KeySpace) -> dict[str, Any]:
    """The visible state of the workload's keys, canonical (sorted), with absolute expiry."""
    p = r.pipeline(transaction=False)
    for k in ks.counters + ks.strings:
        p.get(k)
    for k in ks.sets:
        p.smembers(k)
    for k in ks.hashes:
        p.hgetall(k)
    for k in ks.zsets:
        p.zrange(k, 0, -1, withscores=True)
    for k in ks.queues:
        p.lrange(k, 0, -1)
    for k in ks.all():
        p.execute_command("PEXPIRETIME", k)
    out = p.execute()
    state: dict[str, Any] = {}
    i = 0
    for k in ks.counters + ks.strings:
        state[k] = out[i]
        i += 1
    for k in ks.sets:
        state[k] = sorted(out[i])
        i += 1
    for k in ks.hashes:
        state[k] = sorted(out[i].items())
        i += 1
    for k in ks.zsets:
        state[k] = sorted(out[i])
        i += 1
    for k in ks.queues:
        state[k] = out[i]  # in order: the copies must agree on it too
        i += 1
    for k in ks.all():
        state[k] = (state[k], out[i])
        i += 1
    return state


def state_digest(state: dict[str, Any]) -> str:
    return hashlib.sha1(repr(sorted(state.items())).encode()).hexdigest()[:12]


def judge_queue(workers: list[Worker], drained: list[str]) -> dict[str, Any]:
    """Every acknowledged push popped at least once (by a worker or by the drain after the
    load); pops of one job more than once are counted, not errors (at-least-once)."""
    pushed: set[str] = set()
    unsure: set[str] = set()
    popped: collections.Counter[str] = collections.Counter(drained)
    for w in workers:
        pushed |= w.pushed
        unsure |= w.uncertain_pushed
        popped.update(w.popped)
    return {
        "pushed": len(pushed),
        "popped": sum(popped.values()),
        "drained_after_load": len(drained),
        "lost_pushes": len(pushed - set(popped)),
        "popped_twice_or_more": sum(1 for n in popped.values() if n > 1),
        "extra_pops": sum(n - 1 for n in popped.values() if n > 1),
        "phantom_pops": len(set(popped) - pushed - unsure),
    }


def judge(states: list[dict[str, Any]], workers: list[Worker], ks: KeySpace) -> dict[str, Any]:
    acked: dict[tuple[str, str | None], int] = collections.defaultdict(int)
    unsure: dict[tuple[str, str | None], int] = collections.defaultdict(int)
    for w in workers:
        for k, n in w.acked_incr.items():
            acked[k] += n
        for k, n in w.uncertain_incr.items():
            unsure[k] += n
    expect_present: set[tuple[str, str]] = set()
    expect_absent: set[tuple[str, str]] = set()
    for w in workers:
        for km, op in w.own_last.items():
            if km not in w.own_uncertain:
                (expect_present if op == "add" else expect_absent).add(km)
        expect_present |= w.shared_added
    per_region = []
    for st in states:
        lost = extra = 0
        for (key, field), n in acked.items():
            value = st[key][0]
            if field is not None:
                value = dict(value).get(field.encode())
            v = int(value or 0)
            lost += max(0, n - v)
            extra += max(0, v - n - unsure[(key, field)])
        members = {k: {m.decode() for m in st[k][0]} for k in ks.sets}
        lost_adds = sum(1 for k, m in expect_present if m not in members[k])
        undone = sum(1 for k, m in expect_absent if m in members[k])
        per_region.append({"lost_increments": lost, "extra_increments": extra,
                           "lost_adds": lost_adds, "undone_removes": undone})
    digests = [state_digest(st) for st in states]
    common = collections.Counter(digests).most_common(1)[0][1] if digests else 0
    differing_keys = sum(1 for k in ks.all() if len({repr(st[k]) for st in states}) > 1)
    total_incr = sum(acked.values())
    worst = {f: max(r[f] for r in per_region) for f in per_region[0]}
    return {
        "acked_increments": total_incr,
        "uncertain_increments": sum(unsure.values()),
        "expected_members": len(expect_present),
        "expected_absent_members": len(expect_absent),
        **worst,
        "lost_increments_pct": 100.0 * worst["lost_increments"] / total_incr if total_incr else 0.0,
        "lost_adds_pct": 100.0 * worst["lost_adds"] / len(expect_present) if expect_present else 0.0,
        "per_copy": per_region,
        "copies": len(states),
        "disagreeing_regions": len(states) - common,
        "differing_keys": differing_keys,
        "state_digests": digests,
    }
