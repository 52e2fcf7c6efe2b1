"""Concurrent writes to the same hot keys from three regions, on three systems side by side.

    python -m benchmarks.concurrent_writes [--delay-ms 40] [--seconds 20] [--clients-per-region 4]
                                           [--keys 8] [--out benchmarks/results]
                                           [--systems activekv,primary,lww] [--seed 1]

Three regions on loopback (``us-west``, ``us-east``, ``eu-west``) with a fault proxy adding
``--delay-ms`` one way on every inter-region hop. In every region ``--clients-per-region``
client threads run the same seeded closed-loop workload (no think time) against a small shared
set of hot keys — INCR/INCRBY, HINCRBY, HSET, SADD/SREM, SET, EXPIRE — for ``--seconds``, then
stop; the benchmark waits for quiescence and checks the final state of every region.

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
"""

from __future__ import annotations

import argparse
import collections
import datetime as _dt
import hashlib
import json
import logging
import multiprocessing
import os
import platform
import queue
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from server.harness.faultproxy import FaultProxy
from server.harness.processes import ServerProcess, start_redis
from server.harness.regions import Cluster

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ("us-west", "us-east", "eu-west")
SYSTEMS = {
    "activekv": "activekv active-active",
    "primary": "single primary (redis)",
    "lww": "key-level LWW (model, 3x redis)",
}
LAG_TIMEOUT_S = 5.0
LAG_INTERVAL_S = 0.05
CONVERGE_TIMEOUT_S = 60.0
OWN_MEMBERS = 4
SHARED_MEMBERS = 6
TTLS = (3600, 7200, 10800)  # never reached during a run: EXPIRE ships, nothing expires


def connect(port: int, timeout: float = 10.0) -> redis.Redis:
    # No automatic retries: a retried INCR whose first reply was lost would count twice.
    return redis.Redis(port=port, socket_timeout=timeout, socket_connect_timeout=5,
                       retry=Retry(NoBackoff(), 0))


# -- the key space and the oracle -----------------------------------------------------------
class KeySpace:
    def __init__(self, n: int) -> None:
        self.counters = [f"ctr:{i}" for i in range(n)]
        self.sets = [f"set:{i}" for i in range(n)]
        self.hashes = [f"hash:{i}" for i in range(n)]
        self.strings = [f"str:{i}" for i in range(n)]

    def all(self) -> list[str]:
        return self.counters + self.sets + self.hashes + self.strings


