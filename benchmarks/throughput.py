"""What active-active costs against plain Redis: ``make bench-throughput``.

    python -m benchmarks.throughput [--requests 50000] [--rounds 1] [--keys 1000000] [--out DIR]
    python -m benchmarks.throughput --suite default   # redis-benchmark -q's tests: benchmarks/rbsuite.py

Runs ``redis-benchmark`` (SET, GET, INCR, INCR-HOT: INCR on one key, SADD, HSET, LPUSH, RPOP,
ZADD, ZINCRBY-HOT: ZINCRBY on 100 members of one key, LRANGE_100, XADD on one stream, PFADD,
PUBLISH-10: PUBLISH to ten subscribers, EVALSHA of a small write script; ``-c 50``; pipeline 1
and 16) against,
alternating in the same run: a real ``redis-server``, activekv alone, and activekv as one of
three peered regions (``appendfsync everysec``). The server under test is pinned to core 0 and
the client (and, for the three-region case, the two peer regions) to the other core, so the
client is not starved. For each it reports ops/s, p50/p99 latency and the server's CPU time per
operation (from ``/proc/<pid>/stat``), each also as a ratio to ``redis-server``; then memory per
key (used memory and RSS after loading 1,000,000 small string keys, 100,000 each of sets,
hashes, sorted sets and lists of 10 members, and 1,000,000 entries of one stream: per entry) as a ratio to ``redis-server``. Results: JSON and a PNG chart in
``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import redis

from benchmarks import catchup, rbsuite
from benchmarks.common import (
    CLIENT_CORE,
    SERVER_CORE,
    cpu_seconds,
    git_commit,
    pin,
    results_path,
    save_png,
)
from benchmarks.subscribers import Subscribers
from server.harness.processes import ServerProcess, free_port, start_activekv, start_redis

TESTS = ("set,get,incr,incr-hot,sadd,hset,lpush,rpop,zadd,zincrby-hot,lrange_100,xadd,pfadd,"
         "publish-10,evalsha")
# A small write script, as rate limiters and locks are: EVALSHA of it is a row.
SCRIPT = "local n = redis.call('INCRBY', KEYS[1], ARGV[1]) redis.call('EXPIRE', KEYS[1], 60) return n"
SCRIPT_SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()
# Tests that are not redis-benchmark's own: the command each one runs. INCR-HOT: one counter;
# ZINCRBY-HOT: one leaderboard of 100 members (redis-benchmark's ``__rand_int__`` with -r 100);
# XADD: one stream; PFADD: one HyperLogLog of random elements; PUBLISH-10: a channel with ten
# subscribers (``subscribers.py``); EVALSHA: ``SCRIPT`` on random keys.
CUSTOM_TESTS = {
    "incr-hot": ["INCR", "counter:hot"],
    "zincrby-hot": ["-r", "100", "ZINCRBY", "leaderboard:hot", "1", "member:__rand_int__"],
    "xadd": ["XADD", "stream:hot", "*", "field", "value"],
    "pfadd": ["-r", "1000000", "PFADD", "hll:hot", "element:__rand_int__"],
    "publish-10": ["PUBLISH", "bench:channel", "a message of 32 bytes, like this"],
    "evalsha": ["-r", "100000", "EVALSHA", SCRIPT_SHA, "1", "rate:__rand_int__", "1"],
}
MEMORY_KINDS = ("string", "set", "hash", "zset", "list", "stream")
def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@dataclass
class System:
    name: str
    procs: list[ServerProcess] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.procs[0].port

    @property
    def pid(self) -> int:
        return self.procs[0].proc.pid

    def stop(self) -> None:
        for p in self.procs:
            p.stop()


# Each system's ratios are to its counterpart: one server to redis-server alone, three
# replicating copies to redis-server with two replicas (Redis's own replication).
BASELINE = {"redis-server": "redis-server", "activekv": "redis-server",
            "redis-2-replicas": "redis-2-replicas", "activekv-3-regions": "redis-2-replicas"}


def start_system(name: str) -> System:
    """Every process of a system is pinned to the server core (a side's whole CPU is one core,
    as a replicated deployment's copies would each have theirs), the client to the other."""
    if name == "redis-server":
        system = System(name, [start_redis()])
    elif name == "redis-2-replicas":
        primary = start_redis()
        procs = [primary]
        try:
            for _ in range(2):
                procs.append(start_redis("--replicaof", "127.0.0.1", str(primary.port)))
            _wait_replicas(primary.port, 2)
        except Exception:
            for p in procs:
                p.stop()
            raise
        system = System(name, procs)
    elif name == "activekv":
        system = System(name, [start_activekv("--appendfsync", "everysec")])
    else:  # activekv with two peers
        ports = [free_port() for _ in range(3)]
        procs = []
        for i, port in enumerate(ports):
            peers = [a for j, p in enumerate(ports) if j != i for a in ("--peer", f"127.0.0.1:{p}")]
            procs.append(start_activekv("--region", f"r{i}", "--appendfsync", "everysec", *peers, port=port))
        system = System(name, procs)
        try:
            _wait_linked(ports[0], 2)
        except Exception:
            system.stop()
            raise
    for proc in system.procs:
        pin(proc.proc.pid, SERVER_CORE)
    return system


def _wait_replicas(port: int, n: int, timeout: float = 20.0) -> None:
    r = redis.Redis(port=port)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            info = r.info("replication")
            if info.get("connected_slaves") == n and all(
                    info.get(f"slave{i}", {}).get("state") == "online" for i in range(n)):
                return
            time.sleep(0.1)
    finally:
        r.close()
    raise RuntimeError("redis replicas did not come online")


def _wait_linked(port: int, peers: int, timeout: float = 20.0) -> None:
    r = redis.Redis(port=port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [row if isinstance(row, dict) else dict(zip(row[::2], row[1::2], strict=True))
                for row in r.execute_command("CRDT.PEERS")]
        if len(rows) == peers and all(row[b"state"] == b"up" for row in rows):
            return
        time.sleep(0.1)
    raise RuntimeError("peer links did not come up")


def run_redis_benchmark(port: int, pipeline: int, requests: int, tests: str = TESTS) -> dict[str, dict[str, float]]:
    """``tests`` is redis-benchmark's ``-t`` list, or one name of ``CUSTOM_TESTS``."""
    custom = CUSTOM_TESTS.get(tests)
    what = custom if custom is not None else ["-t", tests, "-r", "100000"]
    cmd = ["redis-benchmark", "-p", str(port), "-c", "50", "-P", str(pipeline), "-n", str(requests),
           "--csv", *what]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", CLIENT_CORE, *cmd]
    if tests == "evalsha":
        with redis.Redis(port=port) as r:
            assert r.script_load(SCRIPT) == SCRIPT_SHA
    if tests == "publish-10":
        with Subscribers(port, 10, b"bench:channel"):
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=True).stdout
    else:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=True).stdout
    rows: dict[str, dict[str, float]] = {}
    for row in csv.DictReader(io.StringIO(out)):
        if "needed to benchmark" in row["test"]:
            continue  # the LPUSH that fills the list for LRANGE_*
        name = tests.upper() if custom is not None else row["test"].split()[0]
        rows[name] = {k: float(v) for k, v in row.items() if k != "test"}
    return rows


