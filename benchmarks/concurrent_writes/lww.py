"""A MODEL of key-level last-writer-wins replication between three redis-servers."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import redis

from benchmarks.concurrent_writes.systems import _Redises
from benchmarks.concurrent_writes.workload import connect
from server.harness.processes import start_redis


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
