"""redis-benchmark's default test set, as a user first runs it: ``--suite default``.

    python -m benchmarks.throughput --suite default [--requests 10000] [--rounds 2] [--clients 50]
                                    [--baseline-dir ../main]

The tests of a bare ``redis-benchmark -q`` (PING_INLINE, PING_MBULK, SET, GET, INCR, LPUSH,
RPUSH, LPOP, RPOP, SADD, HSET, SPOP, ZADD, ZPOPMIN, LRANGE_100/300/500/600, MSET of 10 keys),
with its defaults (``-c 50``, pipeline 1, 3-byte values, no ``-r``: every test on one key),
against ``redis-server`` and activekv alone, alternating in each round. One ``redis-benchmark``
run per test, so that the server's CPU time (``/proc/<pid>/stat``) over the run is that test's
alone: the LRANGE_* tests read the ``mylist`` that redis-benchmark's own fill (``LPUSH (needed
to benchmark LRANGE)``, 3-byte elements, run once beforehand and not measured) leaves, with the
command redis-benchmark sends (``LRANGE mylist 0 <n-1>``). Server pinned to core 0, client to
core 1, as the other modes. Per test: ops/s and server CPU µs/op of each, and activekv's ratio
to redis-server; with ``--baseline-dir`` (another checkout, with its own ``.venv`` and build)
its activekv runs too, alternating, and this one's CPU per op is given as a ratio to it. JSON + PNG: ``results/rbsuite-<timestamp>.*`` and ``rbsuite-latest.*``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
import time
from typing import Any

import redis

from benchmarks.common import (
    CLIENT_CORE,
    SERVER_CORE,
    cpu_seconds,
    git_commit,
    pin,
    results_path,
    save_png,
)
from server.harness.processes import ServerProcess, free_port, start_activekv, start_redis

SYSTEMS = ("redis-server", "activekv")
# redis-benchmark's ``-t`` name of each test of the default set, in its order; "ping" gives
# PING_INLINE and PING_MBULK; an LRANGE_<n> test is run as its command on the filled list.
TESTS = ("ping", "set", "get", "incr", "lpush", "rpush", "lpop", "rpop", "sadd", "hset", "spop",
         "zadd", "zpopmin", "lrange_100", "lrange_300", "lrange_500", "lrange_600", "mset")
LRANGE_FILL = 1000  # redis-benchmark's fill is -n LPUSHes; at least 600 for LRANGE_600
TIMEOUT_S = 300


def _bench(port: int, clients: int, requests: int, what: list[str]) -> dict[str, dict[str, float]]:
    cmd = ["redis-benchmark", "-p", str(port), "-c", str(clients), "-n", str(requests), "--csv", *what]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", CLIENT_CORE, *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=True).stdout
    rows: dict[str, dict[str, float]] = {}
    for row in csv.DictReader(io.StringIO(out)):
        rows[row["test"]] = {k: float(v) for k, v in row.items() if k != "test"}
    return rows


def start(name: str, baseline_dir: str | None = None) -> ServerProcess:
    """redis-server, or activekv alone as the throughput mode runs it (``activekv-baseline``:
    the checkout ``baseline_dir``, with its own ``.venv`` and build); pinned to core 0."""
    if name == "redis-server":
        proc = start_redis()
    elif name == "activekv":
        proc = start_activekv("--appendfsync", "everysec")
    else:
        assert baseline_dir is not None
        root = os.path.abspath(baseline_dir)
        port, workdir = free_port(), tempfile.mkdtemp(prefix="activekv-baseline-")
        argv = [os.path.join(root, ".venv", "bin", "python"), "-m", "server", "--port", str(port),
                "--dir", workdir, "--region", "test", "--appendfsync", "everysec"]
        saved = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = root  # its sources, not ours
        try:
            proc = ServerProcess(argv, port, workdir)
        finally:
            if saved is None:
                del os.environ["PYTHONPATH"]
            else:
                os.environ["PYTHONPATH"] = saved
    pin(proc.proc.pid, SERVER_CORE)
    return proc


def run_test(system: ServerProcess, test: str, clients: int, requests: int) -> dict[str, dict[str, float]]:
    """One test's rows (two for "ping"), each with the server's CPU µs per op of the run."""
    what = ["-t", test]
    if test.startswith("lrange_"):
        n = int(test.split("_")[1])
        with redis.Redis(port=system.port) as r:
            filled = r.llen("mylist")
        if filled < n:
            _bench(system.port, clients, LRANGE_FILL, ["-t", "lpush"])
        what = ["LRANGE", "mylist", "0", str(n - 1)]
    cpu0 = cpu_seconds(system.proc.pid)
    rows = _bench(system.port, clients, requests, what)
    spent = cpu_seconds(system.proc.pid) - cpu0
    if test.startswith("lrange_"):
        rows = {test.upper(): row for row in rows.values()}
    else:
        rows = {name.split()[0]: row for name, row in rows.items()}
    for row in rows.values():  # "ping": the two runs share the CPU, each its half
        row["server_cpu_us_per_op"] = spent * 1e6 / (requests * len(rows))
    return rows


def measure(name: str, clients: int, requests: int, baseline_dir: str | None = None) -> dict[str, Any]:
    system = start(name, baseline_dir)
    rows: dict[str, dict[str, float]] = {}
    try:
        redis.Redis(port=system.port).flushall()
        for test in TESTS:
            got = run_test(system, test, clients, requests)
            rows.update(got)
            for t, row in got.items():
                print(f"    {name:<13} {t:<12} {row['rps']:>9.0f} ops/s "
                      f"{row['server_cpu_us_per_op']:>7.1f} us CPU/op", flush=True)
    finally:
        system.stop()
    return {"tests": rows}


def main(args: Any) -> int:
    systems = [*SYSTEMS, *(["activekv-baseline"] if args.baseline_dir else [])]
    results: dict[str, Any] = {
        "suite": "default", "parameters": vars(args), "commit": git_commit(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "runs": {s: [] for s in systems},
    }
    for rnd in range(args.rounds):
        for name in systems:  # alternate within each round
            print(f"round {rnd + 1}/{args.rounds}: {name} (redis-benchmark -c {args.clients} "
                  f"-n {args.requests} per test) ...", flush=True)
            results["runs"][name].append(measure(name, args.clients, args.requests, args.baseline_dir))
    summary = summarize(results, systems)
    results["summary"] = summary
    print_table(summary, systems)
    path = results_path(args.out, "rbsuite")
    with open(path + ".json", "w") as f:
        json.dump(results, f, indent=2)
    chart(summary, path + ".png")
    for ext in (".json", ".png"):
        shutil.copyfile(path + ext, os.path.join(args.out, "rbsuite-latest" + ext))
    print(f"results: {path}.json, {path}.png")
    return 0


def summarize(results: dict[str, Any], systems: list[str]) -> dict[str, Any]:
    """Means over rounds per system and test; activekv's ratios to redis-server."""
    per: dict[str, Any] = {}
    for name in systems:
        runs = results["runs"][name]
        tests = runs[0]["tests"].keys()
        per[name] = {t: {"rps": _mean(r["tests"][t]["rps"] for r in runs),
                         "cpu_us_per_op": _mean(r["tests"][t]["server_cpu_us_per_op"] for r in runs)}
                     for t in tests}
    def ratios(ours: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
        return {t: {"rps_ratio": ours[t]["rps"] / base[t]["rps"],
                    "cpu_ratio": ours[t]["cpu_us_per_op"] / base[t]["cpu_us_per_op"]
                    if base[t]["cpu_us_per_op"] else 0.0} for t in ours if t in base}

    out: dict[str, Any] = {"systems": per, "ratios": ratios(per["activekv"], per["redis-server"])}
    if "activekv-baseline" in per:  # this checkout against the baseline checkout
        out["ratios_to_baseline"] = ratios(per["activekv"], per["activekv-baseline"])
    return out


def _mean(values: Any) -> float:
    vals = list(values)
    return sum(vals) / len(vals)


def print_table(summary: dict[str, Any], systems: list[str]) -> None:
    base, ours = (summary["systems"][s] for s in SYSTEMS)
    print("\nredis-benchmark default suite: ops/s and server CPU us/op; activekv / redis-server")
    print(f"  {'test':<12} {'redis ops/s':>11} {'us/op':>6} {'activekv ops/s':>14} {'us/op':>6}"
          f" {'ops/s ratio':>11} {'CPU ratio':>9}")
    for t, r in summary["ratios"].items():
        print(f"  {t:<12} {base[t]['rps']:>11.0f} {base[t]['cpu_us_per_op']:>6.1f} "
              f"{ours[t]['rps']:>14.0f} {ours[t]['cpu_us_per_op']:>6.1f} "
              f"{r['rps_ratio']:>10.2f}x {r['cpu_ratio']:>8.2f}x")
    if "ratios_to_baseline" in summary:
        old = summary["systems"]["activekv-baseline"]
        print("\nthis checkout against --baseline-dir's: server CPU us/op (ratio), ops/s")
        for t, r in summary["ratios_to_baseline"].items():
            print(f"  {t:<12} {old[t]['cpu_us_per_op']:>6.1f} -> {ours[t]['cpu_us_per_op']:>6.1f} "
                  f"({r['cpu_ratio']:.2f}x)  {old[t]['rps']:>8.0f} -> {ours[t]['rps']:>8.0f}")


def chart(summary: dict[str, Any], path: str) -> None:
    def draw(plt: Any) -> Any:
        fig, axes = plt.subplots(2, 1, figsize=(14, 8))
        tests = list(summary["ratios"])
        systems = list(summary["systems"])
        width = 0.8 / len(systems)
        for ax, key, title in ((axes[0], "rps", "ops/s"), (axes[1], "cpu_us_per_op", "server CPU µs/op")):
            for k, name in enumerate(systems):
                ax.bar([i + k * width for i in range(len(tests))],
                       [summary["systems"][name][t][key] for t in tests], width, label=name)
            ax.set_xticks([i + width * (len(systems) - 1) / 2 for i in range(len(tests))], tests,
                          rotation=30, fontsize=8)
            ax.set_title(f"redis-benchmark default suite: {title}")
            ax.legend()
        fig.tight_layout()
        return fig

    save_png(draw, path)