class Worker(threading.Thread):
    """One client of one region: a seeded closed loop of writes, with its own oracle."""

    def __init__(self, system: System, region: int, cid: int, ks: KeySpace, seed: int,
                 stop: threading.Event) -> None:
        super().__init__(daemon=True, name=f"worker-{cid}")
        self.system = system
        self.region = region
        self.cid = cid
        self.ks = ks
        self.stop_event = stop
        self.rng = random.Random(seed * 1000 + cid)
        self.ops = 0
        self.errors = 0
        self.latencies: list[float] = []  # seconds, every acknowledged op
        self.by_kind: dict[str, list[float]] = collections.defaultdict(list)
        # oracle
        self.acked_incr: dict[tuple[str, str | None], int] = collections.defaultdict(int)
        self.uncertain_incr: dict[tuple[str, str | None], int] = collections.defaultdict(int)
        self.own_last: dict[tuple[str, str], str] = {}
        self.own_uncertain: set[tuple[str, str]] = set()
        self.shared_added: set[tuple[str, str]] = set()

    def connect(self) -> None:
        """Before the clock starts: the connection handshake costs remote clients round trips."""
        self.conn = self.system.client(self.region)
        self.conn.ping()

    def run(self) -> None:
        r = self.conn
        deadline = time.monotonic() + 3600
        while not self.stop_event.is_set() and time.monotonic() < deadline:
            try:
                self.step(r)
                self.ops += 1
            except (redis.ConnectionError, redis.TimeoutError):
                self.errors += 1
                r.close()
                self.stop_event.wait(0.05)
                r = self.system.client(self.region)
            except redis.ResponseError:
                self.errors += 1
        r.close()

    def _do(self, kind: str, key: str, fn: Callable[[], Any]) -> None:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        self.latencies.append(dt)
        self.by_kind[kind].append(dt)
        self.system.on_ack(self.region, key)

    def step(self, r: redis.Redis) -> None:
        rng, ks = self.rng, self.ks
        roll = rng.random()
        if roll < 0.20:
            key, n = rng.choice(ks.counters), rng.choice((1, 1, 2, 3, 5))
            self._incr("incr", key, None, n, lambda: r.incr(key) if n == 1 else r.incrby(key, n))
        elif roll < 0.30:
            key, n = rng.choice(ks.hashes), rng.randint(1, 3)
            self._incr("hincrby", key, "n", n, lambda: r.hincrby(key, "n", n))
        elif roll < 0.45:
            key = rng.choice(ks.sets)
            member = f"own:{self.cid}:{rng.randrange(OWN_MEMBERS)}"
            op = "add" if rng.random() < 0.6 else "rem"
            fn = (lambda: r.sadd(key, member)) if op == "add" else (lambda: r.srem(key, member))
            try:
                self._do("sadd/srem", key, fn)
            except (redis.ConnectionError, redis.TimeoutError):
                self.own_uncertain.add((key, member))
                raise
            self.own_last[(key, member)] = op
            self.own_uncertain.discard((key, member))
        elif roll < 0.55:
            key, member = rng.choice(ks.sets), f"shared:{rng.randrange(SHARED_MEMBERS)}"
            self._do("sadd/srem", key, lambda: r.sadd(key, member))
            self.shared_added.add((key, member))
        elif roll < 0.65:
            key = rng.choice(ks.hashes)
            field, hval = f"f{rng.randrange(4)}", rng.randrange(1000)
            self._do("hset", key, lambda: r.hset(key, field, hval))
        elif roll < 0.85:
            key, value = rng.choice(ks.strings), f"{self.cid}-{rng.random():.6f}"
            self._do("set", key, lambda: r.set(key, value))
        else:
            key = rng.choice(ks.strings + ks.hashes)
            ttl = rng.choice(TTLS)
            self._do("expire", key, lambda: r.expire(key, ttl))

    def _incr(self, kind: str, key: str, field: str | None, n: int, fn: Callable[[], Any]) -> None:
        try:
            self._do(kind, key, fn)
        except (redis.ConnectionError, redis.TimeoutError):
            self.uncertain_incr[(key, field)] += n
            raise
        self.acked_incr[(key, field)] += n


# -- reading and judging the final state ----------------------------------------------------
def read_state(r: redis.Redis, ks: KeySpace) -> dict[str, Any]:
    """The visible state of the workload's keys, canonical (sorted), with absolute expiry."""
    p = r.pipeline(transaction=False)
    for k in ks.counters + ks.strings:
        p.get(k)
    for k in ks.sets:
        p.smembers(k)
    for k in ks.hashes:
        p.hgetall(k)
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
    for k in ks.all():
        state[k] = (state[k], out[i])
        i += 1
    return state


def state_digest(state: dict[str, Any]) -> str:
    return hashlib.sha1(repr(sorted(state.items())).encode()).hexdigest()[:12]


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


# -- fault proxies in their own process ----------------------------------------------------
def _proxy_host(conn: Any) -> None:
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # no noise from tasks cut at close
    proxies: list[FaultProxy] = []
    try:
        while True:
            if not conn.poll(3600):
                return
            cmd, arg = conn.recv()
            if cmd == "add":
                proxies.append(FaultProxy(arg))
                conn.send(proxies[-1].port)
            elif cmd == "delay":
                for proxy in proxies:
                    proxy.set_delay(arg)
                conn.send(None)
            else:
                return
    except (EOFError, OSError):
        return
    finally:
        for proxy in proxies:
            proxy.close()


class ProxyHost:
    """``server.harness.faultproxy.FaultProxy``s run in a child process, so that forwarding the delayed
    traffic never waits for this process's GIL (busy with a dozen client threads)."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_proxy_host, args=(child,), daemon=True)
        self.proc.start()
        child.close()

    def _ask(self, cmd: str, arg: Any) -> Any:
        self.conn.send((cmd, arg))
        if not self.conn.poll(30):
            raise RuntimeError("proxy host did not answer")
        return self.conn.recv()

    def add(self, target_port: int) -> int:
        return int(self._ask("add", target_port))

    def set_delay(self, ms: float) -> None:
        self._ask("delay", ms)

    def close(self) -> None:
        try:
            self.conn.send(("close", None))
        except OSError:
            pass
        self.proc.join(15)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)


class ProxiedCluster(Cluster):
    """server/harness/regions.py's Cluster with every inter-region link through a proxy of a ProxyHost."""

    def __init__(self, host: ProxyHost) -> None:
        self.host = host
        self.link_ports: dict[tuple[int, int], int] = {}
        super().__init__(3, appendfsync="everysec", proxies=False)

    def peer_args(self, i: int) -> list[str]:
        out = []
        for j in range(self.n):
            if j != i:
                if (i, j) not in self.link_ports:
                    self.link_ports[(i, j)] = self.host.add(self.ports[j])
                out += ["--peer", f"127.0.0.1:{self.link_ports[(i, j)]}"]
        return out


