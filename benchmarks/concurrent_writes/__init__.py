"""Concurrent writes to the same hot keys from three regions, on three systems side by side.

    python -m benchmarks.concurrent_writes [--delay-ms 40] [--seconds 20] [--clients-per-region 4]
                                           [--keys 8] [--out benchmarks/results]
                                           [--systems activekv,primary,lww] [--seed 1]
                                           [--workloads mixed,leaderboard,queue,pubsub]

Three regions on loopback (``us-west``, ``us-east``, ``eu-west``) with a fault proxy adding
``--delay-ms`` one way on every inter-region hop. In every region ``--clients-per-region``
client threads run the same seeded closed-loop workload (no think time) against a small shared
set of hot keys — INCR/INCRBY, HINCRBY, HSET, SADD/SREM, SET, EXPIRE — for ``--seconds``, then
stop; the benchmark waits for quiescence and checks the final state of every region. Then the
same for two more workloads (``workload.py``): a leaderboard (ZINCRBY of shared members) and a
work queue (RPUSH and LPOP/BLPOP of shared lists in every region; every pushed job must be
popped at least once, and jobs popped twice are counted); and PUBLISH delivery across regions
(``pubsub.py``).

The systems:

1. ``activekv``: three real ``activekv-server`` regions, fully peered, each link through a
   fault proxy with the delay (``server/harness/regions.py``'s Cluster).
2. ``primary``: one real ``redis-server`` in ``us-west``; the clients of ``us-east`` and
   ``eu-west`` reach it through a fault proxy with the same delay (so every remote op pays
   the round trip). One copy of the data, so no replication lag and nothing to disagree on.
3. ``lww``: a MODEL of key-level last-writer-wins active-active replication in the way
   MemoryDB/KeyDB-style multi-master replication resolves a key: three real ``redis-server``s,
   clients write locally, and for each region a replicator ships every changed key's whole
   value (DUMP + absolute expire time) with the timestamp of its latest write; after the
   injected delay, the receiving region RESTOREs it if that timestamp is newer than the one it
   holds for the key. The timestamps live in this process (the model), not in Redis. It is a
   small model written for this benchmark, not the real products.

Correctness is measured against oracles of the acknowledged operations (as in
``tests/multiregion/test_chaos.py``): counters are only ever incremented, so the final value
must equal the sum of acknowledged increments; set members are either owned by one client
(its last acknowledged SADD/SREM decides) or shared and only ever added (add-wins: they must
all be there). Clients never retry (a retried INCR could count twice).

Results: a table on stdout, ``<out>/concurrent_writes-<timestamp>.{json,png}`` and
``<out>/concurrent_writes-latest.{json,png}``.

The modules: ``workload`` (the hot keys and the client threads, each with its oracle),
``oracle`` (reading and judging the final state), ``systems`` (the System interface, activekv,
the single primary), ``lww`` (the LWW model), ``proxyhost`` (the fault proxies in their own
process), ``lag`` (the lag sampler, in its own process), ``run`` (one run of one system),
``report`` (table and chart); ``main`` below parses the options and writes the results.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from benchmarks.concurrent_writes.lww import LWWModel
from benchmarks.concurrent_writes.pubsub import render_pubsub, run_pubsub
from benchmarks.concurrent_writes.report import (
    chart,
    chart_workloads,
    render_table,
    render_workloads,
)
from benchmarks.concurrent_writes.run import run_system
from benchmarks.concurrent_writes.systems import SYSTEMS, ActiveKV, SinglePrimary, System
from benchmarks.concurrent_writes.workload import REGIONS, WORKLOADS

ROOT = Path(__file__).resolve().parents[2]


def git_commit() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.concurrent_writes",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--delay-ms", type=float, default=40.0, help="one-way inter-region delay")
    parser.add_argument("--seconds", type=float, default=20.0, help="load duration per system")
    parser.add_argument("--clients-per-region", type=int, default=4)
    parser.add_argument("--keys", type=int, default=8, help="hot keys per type (counters, sets, hashes, strings)")
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help="comma separated subset of: " + ", ".join(SYSTEMS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help="comma separated subset of: " + ", ".join(WORKLOADS))
    args = parser.parse_args(argv)
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    for w in workloads:
        if w not in WORKLOADS:
            parser.error(f"unknown workload {w!r}")
    names = [s.strip() for s in args.systems.split(",") if s.strip()]
    for n in names:
        if n not in SYSTEMS:
            parser.error(f"unknown system {n!r}")
    if shutil.which("redis-server") is None and any(n != "activekv" for n in names):
        parser.error("redis-server is not installed (make bench-conflicts installs it)")
    factories: dict[str, Callable[[], System]] = {
        "activekv": ActiveKV, "primary": SinglePrimary, "lww": LWWModel}
    stamp = _dt.datetime.now(_dt.UTC)
    params = {"delay_ms": args.delay_ms, "seconds": args.seconds,
              "clients_per_region": args.clients_per_region, "keys": args.keys, "seed": args.seed,
              "regions": list(REGIONS), "systems": names, "workloads": workloads}
    everything = []
    for workload in workloads:
        for n in names:
            system = factories[n]()
            try:
                if workload == "pubsub":
                    print(f"\n== {SYSTEMS[n]}, PUBLISH across regions", flush=True)
                    system.start(args.delay_ms)
                    everything.append({"system": n, "label": SYSTEMS[n], "workload": workload,
                                       "pubsub": run_pubsub(system)})
                else:
                    everything.append(run_system(system, args, workload))
            finally:
                system.close()
    results = [r for r in everything if r["workload"] == "mixed"]
    others = [r for r in everything if r["workload"] in ("leaderboard", "queue")]
    pubsub = [r for r in everything if r["workload"] == "pubsub"]
    table = render_table(results, args.delay_ms) if results else ""
    if table:
        print("\n" + table + "\n")
    table_others = render_workloads(others) if others else ""
    if table_others:
        print(table_others + "\n")
    table_pubsub = render_pubsub(pubsub, args.delay_ms) if pubsub else ""
    if table_pubsub:
        print(table_pubsub + "\n")
    targets = {}
    for r in results:
        c = r["correctness"]
        targets[r["system"]] = {
            "lag_p99_within_delay_plus_50ms": (r["lag_ms"]["p99"] - args.delay_ms < 50)
            if r["lag_ms"]["n"] else None,
            "zero_lost_increments": c["lost_increments"] == 0,
            "zero_lost_adds": c["lost_adds"] == 0,
            "all_regions_equal": c["disagreeing_regions"] == 0,
        }
    for r in others:
        c = r["correctness"]
        t = {"all_regions_equal": c["disagreeing_regions"] == 0}
        if r["workload"] == "leaderboard":
            t["zero_lost_increments"] = c["lost_increments"] == 0
        else:
            t["zero_lost_pushes"] = c["queue"]["lost_pushes"] == 0
        targets[f"{r['system']}/{r['workload']}"] = t
    for name, t in targets.items():
        print(f"targets {name}: " + ", ".join(f"{k}={v}" for k, v in t.items()))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    doc = {"benchmark": "concurrent_writes", "timestamp": stamp.isoformat(timespec="seconds"),
           "git_commit": git_commit(), "host": {"python": sys.version.split()[0],
                                                "platform": platform.platform(),
                                                "cpus": os.cpu_count()},
           "params": params, "results": results, "targets": targets, "table_markdown": table,
           "workload_results": others, "workloads_table_markdown": table_others,
           "pubsub_results": pubsub, "pubsub_table_markdown": table_pubsub}
    base = out / f"concurrent_writes-{stamp.strftime('%Y%m%d-%H%M%S')}"
    base.with_suffix(".json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    if results:
        chart(results, params, base.with_suffix(".png"))
    if others:
        chart_workloads(others, params, Path(str(base) + "-workloads.png"))
        shutil.copyfile(str(base) + "-workloads.png", out / "concurrent_writes-workloads-latest.png")
    shutil.copyfile(base.with_suffix(".json"), out / "concurrent_writes-latest.json")
    if results:
        shutil.copyfile(base.with_suffix(".png"), out / "concurrent_writes-latest.png")
    print(f"results: {base}.json" + (f", {base}.png" if results else "")
          + (f", {base}-workloads.png" if others else "") + " (and concurrent_writes-*latest.*)")
    return 0
