"""The replication lag sampler: marker writes in one region, polls of the others."""

from __future__ import annotations

import collections
import multiprocessing
import queue
import threading
import time
from typing import TYPE_CHECKING, Any

import redis

from benchmarks.concurrent_writes.workload import REGIONS, connect

if TYPE_CHECKING:
    from benchmarks.concurrent_writes.systems import System

LAG_TIMEOUT_S = 5.0
LAG_INTERVAL_S = 0.05



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