# -- the systems ----------------------------------------------------------------------------
class System:
    name = ""
    lag_measured = True

    def start(self, delay_ms: float) -> None:
        raise NotImplementedError

    def client(self, region: int) -> redis.Redis:
        """The connection a client of ``region`` uses to write."""
        raise NotImplementedError

    def reader(self, region: int) -> redis.Redis:
        """A direct connection to the copy of the data in ``region`` (for observation)."""
        raise NotImplementedError

    def copies(self) -> list[int]:
        """The regions holding a copy of the data."""
        return [0, 1, 2]

    def ports(self) -> list[int]:
        """Each region's own copy (the lag sampler writes and polls them directly)."""
        raise NotImplementedError

    def on_ack(self, region: int, key: str) -> None:
        pass

    def quiescent(self) -> bool:
        return True

    def info(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        raise NotImplementedError


class ActiveKV(System):
    name = "activekv"

    def start(self, delay_ms: float) -> None:
        self.host = ProxyHost()
        self.cluster = ProxiedCluster(self.host)
        self.cluster.wait_linked(30)
        self.host.set_delay(delay_ms)

    def client(self, region: int) -> redis.Redis:
        return connect(self.cluster.ports[region])

    def reader(self, region: int) -> redis.Redis:
        return connect(self.cluster.ports[region])

    def ports(self) -> list[int]:
        return list(self.cluster.ports)

    def quiescent(self) -> bool:
        vvs = self.cluster.vvs()
        digests = self.cluster.digests()
        return len(set(vvs)) == 1 and len(set(digests)) == 1

    def info(self) -> dict[str, Any]:
        out: dict[str, Any] = {"crdt_digests": [d.decode() if isinstance(d, bytes) else str(d)
                                                for d in self.cluster.digests()]}
        conflicts = []
        for i in range(3):
            info = self.cluster.client(i).info("crdt")
            conflicts.append({k: v for k, v in info.items() if "conflict" in k})
        out["conflict_counters"] = conflicts
        return out

    def close(self) -> None:
        cluster = getattr(self, "cluster", None)
        if cluster is not None:
            cluster.close()
            for d in cluster.dirs:
                shutil.rmtree(d, ignore_errors=True)
        host = getattr(self, "host", None)
        if host is not None:
            host.close()


class _Redises(System):
    servers: list[ServerProcess]

    def close(self) -> None:
        host = getattr(self, "host", None)
        if host is not None:
            host.close()
        for server in getattr(self, "servers", []):
            try:
                server.stop()
            finally:
                shutil.rmtree(server.workdir, ignore_errors=True)


class SinglePrimary(_Redises):
    name = "primary"
    lag_measured = False

    def start(self, delay_ms: float) -> None:
        self.servers = [start_redis()]
        self.host = ProxyHost()
        # the remote regions' clients reach the primary through a delayed link each
        self.proxy_ports = [self.host.add(self.servers[0].port) for _ in range(2)]
        self.host.set_delay(delay_ms)

    def client(self, region: int) -> redis.Redis:
        return connect(self.servers[0].port if region == 0 else self.proxy_ports[region - 1])

    def reader(self, region: int) -> redis.Redis:
        return connect(self.servers[0].port)

    def copies(self) -> list[int]:
        return [0]


class LWWModel(_Redises):
    """MODEL of key-level last-writer-wins replication between three redis-servers.

    After every acknowledged write, the writing region records ``(key, timestamp)`` where the
    timestamp is ``(wall-clock ns, region)``, never behind the one it holds for the key (an
    HLC, as real systems use). A shipper thread per region takes the changed keys, reads each
    whole value (``DUMP`` + ``PEXPIRETIME``, in MULTI) and sends it to the other regions; a
    link thread per (source, destination) delivers after the injected delay and ``RESTORE``s
    (REPLACE, ABSTTL) the keys whose timestamp is newer than the destination's, under the
    destination's lock. Concurrent writes to one key: the newer whole value wins; the other
    region's increments, adds and removes in it are silently lost.
    """

    name = "lww"

    def start(self, delay_ms: float) -> None:
        self.delay_s = delay_ms / 1000.0
        self.servers = []
        for _ in range(3):
            self.servers.append(start_redis())
        self.ts: list[dict[str, tuple[int, int]]] = [{} for _ in range(3)]
        self.dirty: list[dict[str, None]] = [{} for _ in range(3)]
        self.locks = [threading.Lock() for _ in range(3)]
        self.pending = 0
        self.pending_lock = threading.Lock()
        self.stats = {"batches": 0, "keys_shipped": 0, "applied": 0, "rejected_older": 0}
        self.stop = threading.Event()
        self.links: dict[tuple[int, int], queue.Queue[Any]] = {
            (s, d): queue.Queue() for s in range(3) for d in range(3) if s != d}
        self.threads = [threading.Thread(target=self._ship, args=(s,), daemon=True)
                        for s in range(3)]
        self.threads += [threading.Thread(target=self._deliver, args=link, daemon=True)
                         for link in self.links]
        for t in self.threads:
            t.start()

    def client(self, region: int) -> redis.Redis:
        return connect(self.servers[region].port)

    def reader(self, region: int) -> redis.Redis:
        return connect(self.servers[region].port)

    def ports(self) -> list[int]:
        return [srv.port for srv in self.servers]

    def on_ack(self, region: int, key: str) -> None:
        with self.locks[region]:
            held = self.ts[region].get(key, (0, -1))
            self.ts[region][key] = (max(time.time_ns(), held[0] + 1), region)
            self.dirty[region][key] = None

    def _ship(self, src: int) -> None:
        r = connect(self.servers[src].port)
        try:
            while not self.stop.is_set():
                with self.locks[src]:
                    keys, self.dirty[src] = list(self.dirty[src]), {}
                    stamps = [self.ts[src][k] for k in keys]
                    if keys:
                        with self.pending_lock:
                            self.pending += 2
                if not keys:
                    time.sleep(0.001)
                    continue
                # the timestamp is taken before the value: a newer value under an older stamp
                # is re-shipped under the newer stamp by the write that made it.
                p = r.pipeline(transaction=True)
                for k in keys:
                    p.dump(k)
                    p.execute_command("PEXPIRETIME", k)
                out = p.execute()
                batch = [(k, ts, out[2 * i], out[2 * i + 1]) for i, (k, ts) in
                         enumerate(zip(keys, stamps, strict=True))]
                due = time.monotonic() + self.delay_s
                self.stats["batches"] += 1
                self.stats["keys_shipped"] += len(batch)
                for dst in range(3):
                    if dst != src:
                        self.links[(src, dst)].put((due, batch))
        finally:
            r.close()

    def _deliver(self, src: int, dst: int) -> None:
        r = connect(self.servers[dst].port)
        q = self.links[(src, dst)]
        try:
            while not self.stop.is_set():
                try:
                    due, batch = q.get(timeout=0.1)
                except queue.Empty:
                    continue
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                with self.locks[dst]:
                    p = r.pipeline(transaction=True)
                    applied = 0
                    for key, ts, payload, pexp in batch:
                        if ts <= self.ts[dst].get(key, (0, -1)):
                            self.stats["rejected_older"] += 1
                            continue
                        self.ts[dst][key] = ts
                        applied += 1
                        if payload is None:
                            p.delete(key)
                        elif pexp is not None and pexp > 0:
                            p.restore(key, pexp, payload, replace=True, absttl=True)
                        else:
                            p.restore(key, 0, payload, replace=True)
                    if applied:
                        p.execute()
                    self.stats["applied"] += applied
                with self.pending_lock:
                    self.pending -= 1
        finally:
            r.close()

    def quiescent(self) -> bool:
        with self.pending_lock:
            if self.pending:
                return False
        return not any(self.dirty)

    def info(self) -> dict[str, Any]:
        return dict(self.stats)

    def close(self) -> None:
        stop = getattr(self, "stop", None)
        if stop is not None:
            stop.set()
            for t in self.threads:
                t.join(5)
        super().close()


# -- lag sampler ----------------------------------------------------------------------------
def _sample_lag(ports: list[int], tag: str, stop: Any, acks: Any, results: Any) -> None:
    """In its own process, so that the client threads' GIL does not delay its polls: writes a
    unique marker in one region (rotating), then polls the two others until it is visible
    there. The lag is from the write's acknowledgement to its visibility. Each marker write is
    reported on ``acks`` (the LWW model ships keys on acknowledgement)."""
    writers = [connect(p) for p in ports]
    readers = [connect(p) for p in ports]
    samples: list[tuple[float, int, int, float]] = []  # (s since start, from, to, lag s)
    timeouts = 0
    t_start = time.perf_counter()
    try:
        n = 0
        deadline = time.monotonic() + 3600
        while not stop.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            origin = n % 3
            key = f"lag:{tag}:{n}"
            n += 1
            writers[origin].set(key, str(time.time()))
            acked = time.perf_counter()
            acks.put((origin, key))
            pending = {j for j in range(3) if j != origin}
            while pending:
                for j in list(pending):
                    if readers[j].exists(key):
                        samples.append((round(acked - t_start, 3), origin, j, time.perf_counter() - acked))
                        pending.discard(j)
                if time.perf_counter() - acked > LAG_TIMEOUT_S:
                    timeouts += len(pending)
                    break
                time.sleep(0.001)
            stop.wait(max(0.0, LAG_INTERVAL_S - (time.monotonic() - started)))
    except redis.RedisError:
        timeouts += 1
    finally:
        for c in writers + readers:
            c.close()
        results.put((samples, timeouts))


class LagSampler:
    """Runs ``_sample_lag`` in a child process; forwards its acknowledgements to the system."""

    def __init__(self, system: System, tag: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.system = system
        self.stop_event = ctx.Event()
        self.acks: Any = ctx.Queue()
        self.results: Any = ctx.Queue()
        self.proc = ctx.Process(target=_sample_lag, daemon=True,
                                args=(system.ports(), tag, self.stop_event, self.acks, self.results))
        self.forwarder = threading.Thread(target=self._forward, daemon=True)
        self.samples: list[float] = []
        self.raw: list[tuple[float, str, str, float]] = []  # (s since start, from, to, lag ms)
        self.per_link: dict[str, list[float]] = collections.defaultdict(list)
        self.timeouts = 0
        self.count = 0  # markers written so far (progress lines)

    def start(self) -> None:
        self.proc.start()
        self.forwarder.start()

    def _forward(self) -> None:
        while True:
            item = self.acks.get()
            if item is None:
                return
            self.count += 1
            self.system.on_ack(*item)

    def join(self, timeout: float) -> None:
        self.stop_event.set()
        try:
            samples, self.timeouts = self.results.get(timeout=timeout)
        except queue.Empty:
            samples, self.timeouts = [], 1
        self.proc.join(timeout)
        if self.proc.is_alive():
            self.proc.kill()
        self.acks.put(None)
        self.forwarder.join(timeout)
        for at, origin, to, lag in samples:
            self.samples.append(lag)
            self.per_link[f"{REGIONS[origin]}->{REGIONS[to]}"].append(lag)
            self.raw.append((at, REGIONS[origin], REGIONS[to], round(lag * 1000, 2)))


# -- one run of one system ------------------------------------------------------------------
def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))]


