"""One run of one system: start it, load it, wait for quiescence, judge, summarise."""

from __future__ import annotations

import argparse
import collections
import threading
import time
from typing import Any

from benchmarks.concurrent_writes.lag import LAG_TIMEOUT_S, LagSampler
from benchmarks.concurrent_writes.oracle import judge, judge_queue, read_state, state_digest
from benchmarks.concurrent_writes.systems import SYSTEMS, System
from benchmarks.concurrent_writes.workload import REGIONS, KeySpace, Worker

CONVERGE_TIMEOUT_S = 60.0



def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))]


def ms(v: float | None) -> float | None:
    return None if v is None else round(v * 1000.0, 2)


def converge(system: System, ks: KeySpace, t_stop: float | None = None) -> tuple[float | None, list[dict[str, Any]]]:
    """Seconds from ``t_stop`` (default: now) until every copy holds the same state (None: not
    within the timeout), and the states read."""
    t_stop = time.monotonic() if t_stop is None else t_stop
    readers = [system.reader(i) for i in system.copies()]
    converge_s: float | None = None
    states: list[dict[str, Any]] = []
    while time.monotonic() - t_stop < CONVERGE_TIMEOUT_S:
        states = [read_state(r, ks) for r in readers]
        if len({state_digest(s) for s in states}) == 1 and system.quiescent():
            converge_s = time.monotonic() - t_stop
            break
        time.sleep(0.005)
    if converge_s is None:
        print(f"  [{system.name}] did not converge within {CONVERGE_TIMEOUT_S:.0f}s", flush=True)
    for r in readers:
        r.close()
    return converge_s, states


def drain(system: System, ks: KeySpace) -> list[str]:
    """Pop what the queues still hold, in the first region, once the load has stopped."""
    r = system.client(0)
    out: list[str] = []
    try:
        for key in ks.queues:
            for _ in range(1_000_000):
                job = r.lpop(key)
                if job is None:
                    break
                system.on_ack(0, key)
                out.append(job.decode())
    finally:
        r.close()
    return out


def run_system(system: System, args: argparse.Namespace, workload: str = "mixed") -> dict[str, Any]:
    ks = KeySpace(args.keys, workload)
    stop = threading.Event()
    label = SYSTEMS[system.name]
    print(f"\n== {label}, {workload} workload: starting", flush=True)
    t_setup = time.monotonic()
    system.start(args.delay_ms)
    print(f"== {label}: up in {time.monotonic() - t_setup:.1f}s; "
          f"{args.clients_per_region} clients x 3 regions for {args.seconds:g}s", flush=True)
    workers = [Worker(system, region, region * args.clients_per_region + k, ks, args.seed, stop)
               for region in range(3) for k in range(args.clients_per_region)]
    sampler = LagSampler(system, system.name) if system.lag_measured else None
    for w in workers:
        w.connect()
    t0 = time.monotonic()
    for w in workers:
        w.start()
    if sampler:
        sampler.start()
    second = 0
    while True:
        second += 1
        end = min(t0 + second, t0 + args.seconds)
        time.sleep(max(0.0, end - time.monotonic()))
        elapsed = time.monotonic() - t0
        per = [sum(w.ops for w in workers if w.region == i) for i in range(3)]
        errs = sum(w.errors for w in workers)
        lag = f"  lag markers {sampler.count}" if sampler else ""
        print(f"  [{system.name:8s} {elapsed:5.1f}s] " +
              "  ".join(f"{REGIONS[i]} {per[i]:7d}" for i in range(3)) +
              f"  = {sum(per):8d} ops ({sum(per) / elapsed:7.0f}/s)  errors {errs}{lag}",
              flush=True)
        if elapsed >= args.seconds:
            break
    stop.set()
    for w in workers:
        w.join(30)
    duration = time.monotonic() - t0
    t_stop = time.monotonic()
    if sampler:
        sampler.join(LAG_TIMEOUT_S + 5)
    # quiescence: the time from the last acknowledged write until every copy holds the same state
    converge_s, states = converge(system, ks, t_stop)
    verdict = judge(states, workers, ks)
    if ks.queues:
        drained = drain(system, ks)
        _, after = converge(system, ks)  # the drain's pops reach every copy: all empty
        verdict["queue"] = judge_queue(workers, drained)
        verdict["queue"]["left_after_drain"] = max(
            (sum(len(st[k][0]) for k in ks.queues) for st in after), default=0)
    lat = {REGIONS[i]: [x for w in workers if w.region == i for x in w.latencies] for i in range(3)}
    kinds: dict[str, list[float]] = collections.defaultdict(list)
    for w in workers:
        for kind, values in w.by_kind.items():
            kinds[kind].extend(values)
    ops = {REGIONS[i]: sum(w.ops for w in workers if w.region == i) for i in range(3)}
    result: dict[str, Any] = {
        "system": system.name,
        "workload": workload,
        "label": label,
        "duration_s": round(duration, 3),
        "ops": ops,
        "errors": sum(w.errors for w in workers),
        "throughput_ops_s": round(sum(ops.values()) / duration, 1),
        "throughput_per_region_ops_s": {k: round(v / duration, 1) for k, v in ops.items()},
        "latency_ms": {region: {"p50": ms(pct(v, 50)), "p99": ms(pct(v, 99)),
                                "mean": ms(sum(v) / len(v)) if v else None, "n": len(v)}
                       for region, v in lat.items()},
        "latency_by_op_ms": {kind: {"p50": ms(pct(v, 50)), "p99": ms(pct(v, 99)), "n": len(v)}
                             for kind, v in sorted(kinds.items())},
        "converge_ms": ms(converge_s),
        "correctness": verdict,
        "system_info": system.info(),
    }
    if sampler:
        result["lag_ms"] = {"p50": ms(pct(sampler.samples, 50)), "p99": ms(pct(sampler.samples, 99)),
                            "max": ms(max(sampler.samples)) if sampler.samples else None,
                            "n": len(sampler.samples), "timeouts": sampler.timeouts,
                            "samples": sampler.raw,
                            "per_link": {k: {"p50": ms(pct(v, 50)), "p99": ms(pct(v, 99)), "n": len(v)}
                                         for k, v in sorted(sampler.per_link.items())}}
    else:
        result["lag_ms"] = {"p50": 0.0, "p99": 0.0, "n": 0, "timeouts": 0,
                            "note": "one copy: no replication; remote clients pay the delay "
                                    "both ways on every op (see their write latency)"}
    return result
