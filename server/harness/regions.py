"""Several real regions on loopback with a fault proxy on every inter-region link.

Region ``i``'s link to region ``j`` (the connection ``i`` opens to pull ``j``'s log) goes
through ``proxies[(i, j)]``, so each direction of each pair can be delayed, cut or partitioned
on its own. ``partition(i, j)`` cuts both directions. Every process and proxy is stopped by
``close()`` (the context manager), whatever happened.
"""

from __future__ import annotations

import signal
import tempfile
import time
from typing import TYPE_CHECKING, Any

from server.harness.faultproxy import FaultProxy
from server.harness.processes import ServerProcess, free_port, start_activekv

if TYPE_CHECKING:
    import redis

NAMES = ("us-west", "us-east", "eu-west", "ap-south", "sa-east")


class Cluster:
    def __init__(self, n: int = 3, *args: str, appendfsync: str = "everysec",
                 proxies: bool = True) -> None:
        self.n = n
        self.names = list(NAMES[:n])
        self.ports = [free_port() for _ in range(n)]
        self.dirs = [tempfile.mkdtemp(prefix=f"akv-{name}-") for name in self.names]
        self.args = list(args) + ["--appendfsync", appendfsync]
        self.proxies: dict[tuple[int, int], FaultProxy] = {}
        self.procs: list[ServerProcess | None] = [None] * n
        try:
            for i in range(n):
                for j in range(n):
                    if i != j and proxies:
                        self.proxies[(i, j)] = FaultProxy(self.ports[j])
            for i in range(n):
                self.start(i)
        except Exception:
            self.close()
            raise

    # -- processes ------------------------------------------------------------------------
    def peer_args(self, i: int) -> list[str]:
        out = []
        for j in range(self.n):
            if j != i:
                port = self.proxies[(i, j)].port if self.proxies else self.ports[j]
                out += ["--peer", f"127.0.0.1:{port}"]
        return out

    def start(self, i: int) -> ServerProcess:
        proc = start_activekv(
            "--region", self.names[i], *self.peer_args(i), *self.args,
            port=self.ports[i], workdir=self.dirs[i],
        )
        self.procs[i] = proc
        return proc

    def stop(self, i: int) -> None:
        proc = self.procs[i]
        if proc is not None:
            proc.stop()
            self.procs[i] = None

    def kill9(self, i: int) -> None:
        proc = self.procs[i]
        if proc is not None:
            proc.stop(signal.SIGKILL)
            self.procs[i] = None

    def restart(self, i: int) -> ServerProcess:
        self.stop(i)
        return self.start(i)

    def close(self) -> None:
        for i in range(self.n):
            try:
                self.stop(i)
            except Exception:
                pass
        for proxy in self.proxies.values():
            proxy.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- clients --------------------------------------------------------------------------
    def client(self, i: int, **kwargs: Any) -> redis.Redis:
        import redis  # a dev dependency (tests, benchmarks): the server never imports this module

        return redis.Redis(port=self.ports[i], socket_timeout=10, **kwargs)

    def call(self, i: int, *args: Any) -> Any:
        with self.client(i) as r:
            return r.execute_command(*args)

    # -- faults ---------------------------------------------------------------------------
    def partition(self, i: int, j: int) -> None:
        self.proxies[(i, j)].partition()
        self.proxies[(j, i)].partition()

    def heal(self, i: int, j: int) -> None:
        self.proxies[(i, j)].heal()
        self.proxies[(j, i)].heal()

    def isolate(self, i: int) -> None:
        for j in range(self.n):
            if j != i:
                self.partition(i, j)

    def heal_all(self) -> None:
        for proxy in self.proxies.values():
            proxy.heal()
            proxy.set_delay(0)
            proxy.set_drop(0)

    def set_delay(self, ms: float) -> None:
        for proxy in self.proxies.values():
            proxy.set_delay(ms)

    # -- observation ----------------------------------------------------------------------
    def digests(self) -> list[bytes]:
        return [self.call(i, "CRDT.DIGEST") for i in range(self.n) if self.procs[i] is not None]

    def vvs(self) -> list[str]:
        out = []
        for i in range(self.n):
            if self.procs[i] is not None:
                info = self.client(i).info("crdt")
                out.append(str(info.get("vv", "")))
        return out

    def wait_linked(self, timeout: float = 20.0) -> None:
        """Until every region has both links with every other region up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = True
            for i in range(self.n):
                rows = self.call(i, "CRDT.PEERS")
                states = [peer_field(row, b"state") for row in rows]
                if len(states) != self.n - 1 or any(s != b"up" for s in states):
                    ok = False
                    break
            if ok:
                return
            time.sleep(0.05)
        raise AssertionError(f"links not all up after {timeout}s: "
                             f"{[self.call(i, 'CRDT.PEERS') for i in range(self.n)]}")

    def wait_converged(self, timeout: float = 30.0) -> bytes:
        """Until every running region has the same VV and digest; returns the digest."""
        deadline = time.monotonic() + timeout
        last: tuple[list[str], list[bytes]] = ([], [])
        while time.monotonic() < deadline:
            vvs, digests = self.vvs(), self.digests()
            last = (vvs, digests)
            if len(set(vvs)) == 1 and len(set(digests)) == 1:
                return digests[0]
            time.sleep(0.05)
        raise AssertionError(f"regions did not converge in {timeout}s: vvs={last[0]} digests={last[1]}")


def peer_field(row: Any, name: bytes) -> Any:
    """Field ``name`` of one ``CRDT.PEERS`` row (a RESP3 map or a RESP2 flat list)."""
    if isinstance(row, dict):
        return row.get(name, row.get(name.decode()))
    items = list(row)
    for k, v in zip(items[::2], items[1::2], strict=False):
        if k in (name, name.decode()):
            return v
    return None