def measure(system: System, pipeline: int, requests: int) -> dict[str, Any]:
    """One redis-benchmark run per test. With peers, the next test starts only once every
    region holds the same VV: replication work left over from one test must not be billed to
    the next (or slow its client, which shares a core with the peers)."""
    redis.Redis(port=system.port).flushall()
    rows: dict[str, dict[str, float]] = {}
    cpu = 0.0
    for test in TESTS.split(","):
        cpu0 = system_cpu(system)
        rows.update(run_redis_benchmark(system.port, pipeline, requests, test))
        caught_up = wait_caught_up(system)
        spent = system_cpu(system) - cpu0
        cpu += spent
        row = rows[test.upper()]
        row["server_cpu_us_per_op"] = spent * 1e6 / requests
        if caught_up is not None:
            row["peers_caught_up_s"] = caught_up
    total_ops = requests * len(rows)
    return {"tests": rows, "cpu_us_per_op": cpu * 1e6 / total_ops if total_ops else 0.0}


def system_cpu(system: System) -> float:
    """CPU seconds of all of a system's processes (the copies' work is the system's cost)."""
    return sum(cpu_seconds(p.proc.pid) for p in system.procs)


def _caught_up(system: System, clients: list[redis.Redis]) -> bool:
    if system.name.startswith("redis"):  # every replica at the primary's replication offset
        offset = clients[0].info("replication")["master_repl_offset"]
        return all(c.info("replication").get("slave_repl_offset") == offset for c in clients[1:])
    return len({str(c.info("crdt").get("vv", "")) for c in clients}) == 1


