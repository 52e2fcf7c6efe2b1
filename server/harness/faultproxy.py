"""A fault-injecting TCP proxy for inter-region links (tests and benchmarks).

One ``FaultProxy`` forwards one listening port on 127.0.0.1 to one target port, both ways, on
its own asyncio loop in a background thread, and can be told at any time to:

* ``set_delay(ms)``: hold every chunk for ``ms`` milliseconds in each direction (order kept);
* ``set_bandwidth(bps)``: forward at most ``bps`` bytes per second per direction (0 = no
  limit); the proxy buffers only a few chunks, so a slow link pushes back on the sender;
* ``set_drop(p)``: cut each connection abruptly with probability ``p`` per forwarded chunk;
* ``partition()``: cut every connection and refuse new ones until ``heal()``;
* ``heal()``: forward again.

Everything stays on loopback and every task is bounded by the proxy's life: ``close()`` ends it.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import Any

CHUNK = 65536
QUEUE_CHUNKS = 64


class FaultProxy:
    def __init__(self, target_port: int, listen_port: int = 0, seed: int | None = None) -> None:
        self.target_port = target_port
        self.delay_s = 0.0
        self.drop_p = 0.0
        self.bandwidth = 0.0
        self.partitioned = False
        self.bytes_forwarded = 0
        self.connections_cut = 0
        self._rng = random.Random(seed)
        self._conns: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(listen_port,), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault proxy did not start")

    # -- control (any thread) -------------------------------------------------------------
    def set_delay(self, ms: float) -> None:
        self.delay_s = ms / 1000.0

    def set_bandwidth(self, bytes_per_s: float) -> None:
        self.bandwidth = bytes_per_s

    def set_drop(self, probability: float) -> None:
        self.drop_p = probability

    def partition(self) -> None:
        self.partitioned = True
        self._call(self._cut_all)

    def heal(self) -> None:
        self.partitioned = False

    def cut(self) -> None:
        """Cut the current connections once (a transient network failure)."""
        self._call(self._cut_all)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._call(self._shutdown)
        self._thread.join(10)

    def _call(self, fn: Any) -> None:
        done = threading.Event()

        def run() -> None:
            try:
                fn()
            finally:
                done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(10)

    # -- the proxy loop -------------------------------------------------------------------
    def _run(self, listen_port: int) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", listen_port)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    def _shutdown(self) -> None:
        self._server.close()
        self._cut_all()
        for task in asyncio.all_tasks(self._loop):
            task.cancel()
        self._loop.call_soon(self._loop.stop)

    def _cut_all(self) -> None:
        for a, b in list(self._conns):
            _abort(a)
            _abort(b)
            self.connections_cut += 1
        self._conns.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.partitioned:
            _abort(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            _abort(writer)
            return
        pair = (writer, up_writer)
        self._conns.add(pair)
        await asyncio.gather(
            self._pump(reader, up_writer, pair), self._pump(up_reader, writer, pair),
            return_exceptions=True,
        )
        self._conns.discard(pair)
        _abort(writer)
        _abort(up_writer)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    pair: tuple[asyncio.StreamWriter, asyncio.StreamWriter]) -> None:
        # Bounded, as a real link's buffering: when delivery lags, reading stops and the
        # sender's socket fills up.
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(QUEUE_CHUNKS)

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if pair not in self._conns:
                    return
                writer.write(data)
                self.bytes_forwarded += len(data)
                await writer.drain()
                if self.bandwidth:
                    await asyncio.sleep(len(data) / self.bandwidth)

        sender = asyncio.get_running_loop().create_task(deliver())
        try:
            while True:
                data = await reader.read(CHUNK if not self.bandwidth else 4096)
                if not data or pair not in self._conns:
                    break
                if self.partitioned or (self.drop_p and self._rng.random() < self.drop_p):
                    self._conns.discard(pair)
                    self.connections_cut += 1
                    break
                await queue.put((time.monotonic() + self.delay_s, data))
            while not queue.empty() and pair in self._conns:
                await asyncio.sleep(0.005)
        finally:
            sender.cancel()
            _abort(writer)


def _abort(writer: asyncio.StreamWriter) -> None:
    transport = writer.transport
    if not transport.is_closing():
        transport.abort()