def ms(v: float | None) -> float | None:
    return None if v is None else round(v * 1000.0, 2)


def run_system(system: System, args: argparse.Namespace) -> dict[str, Any]:
    ks = KeySpace(args.keys)
    stop = threading.Event()
    label = SYSTEMS[system.name]
    print(f"\n== {label}: starting", flush=True)
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
    verdict = judge(states, workers, ks)
    lat = {REGIONS[i]: [x for w in workers if w.region == i for x in w.latencies] for i in range(3)}
    kinds: dict[str, list[float]] = collections.defaultdict(list)
    for w in workers:
        for kind, values in w.by_kind.items():
            kinds[kind].extend(values)
    ops = {REGIONS[i]: sum(w.ops for w in workers if w.region == i) for i in range(3)}
    result: dict[str, Any] = {
        "system": system.name,
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


# -- report ---------------------------------------------------------------------------------
def fmt(v: Any, digits: int = 1) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def table_rows(results: list[dict[str, Any]], delay_ms: float) -> list[tuple[str, list[str]]]:
    rows: list[tuple[str, list[str]]] = []
    for region in REGIONS:
        rows.append((f"write latency p50 / p99, {region} (ms)",
                     [f"{fmt(r['latency_ms'][region]['p50'])} / {fmt(r['latency_ms'][region]['p99'])}"
                      for r in results]))
    rows.append(("throughput, all regions (ops/s)", [fmt(r["throughput_ops_s"], 0) for r in results]))
    rows.append(("throughput per region (ops/s)",
                 [" / ".join(fmt(v, 0) for v in r["throughput_per_region_ops_s"].values())
                  for r in results]))
    rows.append(("replication lag p50 / p99 (ms)",
                 [f"{fmt(r['lag_ms']['p50'])} / {fmt(r['lag_ms']['p99'])}"
                  + ("" if r["lag_ms"]["n"] else " (one copy)") for r in results]))
    rows.append((f"lag p99 above the {delay_ms:g} ms delay (target < 50)",
                 [fmt(r["lag_ms"]["p99"] - delay_ms) if r["lag_ms"]["n"] else "—" for r in results]))
    rows.append(("lag samples (timeouts)",
                 [f"{r['lag_ms']['n']} ({r['lag_ms']['timeouts']})" for r in results]))
    rows.append(("converged after the load stopped (ms)", [fmt(r["converge_ms"]) for r in results]))
    rows.append(("acknowledged increments", [str(r["correctness"]["acked_increments"]) for r in results]))
    rows.append(("lost increments (target 0)",
                 [f"{r['correctness']['lost_increments']} ({r['correctness']['lost_increments_pct']:.2f}%)"
                  for r in results]))
    rows.append(("lost set adds (target 0)",
                 [f"{r['correctness']['lost_adds']} of {r['correctness']['expected_members']}"
                  for r in results]))
    rows.append(("removed members back", [str(r["correctness"]["undone_removes"]) for r in results]))
    rows.append(("regions that disagree (target 0)",
                 [f"{r['correctness']['disagreeing_regions']} of {r['correctness']['copies']}"
                  + (f" ({r['correctness']['differing_keys']} keys)"
                     if r["correctness"]["differing_keys"] else "") for r in results]))
    rows.append(("client errors", [str(r["errors"]) for r in results]))
    return rows


def render_table(results: list[dict[str, Any]], delay_ms: float) -> str:
    rows = table_rows(results, delay_ms)
    header = ["", *[r["label"] for r in results]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, cells in rows:
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return "\n".join(lines)


def chart(results: list[dict[str, Any]], params: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    delay = params["delay_ms"]
    labels = [r["label"] for r in results]
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c"][: len(results)]
    fig, axes = plt.subplots(2, 2, figsize=(14, 9.5))
    fig.suptitle(f"Concurrent writes, 3 regions, {delay:g} ms one-way delay, "
                 f"{params['clients_per_region']} clients/region, {params['keys']} hot keys/type, "
                 f"{params['seconds']:g} s", fontsize=13)

    ax = axes[0][0]
    width = 0.8 / max(1, len(results))
    for si, r in enumerate(results):
        xs = [ri + (si - (len(results) - 1) / 2) * width for ri in range(3)]
        p50 = [r["latency_ms"][g]["p50"] or 0 for g in REGIONS]
        p99 = [r["latency_ms"][g]["p99"] or 0 for g in REGIONS]
        ax.bar(xs, p99, width * 0.9, color=colors[si], alpha=0.35)
        ax.bar(xs, p50, width * 0.9, color=colors[si], label=labels[si])
        for x, a, b in zip(xs, p50, p99, strict=True):
            ax.text(x, b * 1.05, f"{a:.1f}\n{b:.1f}", ha="center", va="bottom", fontsize=7)
    ax.set_yscale("log")
    ax.set_xticks(range(3), REGIONS)
    ax.set_ylabel("ms (log)")
    ax.set_title("write latency per region: p50 (solid) / p99 (light), labels p50 over p99")
    ax.set_ylim(top=ax.get_ylim()[1] * 4)

    ax = axes[0][1]
    bottoms = [0.0] * len(results)
    shades = ["#4c72b0", "#8fb0d9", "#c6d7ec"]
    for gi, g in enumerate(REGIONS):
        vals = [r["throughput_per_region_ops_s"][g] for r in results]
        ax.bar(range(len(results)), vals, 0.6, bottom=bottoms, color=shades[gi], label=g)
        bottoms = [b + v for b, v in zip(bottoms, vals, strict=True)]
    for i, b in enumerate(bottoms):
        ax.text(i, b, f"{b:.0f}", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(range(len(results)), labels, fontsize=9)
    ax.set_ylabel("acknowledged ops/s")
    ax.set_title("throughput (stacked by region)")
    ax.legend(fontsize=8)

    ax = axes[1][0]
    names = ["lag p50", "lag p99", "converge after stop"]
    width = 0.8 / max(1, len(results))
    for si, r in enumerate(results):
        vals = [r["lag_ms"]["p50"] or 0, r["lag_ms"]["p99"] or 0, r["converge_ms"] or 0]
        xs = [ni + (si - (len(results) - 1) / 2) * width for ni in range(len(names))]
        ax.bar(xs, vals, width * 0.9, color=colors[si], label=labels[si])
        for x, v in zip(xs, vals, strict=True):
            ax.text(x, v, f"{v:.0f}", ha="center", va="bottom", fontsize=7)
    ax.axhline(delay, color="grey", ls="--", lw=1)
    ax.axhline(delay + 50, color="red", ls=":", lw=1)
    ax.text(len(names) - 0.5, delay, f"injected delay {delay:g} ms", ha="right", va="bottom", fontsize=7)
    ax.text(len(names) - 0.5, delay + 50, "target: lag p99 < delay + 50 ms", ha="right",
            va="bottom", fontsize=7, color="red")
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("ms")
    ax.set_title("replication lag (ack → visible elsewhere) and convergence\n"
                 "(single primary: one copy, lag 0 by construction)", fontsize=10)

    ax = axes[1][1]
    names = ["lost increments %", "lost set adds %", "regions disagreeing"]
    for si, r in enumerate(results):
        c = r["correctness"]
        vals = [c["lost_increments_pct"], c["lost_adds_pct"], float(c["disagreeing_regions"])]
        raw = [f"{c['lost_increments']}", f"{c['lost_adds']}", f"{c['disagreeing_regions']}"]
        xs = [ni + (si - (len(results) - 1) / 2) * width for ni in range(len(names))]
        ax.bar(xs, vals, width * 0.9, color=colors[si], label=labels[si])
        for x, v, t in zip(xs, vals, raw, strict=True):
            ax.text(x, v, f"{v:.1f}\n({t})" if t != "0" else "0", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(names)), names)
    ax.set_title("correctness vs acknowledged-op oracles (0 is right; raw counts in brackets)",
                 fontsize=10)
    ax.set_ylim(top=max(1.0, ax.get_ylim()[1] * 1.25))

    from matplotlib.patches import Patch

    fig.legend(handles=[Patch(color=c, label=lab) for c, lab in zip(colors, labels, strict=True)],
               loc="upper center", ncol=len(results), bbox_to_anchor=(0.5, 0.955), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    fig.savefig(path, dpi=110)
    plt.close(fig)


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
    args = parser.parse_args(argv)
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
              "regions": list(REGIONS), "systems": names}
    results = []
    for n in names:
        system = factories[n]()
        try:
            results.append(run_system(system, args))
        finally:
            system.close()
    table = render_table(results, args.delay_ms)
    print("\n" + table + "\n")
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
    for name, t in targets.items():
        print(f"targets {name}: " + ", ".join(f"{k}={v}" for k, v in t.items()))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    doc = {"benchmark": "concurrent_writes", "timestamp": stamp.isoformat(timespec="seconds"),
           "git_commit": git_commit(), "host": {"python": sys.version.split()[0],
                                                "platform": platform.platform(),
                                                "cpus": os.cpu_count()},
           "params": params, "results": results, "targets": targets, "table_markdown": table}
    base = out / f"concurrent_writes-{stamp.strftime('%Y%m%d-%H%M%S')}"
    base.with_suffix(".json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    chart(results, params, base.with_suffix(".png"))
    shutil.copyfile(base.with_suffix(".json"), out / "concurrent_writes-latest.json")
    shutil.copyfile(base.with_suffix(".png"), out / "concurrent_writes-latest.png")
    print(f"results: {base}.json, {base}.png (and concurrent_writes-latest.*)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