def wait_caught_up(system: System, timeout: float = 120.0) -> float | None:
    """Seconds until every copy of a replicated system holds the same writes (None: one copy):
    the same VV in every region, or every replica at the primary's offset."""
    if len(system.procs) < 2:
        return None
    clients = [redis.Redis(port=p.port) for p in system.procs]
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout:
            if _caught_up(system, clients):
                break
            time.sleep(0.05)
        return round(time.monotonic() - started, 3)
    finally:
        for c in clients:
            c.close()


MEMORY_ROUNDS = 10


def _add_key(pipe: Any, kind: str, i: int) -> None:
    if kind == "string":
        pipe.set(f"key:{i:012d}", "xxx")
    elif kind == "set":
        pipe.sadd(f"set:{i:010d}", *(f"m{j}" for j in range(10)))
    elif kind == "hash":
        pipe.hset(f"hash:{i:010d}", mapping={f"f{j}": "v" for j in range(10)})
    elif kind == "zset":
        pipe.zadd(f"zset:{i:010d}", {f"m{j}": j for j in range(10)})
    elif kind == "stream":  # entries of one stream: the figure is bytes per entry
        pipe.xadd("stream", {"field": "value"})
    else:
        pipe.rpush(f"list:{i:010d}", *(f"e{j}" for j in range(10)))


