"""The workloads: the hot keys, and one region's client thread with its own oracle.

Every client runs the same seeded closed loop (no think time) and records, for the oracle in
``oracle.py``, what was acknowledged. It never retries (a retried INCR could count twice).

* ``mixed``: INCR/INCRBY, HINCRBY, HSET, SADD/SREM, SET, EXPIRE on shared hot keys; the oracle
  keeps the increments per counter, each own member's last SADD/SREM, the shared members added.
* ``leaderboard``: ZINCRBY by 1-5 of shared members of a few shared sorted sets from every
  region; the oracle keeps the acknowledged increments per member (the final score must be
  their sum: integers, exact in doubles).
* ``queue``: a work queue on a few shared lists: half the steps RPUSH a unique job, the
  others pop one with LPOP or BLPOP (timeout 0.05 s), in every region; the oracle keeps what was
  pushed and what each pop returned. After the load the queues are drained, and every pushed job
  must have been popped at least once (duplicates are counted: pops are at-least-once across
  regions).
"""

from __future__ import annotations

import collections
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

if TYPE_CHECKING:
    from benchmarks.concurrent_writes.systems import System

REGIONS = ("us-west", "us-east", "eu-west")

OWN_MEMBERS = 4
SHARED_MEMBERS = 6
TTLS = (3600, 7200, 10800)  # never reached during a run: EXPIRE ships, nothing expires



def connect(port: int, timeout: float = 10.0) -> redis.Redis:
    # No automatic retries: a retried INCR whose first reply was lost would count twice.
    return redis.Redis(port=port, socket_timeout=timeout, socket_connect_timeout=5,
                       retry=Retry(NoBackoff(), 0))



WORKLOADS = ("mixed", "leaderboard", "queue", "pubsub")
PLAYERS = 20
QUEUES = 2


class KeySpace:
    def __init__(self, n: int, workload: str = "mixed") -> None:
        self.workload = workload
        mixed = workload == "mixed"
        self.counters = [f"ctr:{i}" for i in range(n)] if mixed else []
        self.sets = [f"set:{i}" for i in range(n)] if mixed else []
        self.hashes = [f"hash:{i}" for i in range(n)] if mixed else []
        self.strings = [f"str:{i}" for i in range(n)] if mixed else []
        self.zsets = [f"lb:{i}" for i in range(max(1, n // 4))] if workload == "leaderboard" else []
        self.queues = [f"queue:{i}" for i in range(QUEUES)] if workload == "queue" else []

    def all(self) -> list[str]:
        return self.counters + self.sets + self.hashes + self.strings + self.zsets + self.queues


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
        self.pushed: set[str] = set()  # queue: jobs whose RPUSH was acknowledged
        self.uncertain_pushed: set[str] = set()
        self.popped: list[str] = []  # queue: every job a pop returned
        self.jobs = 0

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
        if self.ks.workload == "leaderboard":
            self.step_leaderboard(r)
        elif self.ks.workload == "queue":
            self.step_queue(r)
        else:
            self.step_mixed(r)

    def step_leaderboard(self, r: redis.Redis) -> None:
        key = self.rng.choice(self.ks.zsets)
        member, n = f"player:{self.rng.randrange(PLAYERS)}", self.rng.randint(1, 5)
        self._incr("zincrby", key, member, n, lambda: r.zincrby(key, n, member))

    def step_queue(self, r: redis.Redis) -> None:
        key = self.rng.choice(self.ks.queues)
        roll = self.rng.random()
        if roll < 0.5:
            self.jobs += 1
            job = f"job:{self.cid}:{self.jobs}"
            try:
                self._do("rpush", key, lambda: r.rpush(key, job))
            except (redis.ConnectionError, redis.TimeoutError):
                self.uncertain_pushed.add(job)
                raise
            self.pushed.add(job)
        elif roll < 0.8:
            got: list[Any] = []
            self._do("lpop", key, lambda: got.append(r.lpop(key)))
            if got[0] is not None:
                self.popped.append(got[0].decode())
        else:
            got = []
            self._do("blpop", key, lambda: got.append(r.blpop([key], timeout=0.05)))
            if got[0] is not None:
                self.popped.append(got[0][1].decode())

    def step_mixed(self, r: redis.Redis) -> None:
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
