"""Cross-region PUBLISH delivery: the ``pubsub`` workload of ``make bench-conflicts``.

A subscriber in every region (a client of that region, as an application's would be) and a
publisher in every region; the publishers take turns (``MESSAGES`` in all, every
``INTERVAL_S``), each message carrying its origin and its send time. Reported per system: the
delivery latency p50/p99 from the PUBLISH to a subscriber in *another* region (it includes the
injected one-way delay), and which fraction of the messages reached each other region.

* activekv: a PUBLISH reaches local subscribers and is forwarded over the peer links.
* single primary: every client talks to the one server; a remote region's subscriber gets the
  message over its proxied connection (one delay), a remote publisher's PUBLISH pays one more.
* key-level LWW model: three independent redis-servers; nothing forwards messages, so none
  crosses a region.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from benchmarks.concurrent_writes.workload import REGIONS

if TYPE_CHECKING:
    from benchmarks.concurrent_writes.systems import System

CHANNEL = "bench:news"
MESSAGES = 300
INTERVAL_S = 0.01
SETTLE_S = 2.0  # after the last message, for the delayed deliveries


def _percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))]


def run_pubsub(system: System) -> dict[str, Any]:
    # per region: (origin, send time as sent, latency s)
    received: list[list[tuple[int, str, float]]] = [[] for _ in REGIONS]
    stop = threading.Event()
    subs = []
    for region in range(3):
        conn = system.client(region)
        ps = conn.pubsub()
        ps.subscribe(CHANNEL)
        ps.get_message(timeout=5)  # the confirmation
        subs.append((conn, ps))

    def listen(region: int) -> None:
        ps = subs[region][1]
        while not stop.is_set():
            msg = ps.get_message(timeout=0.2)
            if msg is None or msg["type"] != "message":
                continue
            origin, sent = msg["data"].decode().split(":")
            received[region].append((int(origin), sent, time.time() - float(sent)))

    threads = [threading.Thread(target=listen, args=(i,), daemon=True) for i in range(3)]
    for t in threads:
        t.start()
    publishers = [system.client(i) for i in range(3)]
    time.sleep(0.5)  # the subscriptions are in place everywhere
    sent = [0, 0, 0]
    for n in range(MESSAGES):
        origin = n % 3
        publishers[origin].publish(CHANNEL, f"{origin}:{time.time():.6f}")
        sent[origin] += 1
        time.sleep(INTERVAL_S)
    time.sleep(SETTLE_S)
    stop.set()
    for t in threads:
        t.join(5)
    for conn, ps in subs:
        ps.close()
        conn.close()
    for p in publishers:
        p.close()
    cross = [lat for region in range(3) for origin, _, lat in received[region] if origin != region]
    local = [lat for region in range(3) for origin, _, lat in received[region] if origin == region]
    expected_cross = sum(sent) * 2
    return {
        "messages": sum(sent),
        "cross_region_delivered": len(cross),
        "cross_region_delivered_pct": 100.0 * len(cross) / expected_cross if expected_cross else 0.0,
        "cross_region_ms": {"p50": _ms(_percentile(cross, 50)), "p99": _ms(_percentile(cross, 99))},
        "local_ms": {"p50": _ms(_percentile(local, 50)), "p99": _ms(_percentile(local, 99))},
        "duplicates": sum(len(r) for r in received) - len({(i, o, t) for i, r in enumerate(received)
                                                            for o, t, _ in r}),
    }


def _ms(v: float | None) -> float | None:
    return None if v is None else round(v * 1000.0, 2)


def render_pubsub(results: list[dict[str, Any]], delay_ms: float) -> str:
    lines = [f"| PUBLISH across regions ({delay_ms:g} ms one way) | delivered to the other regions | "
             "latency p50 / p99 (ms) | same region p50 / p99 (ms) |", "|---|---|---|---|"]
    for r in results:
        p = r["pubsub"]
        lines.append(f"| {r['label']} | {p['cross_region_delivered']} of {2 * p['messages']} "
                     f"({p['cross_region_delivered_pct']:.1f}%) | {p['cross_region_ms']['p50']} / "
                     f"{p['cross_region_ms']['p99']} | {p['local_ms']['p50']} / {p['local_ms']['p99']} |")
    return "\n".join(lines)

