"""CPU cost of the command path, in-process: no sockets, no client, just the server's work.

Fifty mock clients each send one command per "loop iteration" (pipeline 1) or sixteen
(pipeline 16); the server then writes the replies once, as the event loop does. With
``--peers 2`` the op log and two peer streams (to mock sockets) are live, so the cost of
logging and streaming every write is counted, and the region behaves as one with peers
(metadata kept until every region has observed it). Prints microseconds of CPU per command (the
fastest of ``--repeat`` runs: a shared VM is noisy);
``--profile`` prints the cProfile table, the tool to find what to make faster next.

    python -m benchmarks.inprocess [--command set] [--requests 200000] [--pipeline 1]
                                   [--peers 2] [--repeat 3] [--profile] [--peer-apply]

``--peer-apply`` also replays what the origin logged into a fresh peer region (decode, causal
check, apply, log append: what a peer link does) and prints the peer's CPU per effect.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import random
import tempfile
import time
from typing import Any

from crdt.codec import decode_batch
from replication.oplog import LOG_VERSION
from replication.wire import WIRE_VERSION, pack_vv
from server.app import GC_THRESHOLDS, Server
from server.config import Config
from server.connection import Client
from server.harness.mocktransport import MockTransport

CLIENTS = 50


def _request(command: str, n: int) -> bytes:
    key = b"key:%012d" % n
    argv = {
        "set": [b"SET", key, b"xxx"],
        "get": [b"GET", key],
        "incr": [b"INCR", b"counter:%d" % (n % 1000)],
        "sadd": [b"SADD", b"myset", b"element:%d" % n],
        "hset": [b"HSET", b"myhash", b"element:%d" % n, b"xxx"],
        "zadd": [b"ZADD", b"myzset", b"%d" % n, b"element:%d" % n],
        "lpush": [b"LPUSH", b"mylist", b"xxx"],
        # one of 100,000 small hashes: most are cold, packed (crdt/packing.py) between writes
        "hsetkeys": [b"HSET", b"hash:%010d" % n, b"f%d" % (n % 10), b"xxx"],
    }[command]
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)


def _cpu(loop: asyncio.AbstractEventLoop, body: Any, profile: bool) -> float:
    """CPU seconds to run ``body`` to completion on ``loop`` (then closed), under cProfile
    (its table printed) when ``profile``."""
    prof = cProfile.Profile() if profile else None
    t0 = time.process_time()
    if prof is not None:
        prof.runcall(loop.run_until_complete, body)
    else:
        loop.run_until_complete(body)
    cpu = time.process_time() - t0
    loop.close()
    if prof is not None:
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    return cpu


def run(command: str, requests: int, pipeline: int, peers: int, profile: bool,
        captured: list[bytes] | None = None) -> float:
    """CPU µs per command at the origin; with ``captured``, the log records it wrote are
    appended to it (what its peers will apply)."""
    with tempfile.TemporaryDirectory() as tmp:
        peer_list = [("127.0.0.1", 1 + i) for i in range(peers)]
        server = Server(Config(region="bench", dir=tmp, peer=peer_list, appendfsync="no"))
        rep = server.replicator
        assert rep is not None
        rep.recover()
        for i in range(peers):  # peer i pulls our log over a mock socket, as after CRDT.SYNC
            _, link = rep.accept_sync(WIRE_VERSION, b"peer%d" % i, b"bench", LOG_VERSION,
                                      pack_vv({}), b"log", "bench", lambda exc: None)
            link.connection_made(MockTransport(keep=False))  # type: ignore[arg-type]  # caught up: live from now on
        clients = []
        for _ in range(CLIENTS):
            c = Client(server)
            c.connection_made(MockTransport(keep=False))  # type: ignore[arg-type]
            clients.append(c)
        rng = random.Random(1)
        rounds = max(1, requests // (CLIENTS * pipeline))
        payloads = [
            [b"".join(_request(command, rng.randrange(100_000)) for _ in range(pipeline))
             for _ in range(CLIENTS)]
            for _ in range(min(rounds, 64))
        ]
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)

        async def body() -> None:
            for r in range(rounds):
                batch = payloads[r % len(payloads)]
                for c, data in zip(clients, batch, strict=True):
                    c.data_received(data)
                await asyncio.sleep(0)  # the iteration ends: op log flush, replies written
                if peers and r % 20 == 19:  # the peers report what they applied
                    server.ks.stable = dict(server.ks.vv)

        cpu = _cpu(loop, body(), profile)
        if captured is not None:  # what the origin logged: read back from its op log (the
            inner = rep._rep      # replicator is compiled: its methods cannot be patched)
            inner.flush()
            captured.extend(raw for _, raw, _ in inner.oplog.read_from(1))
        return cpu / (rounds * CLIENTS * pipeline) * 1e6


def run_apply(raws: list[bytes], profile: bool) -> float:
    """CPU µs per effect for a peer region to apply what an origin logged: decode, causal check,
    apply, log append (``Replicator.receive``, as a peer link calls it)."""
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Config(region="peer", dir=tmp, peer=[("127.0.0.1", 1)], appendfsync="no"))
        facade = server.replicator
        assert facade is not None
        facade.recover()
        rep = facade._rep
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        effects = 0

        async def body() -> None:
            nonlocal effects
            for i, raw in enumerate(raws):
                batch = decode_batch(raw)
                effects += len(batch.effects)
                rep.receive(batch, raw)
                if i % 64 == 63:
                    await asyncio.sleep(0)  # loop iterations: the log flushes

        cpu = _cpu(loop, body(), profile)
        return cpu / max(1, effects) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--command", default="set,get,incr,sadd,hset", help="also: lpush, zadd")
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--pipeline", type=int, default=1)
    ap.add_argument("--peers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="runs per command; the fastest is shown")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--peer-apply", action="store_true",
                    help="also: CPU per effect for a peer to apply what the origin logged")
    args = ap.parse_args()
    gc.set_threshold(*GC_THRESHOLDS)  # as the server process does
    for command in args.command.split(","):
        captured: list[bytes] = []
        us = min(run(command, args.requests, args.pipeline, args.peers, args.profile,
                     captured if args.peer_apply and i == 0 else None)
                 for i in range(1 if args.profile else args.repeat))
        line = f"{command:5} pipeline {args.pipeline:2} peers {args.peers}: {us:6.2f} µs CPU per command"
        if args.peer_apply and captured:
            apply_us = min(run_apply(captured, args.profile) for _ in range(1 if args.profile else args.repeat))
            line += f"; a peer applies it in {apply_us:6.2f} µs per effect ({apply_us / us:.2f}x)"
        print(line, flush=True)


if __name__ == "__main__":
    main()
