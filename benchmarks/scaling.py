"""Does a queue or a leaderboard slow down as it grows? ``make bench-scaling``.

    python -m benchmarks.scaling [--big 1000000] [--small 10] [--ops 20000] [--out DIR]

For each system (a real ``redis-server`` and one activekv region, alternating in the same run)
and each workload, the key is first filled to ``--small`` and then to ``--big`` elements, and
``--ops`` operations are sent over one connection in pipelined blocks of 100 (so the client is
not what is measured). Workloads keep the size steady:

* ``lpush+rpop`` / ``rpush+lpop``: a push then a pop (a FIFO queue, both ends);
* ``zadd``: ZADD of a new score to an existing member; ``zscore`` and ``zrank`` of a random
  existing member; ``zincrby``: ZINCRBY of a random existing member.

Each row is the server's CPU time per operation (``/proc/<pid>/stat``) and operations per
second, at both sizes, and the ratio big/small (1.0: the size costs nothing; the issue's goal
for the queue operations is within 2x). Results: JSON and a PNG chart in
``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import time
from collections.abc import Callable
from typing import Any

import hiredis
import redis

from benchmarks.common import git_commit, results_path, save_png
from benchmarks.throughput import SERVER_CORE, cpu_seconds, pin
from server.harness.processes import ServerProcess, start_activekv, start_redis

BLOCK = 100
FILL_CHUNK = 1000


def _cmd(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def _member(i: int) -> bytes:
    return b"member:%09d" % i


def fill_list(r: redis.Redis, key: str, start: int, end: int) -> None:
    """Elements ``start..end-1`` (the list grows from ``start`` to ``end`` elements)."""
    for i in range(start, end, FILL_CHUNK):
        r.rpush(key, *(b"x" * 8 for _ in range(min(FILL_CHUNK, end - i))))


def fill_zset(r: redis.Redis, key: str, start: int, end: int) -> None:
    for i in range(start, end, FILL_CHUNK):
        r.zadd(key, {_member(j): j for j in range(i, min(i + FILL_CHUNK, end))})


# workload -> (fill, make one block of commands given (rng, size), operations per block)
Workload = tuple[Callable[[redis.Redis, str, int, int], None], Callable[[random.Random, int], bytes], int]


def _pairs(push: bytes, pop: bytes) -> Callable[[random.Random, int], bytes]:
    blob = (_cmd(push, b"k", b"xxxxxxxx") + _cmd(pop, b"k")) * (BLOCK // 2)
    return lambda rng, size: blob


def _zset_block(name: bytes) -> Callable[[random.Random, int], bytes]:
    def make(rng: random.Random, size: int) -> bytes:
        out = []
        for _ in range(BLOCK):
            m = _member(rng.randrange(size))
            if name == b"ZADD":
                out.append(_cmd(b"ZADD", b"k", b"%d" % rng.randrange(10 * size), m))
            elif name == b"ZINCRBY":
                out.append(_cmd(b"ZINCRBY", b"k", b"1", m))
            else:
                out.append(_cmd(name, b"k", m))
        return b"".join(out)
    return make


WORKLOADS: dict[str, Workload] = {
    "lpush+rpop": (fill_list, _pairs(b"LPUSH", b"RPOP"), BLOCK),
    "rpush+lpop": (fill_list, _pairs(b"RPUSH", b"LPOP"), BLOCK),
    "zadd": (fill_zset, _zset_block(b"ZADD"), BLOCK),
    "zscore": (fill_zset, _zset_block(b"ZSCORE"), BLOCK),
    "zrank": (fill_zset, _zset_block(b"ZRANK"), BLOCK),
    "zincrby": (fill_zset, _zset_block(b"ZINCRBY"), BLOCK),
}


def drive(port: int, pid: int, blocks: list[bytes], per_block: int) -> tuple[float, float]:
    """Send each block, read all its replies; (server CPU us per op, ops per second)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        reader = hiredis.Reader()
        cpu0, t0 = cpu_seconds(pid), time.perf_counter()
        for blob in blocks:
            sock.sendall(blob)
            got = 0
            while got < per_block:
                data = sock.recv(1 << 20)
                if not data:
                    raise RuntimeError("server closed the connection")
                reader.feed(data)
                while (reply := reader.gets()) is not False:
                    if isinstance(reply, hiredis.ReplyError):
                        raise RuntimeError(f"server error: {reply}")
                    got += 1
        wall, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    ops = per_block * len(blocks)
    return cpu * 1e6 / ops, ops / wall