def load_memory(name: str, kind: str, count: int) -> dict[str, float]:
    """Bytes per key after loading ``count`` keys of one kind into a fresh server (a fresh
    process per kind: freed memory is not reliably given back to the OS, in either server),
    written over time: in ``MEMORY_ROUNDS`` rounds, each followed (activekv) by a whole pass of
    the packing sweep (crdt/packing.py). Reported: the bytes per key at the end, one second
    after the first round (as after one burst of writes), and the last round's own (what one
    more key costs once the heap is in its steady state: the objects a key is written with are
    freed when it is packed, and that space holds the next round's keys)."""
    system = start_system(name)
    try:
        r = redis.Redis(port=system.port)
        time.sleep(0.5)
        base_used, base_rss = int(r.info("memory")["used_memory"]), rss_bytes(system.pid)
        per_round = max(1, count // MEMORY_ROUNDS)
        first_round = before_last = base_rss
        waited = 0.0
        for rnd in range(MEMORY_ROUNDS):
            before_last = rss_bytes(system.pid)
            pipe = r.pipeline(transaction=False)
            for i in range(rnd * per_round, (rnd + 1) * per_round):
                _add_key(pipe, kind, i)
                if i % 2000 == 1999:
                    pipe.execute()
            pipe.execute()
            if rnd == 0:
                time.sleep(1.0)
                first_round = rss_bytes(system.pid)
            if name.startswith("activekv"):
                waited += _wait_packed(r)
        time.sleep(1.0)
        used, rss = int(r.info("memory")["used_memory"]), rss_bytes(system.pid)
        r.close()
    finally:
        system.stop()
    total = per_round * MEMORY_ROUNDS
    out = {f"{kind}_used_bytes_per_key": (used - base_used) / total,
           f"{kind}_rss_bytes_per_key": (rss - base_rss) / total,
           f"{kind}_rss_bytes_per_key_first_round": (first_round - base_rss) / per_round,
           f"{kind}_rss_bytes_per_key_last_round": (rss - before_last) / per_round}
    print(f"  {name}: {total} {kind} keys: {out[f'{kind}_rss_bytes_per_key']:.0f} B/key RSS "
          f"({out[f'{kind}_rss_bytes_per_key_first_round']:.0f} after the first round, "
          f"{out[f'{kind}_rss_bytes_per_key_last_round']:.0f} the last round's; packing passes "
          f"{waited:.0f} s), {out[f'{kind}_used_bytes_per_key']:.0f} B/key used_memory", flush=True)
    return out


def _wait_packed(r: redis.Redis, timeout: float = 300.0) -> float:
    """Until a whole pass of activekv's packing sweep (crdt/packing.py) has run after the load:
    the memory at rest. Seconds waited."""
    started = time.monotonic()
    first = int(r.info("crdt")["packing_passes"])
    while time.monotonic() - started < timeout:
        if int(r.info("crdt")["packing_passes"]) >= first + 2:
            break
        time.sleep(0.2)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.throughput")
    parser.add_argument("--suite", choices=("default",),
                        help="redis-benchmark's default test set instead (benchmarks/rbsuite.py)")
    parser.add_argument("--requests", type=int, help="per test at pipeline 1 (x4 at 16); "
                        "50000, with --suite 10000")
    parser.add_argument("--rounds", type=int, help="1, with --suite 2")
    parser.add_argument("--clients", type=int, default=50, help="--suite: redis-benchmark -c")
    parser.add_argument("--baseline-dir", help="--suite: also another checkout's activekv, to compare")
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--systems", default="redis-server,activekv,redis-2-replicas,activekv-3-regions")
    parser.add_argument("--skip-throughput", action="store_true", help="memory figures only")
    parser.add_argument("--skip-catchup", action="store_true")
    parser.add_argument("--memory-kinds", default=",".join(MEMORY_KINDS),
                        help="the kinds of keys of the memory figures, comma-separated")
    parser.add_argument("--catchup-keys", type=int, default=1_000_000)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    if args.suite:
        args.requests, args.rounds = args.requests or 10000, args.rounds or 2
        return rbsuite.main(args)
    args.requests, args.rounds = args.requests or 50000, args.rounds or 1
    systems = args.systems.split(",")
    results: dict[str, Any] = {
        "parameters": vars(args), "commit": git_commit(), "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "runs": {s: {} for s in systems}, "memory": {},
    }
    for rnd in range(0 if args.skip_throughput else args.rounds):
        for pipeline in (1, 16):
            for name in systems:  # alternate systems within each round
                print(f"round {rnd + 1}/{args.rounds}, pipeline {pipeline}: {name} ...", flush=True)
                system = start_system(name)
                try:
                    n = args.requests * (4 if pipeline == 16 else 1)
                    run = measure(system, pipeline, n)
                finally:
                    system.stop()
                results["runs"][name].setdefault(str(pipeline), []).append(run)
                line = ", ".join(f"{t} {v['rps']:.0f}/s" for t, v in run["tests"].items())
                print(f"  {line}; {run['cpu_us_per_op']:.1f} us CPU/op", flush=True)
    for name in [s for s in systems if s != "redis-2-replicas"]:  # the primary holds what redis-server does
        print(f"memory: {name} ...", flush=True)
        results["memory"][name] = {}
        for kind in args.memory_kinds.split(","):
            count = args.keys if kind in ("string", "stream") else args.keys // 10
            results["memory"][name].update(load_memory(name, kind, count))
    if not args.skip_catchup:
        results["catchup"] = catchup.measure(args.catchup_keys)
    summary = summarize(results, systems)
    results["summary"] = summary
    print_table(summary, systems)
    path = results_path(args.out, "throughput")
    with open(path + ".json", "w") as f:
        json.dump(results, f, indent=2)
    chart(summary, systems, path + ".png")
    for ext in (".json", ".png"):
        shutil.copyfile(path + ext, os.path.join(args.out, "throughput-latest" + ext))
    print(f"results: {path}.json, {path}.png")
    return 0


def summarize(results: dict[str, Any], systems: list[str]) -> dict[str, Any]:
    """Averages over rounds, and ratios to redis-server (the first system)."""
    def base_of(name: str) -> str:
        base = BASELINE.get(name, systems[0])
        return base if base in systems else systems[0]

    summary: dict[str, Any] = {"pipelines": {}, "memory": {}}
    for pipeline in [p for p in ("1", "16") if p in results["runs"][systems[0]]]:
        per: dict[str, Any] = {}
        for name in systems:
            runs = results["runs"][name][pipeline]
            tests = runs[0]["tests"].keys()
            per[name] = {
                "rps": {t: _mean(r["tests"][t]["rps"] for r in runs) for t in tests},
                "p50_ms": {t: _mean(r["tests"][t]["p50_latency_ms"] for r in runs) for t in tests},
                "p99_ms": {t: _mean(r["tests"][t]["p99_latency_ms"] for r in runs) for t in tests},
                "cpu_us_per_op": _mean(r["cpu_us_per_op"] for r in runs),
            }
        for name in systems:
            p, b = per[name], per[base_of(name)]
            p["baseline"] = base_of(name)
            p["rps_ratio"] = {t: p["rps"][t] / b["rps"][t] for t in p["rps"]}
            p["cpu_ratio"] = p["cpu_us_per_op"] / b["cpu_us_per_op"]
        summary["pipelines"][pipeline] = per
    for name in results["memory"]:
        mem, base = results["memory"][name], results["memory"][systems[0]]
        summary["memory"][name] = {
            k: {"bytes": v, "ratio": v / base[k] if base.get(k) else 0.0} for k, v in mem.items()
        }
    return summary


def _mean(values: Any) -> float:
    vals = list(values)
    return sum(vals) / len(vals)


def print_table(summary: dict[str, Any], systems: list[str]) -> None:
    for pipeline, per in summary["pipelines"].items():
        print(f"\npipeline {pipeline}: ops/s (ratio to the baseline: redis-server alone for one "
              f"server, with two replicas for three copies), p50/p99 ms, CPU us/op of all copies")
        for name in systems:
            p = per[name]
            cells = "  ".join(f"{t} {p['rps'][t]:>8.0f} ({p['rps_ratio'][t]:.2f}x) {p['p50_ms'][t]:.2f}/{p['p99_ms'][t]:.2f}"
                              for t in p["rps"])
            print(f"  {name:<20} {cells}  cpu {p['cpu_us_per_op']:.1f} ({p['cpu_ratio']:.2f}x)")
    print("\nmemory per key: RSS bytes (ratio)")
    for name in summary["memory"]:
        m = summary["memory"][name]
        cells = "  ".join(f"{k.replace('_bytes_per_key', '')} {v['bytes']:.0f} ({v['ratio']:.2f}x)" for k, v in m.items())
        print(f"  {name:<20} {cells}")


def chart(summary: dict[str, Any], systems: list[str], path: str) -> None:
    def draw(plt: Any) -> Any:
        fig, axes = plt.subplots(1, 3, figsize=(16, 5))
        for ax, pipeline in zip(axes[:2], ("1", "16"), strict=True):
            if pipeline not in summary["pipelines"]:
                continue
            per = summary["pipelines"][pipeline]
            tests = list(per[systems[0]]["rps"])
            width = 0.8 / len(systems)
            for k, name in enumerate(systems):
                ax.bar([i + k * width for i in range(len(tests))], [per[name]["rps"][t] for t in tests],
                       width, label=name)
            ax.set_xticks([i + width * (len(systems) - 1) / 2 for i in range(len(tests))], tests)
            ax.set_title(f"ops/s, pipeline {pipeline}, 50 clients")
            ax.legend()
        ax = axes[2]
        mem_systems = list(summary["memory"])
        kinds = [f"{kind}_rss_bytes_per_key" for kind in MEMORY_KINDS  # (those measured)
                 if mem_systems and f"{kind}_rss_bytes_per_key" in summary["memory"][mem_systems[0]]]
        width = 0.8 / max(1, len(mem_systems))
        for k, name in enumerate(mem_systems):
            ax.bar([i + k * width for i in range(len(kinds))],
                   [summary["memory"][name][kd]["bytes"] for kd in kinds], width, label=name)
        ax.set_xticks([i + width * (len(mem_systems) - 1) / 2 for i in range(len(kinds))],
                      [k if k == "string" else "stream entry" if k == "stream" else f"{k} of 10"
                       for k in (kd.split("_")[0] for kd in kinds)])
        ax.set_title("RSS bytes per key")
        ax.legend()
        fig.tight_layout()
        return fig

    save_png(draw, path)


if __name__ == "__main__":
    sys.exit(main())

