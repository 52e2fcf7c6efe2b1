"""How long a copy that missed N writes takes to catch up, against Redis's full sync.

    python -m benchmarks.catchup [--keys 1000000] [--out DIR]

* ``redis full sync``: a ``redis-server`` primary holding N keys (``redis-benchmark -t set -n N
  -r N -d 16``; ``repl-diskless-sync-delay 0``, so the 5 s wait for more replicas is not billed);
  a replica is started with ``--replicaof``; the time from its start until it is online at the
  primary's replication offset.
* ``activekv from the log``: two peered regions; the second is stopped, the first takes the
  same N SETs, the second is restarted on its data; the time from its restart until both hold
  the same VV (it pulls what it missed from its peer's op log).
* ``activekv by state merge``: the same, but the first region runs with ``--peer-timeout 2``
  and the second stays away longer than that, so the first stops keeping metadata for it and
  the second must catch up by a state merge (``INFO crdt`` ``state_merges`` is checked).

Every process is pinned to the server core. Besides the wall time, each figure has the CPU
seconds of both processes from the replica's (region's) start until it is caught up
(``cpu_s``: the replica's own start-up included, and the primary's fork child): on a machine
shared with other work the wall time varies by 2x from run to run, the CPU much less. Called by ``make bench-throughput`` (unless
``--skip-catchup``) and on its own; results are in the throughput JSON / ``catchup-*.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from typing import Any

import redis

from benchmarks.common import git_commit, results_path
from server.harness.processes import ServerProcess, free_port, start_activekv, start_redis

SERVER_CORE = "0"
TIMEOUT_S = 900.0


def _pin(proc: ServerProcess) -> None:
    if shutil.which("taskset"):
        subprocess.run(["taskset", "-a", "-p", "-c", SERVER_CORE, str(proc.proc.pid)],
                       capture_output=True, check=False)


def cpu_s(proc: ServerProcess) -> float:
    """CPU seconds the process (and its reaped children: a snapshot's fork) has used; 0 where
    there is no /proc."""
    try:
        with open(f"/proc/{proc.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def load(port: int, keys: int) -> None:
    subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set", "-n", str(keys), "-r", str(keys),
                    "-d", "16", "-P", "64", "-c", "10", "-q"], capture_output=True, timeout=TIMEOUT_S,
                   check=True)


def _until(check: Callable[[], bool], what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < TIMEOUT_S:
        if check():
            return time.monotonic() - started
        time.sleep(0.02)
    raise RuntimeError(f"{what}: not caught up within {TIMEOUT_S:.0f}s")


def redis_full_sync(keys: int) -> dict[str, Any]:
    # No diskless-sync delay (Redis 7 waits 5 s for more replicas before a diskless transfer)
    primary = start_redis("--repl-diskless-sync-delay", "0")
    replica: ServerProcess | None = None
    try:
        _pin(primary)
        load(primary.port, keys)
        p = redis.Redis(port=primary.port)
        dbsize, offset = p.dbsize(), p.info("replication")["master_repl_offset"]
        started, primary_cpu = time.monotonic(), cpu_s(primary)
        replica = start_redis("--replicaof", "127.0.0.1", str(primary.port))
        _pin(replica)
        r = redis.Redis(port=replica.port)

        def synced() -> bool:
            info = r.info("replication")
            return (info.get("master_link_status") == "up" and not info.get("master_sync_in_progress")
                    and info.get("slave_repl_offset", -1) >= offset)
        _until(synced, "redis replica")
        seconds = time.monotonic() - started
        cpu = cpu_s(primary) - primary_cpu + cpu_s(replica)
        assert r.dbsize() == dbsize
        r.close()
        p.close()
        return {"seconds": round(seconds, 3), "keys": dbsize, "cpu_s": round(cpu, 2)}
    finally:
        if replica is not None:
            replica.stop()
        primary.stop()


def activekv_catchup(keys: int, by_state: bool) -> dict[str, Any]:
    ports = [free_port(), free_port()]
    # By state: the first region stops keeping metadata and log for the second (peer timeout)
    # and its small log is truncated behind snapshots, so the second cannot catch up from it.
    extra = ["--peer-timeout", "2", "--repl-log-retention", "1mb", "--repl-log-segment-size", "64kb",
             "--snapshot-every", "1000", "--snapshot-min-interval", "0"] if by_state else []

    def start(i: int, workdir: str | None = None) -> ServerProcess:
        proc = start_activekv("--region", f"r{i}", "--appendfsync", "everysec",
                              "--peer", f"127.0.0.1:{ports[1 - i]}", *extra, port=ports[i], workdir=workdir)
        _pin(proc)
        return proc

    a, b = start(0), start(1)
    try:
        ra = redis.Redis(port=a.port)
        _until(lambda: all(row[b"state"] == b"up" for row in _peers(ra)), "peer link")
        workdir = b.workdir
        b.stop()
        load(a.port, keys)
        if by_state:  # past --peer-timeout, and the log no longer reaches back to b's position
            time.sleep(3.5)
            _until(lambda: int(ra.info("crdt")["oplog_first_lsn"]) > 2, "log truncation")
        vv, dbsize = ra.info("crdt")["vv"], ra.dbsize()
        started, a_cpu = time.monotonic(), cpu_s(a)
        b = start(1, workdir)
        rb = redis.Redis(port=b.port)
        _until(lambda: str(rb.info("crdt").get("vv")) == str(vv), "activekv region")
        seconds = time.monotonic() - started
        cpu = cpu_s(a) - a_cpu + cpu_s(b)
        merges = int(rb.info("crdt").get("state_merges", 0))
        assert rb.dbsize() == dbsize
        if by_state and not merges:
            raise RuntimeError("the region caught up from the log, not by a state merge")
        rb.close()
        ra.close()
        return {"seconds": round(seconds, 3), "keys": dbsize, "state_merges": merges, "cpu_s": round(cpu, 2)}
    finally:
        b.stop()
        a.stop()


def _peers(r: redis.Redis) -> list[dict[bytes, Any]]:
    return [row if isinstance(row, dict) else dict(zip(row[::2], row[1::2], strict=True))
            for row in r.execute_command("CRDT.PEERS")]


def measure(keys: int) -> dict[str, Any]:
    out: dict[str, Any] = {"keys": keys}
    print(f"catch-up of {keys:,} SETs: redis full sync ...", flush=True)
    out["redis_full_sync"] = redis_full_sync(keys)
    print(f"  {out['redis_full_sync']['seconds']:.1f} s; activekv from the log ...", flush=True)
    out["activekv_log"] = activekv_catchup(keys, by_state=False)
    print(f"  {out['activekv_log']['seconds']:.1f} s; activekv by state merge ...", flush=True)
    try:
        out["activekv_state"] = activekv_catchup(keys, by_state=True)
    except RuntimeError as exc:  # reported, not fatal: the other figures stand
        out["activekv_state"] = {"seconds": float("nan"), "error": str(exc)}
    base = out["redis_full_sync"]["seconds"]
    base_cpu = out["redis_full_sync"].get("cpu_s")
    for k in ("activekv_log", "activekv_state"):
        out[k]["ratio"] = round(out[k]["seconds"] / base, 2) if base else None
        if base_cpu and "cpu_s" in out[k]:
            out[k]["cpu_ratio"] = round(out[k]["cpu_s"] / base_cpu, 2)
    print(f"  {out['activekv_state']['seconds']:.1f} s\ncatch-up: redis full sync {base:.1f} s; activekv "
          f"from the log {out['activekv_log']['seconds']:.1f} s ({out['activekv_log']['ratio']}x), "
          f"by state merge {out['activekv_state']['seconds']:.1f} s ({out['activekv_state']['ratio']}x)\n"
          f"CPU seconds, both processes: redis {base_cpu}; from the log {out['activekv_log'].get('cpu_s')} "
          f"({out['activekv_log'].get('cpu_ratio')}x), by state merge {out['activekv_state'].get('cpu_s')} "
          f"({out['activekv_state'].get('cpu_ratio')}x)", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.catchup")
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    result = {"commit": git_commit(), "time": time.strftime("%Y-%m-%dT%H:%M:%S"), **measure(args.keys)}
    path = results_path(args.out, "catchup") + ".json"
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