def measure(proc: ServerProcess, workload: str, sizes: list[int], ops: int) -> dict[str, Any]:
    fill, make, per_block = WORKLOADS[workload]
    r = redis.Redis(port=proc.port)
    rng = random.Random(7)
    out: dict[str, Any] = {}
    filled = 0
    r.delete("k")
    for size in sizes:  # ascending: each fill tops the key up
        fill(r, "k", filled, size)
        filled = size
        blocks = [make(rng, size) for _ in range(max(1, ops // per_block))]
        drive(proc.port, proc.proc.pid, blocks[: max(1, len(blocks) // 10)], per_block)  # warm up
        cpu_us, rps = drive(proc.port, proc.proc.pid, blocks, per_block)
        out[str(size)] = {"cpu_us_per_op": cpu_us, "ops_per_s": rps}
        print(f"    {workload} at {size:>9,}: {cpu_us:7.2f} us CPU/op, {rps:9.0f} ops/s", flush=True)
    r.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaling")
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--ops", type=int, default=20000)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--systems", default="redis-server,activekv")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    systems, workloads = args.systems.split(","), args.workloads.split(",")
    sizes = [args.small, args.big]
    results: dict[str, Any] = {"parameters": vars(args), "commit": git_commit(),
                               "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "runs": {}}
    for name in systems:
        print(f"{name} ...", flush=True)
        proc = start_redis() if name == "redis-server" else start_activekv("--appendfsync", "everysec")
        try:
            pin(proc.proc.pid, SERVER_CORE)
            results["runs"][name] = {w: measure(proc, w, sizes, args.ops) for w in workloads}
        finally:
            proc.stop()
    summary = summarize(results, systems, workloads, sizes)
    results["summary"] = summary
    print_table(summary, systems, workloads, sizes)
    path = results_path(args.out, "scaling")
    with open(path + ".json", "w") as f:
        json.dump(results, f, indent=2)
    chart(summary, systems, workloads, path + ".png")
    for ext in (".json", ".png"):
        shutil.copyfile(path + ext, os.path.join(args.out, "scaling-latest" + ext))
    print(f"results: {path}.json, {path}.png")
    return 0


def summarize(results: dict[str, Any], systems: list[str], workloads: list[str],
              sizes: list[int]) -> dict[str, Any]:
    small, big = (str(s) for s in sizes)
    summary: dict[str, Any] = {}
    for name in systems:
        for w in workloads:
            row = results["runs"][name][w]
            summary.setdefault(w, {})[name] = {
                "small_cpu_us": row[small]["cpu_us_per_op"], "big_cpu_us": row[big]["cpu_us_per_op"],
                "big_over_small_cpu": row[big]["cpu_us_per_op"] / max(row[small]["cpu_us_per_op"], 1e-9),
                "big_over_small_ops": row[small]["ops_per_s"] / max(row[big]["ops_per_s"], 1e-9),
            }
    return summary


def print_table(summary: dict[str, Any], systems: list[str], workloads: list[str], sizes: list[int]) -> None:
    print(f"\nserver CPU us/op at {sizes[0]:,} and {sizes[1]:,} elements; big/small (CPU, time per op)")
    for w in workloads:
        cells = []
        for name in systems:
            s = summary[w][name]
            cells.append(f"{name} {s['small_cpu_us']:.2f} -> {s['big_cpu_us']:.2f} us "
                         f"({s['big_over_small_cpu']:.2f}x, {s['big_over_small_ops']:.2f}x)")
        print(f"  {w:<11} " + "; ".join(cells))


def chart(summary: dict[str, Any], systems: list[str], workloads: list[str], path: str) -> None:
    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(9, 4))
        width = 0.8 / len(systems)
        for i, name in enumerate(systems):
            ax.bar([x + i * width for x in range(len(workloads))],
                   [summary[w][name]["big_over_small_cpu"] for w in workloads], width, label=name)
        ax.axhline(2.0, color="grey", linestyle="--", linewidth=1, label="goal for queues (2x)")
        ax.set_xticks([x + width * (len(systems) - 1) / 2 for x in range(len(workloads))], workloads)
        ax.set_ylabel("CPU per op, big key / small key")
        ax.set_title("Cost of key size: 1,000,000 vs 10 elements")
        ax.legend()
        fig.tight_layout()
        return fig
    save_png(draw, path)


if __name__ == "__main__":
    raise SystemExit(main())
