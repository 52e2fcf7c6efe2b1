"""The systems under test: what a ``System`` is, activekv active-active, a single primary.

The key-level LWW model is in ``lww.py``.
"""

from __future__ import annotations

import shutil
from typing import Any

import redis

from benchmarks.concurrent_writes.proxyhost import ProxiedCluster, ProxyHost
from benchmarks.concurrent_writes.workload import connect
from server.harness.processes import ServerProcess, start_redis

SYSTEMS = {
    "activekv": "activekv active-active",
    "primary": "single primary (redis)",
    "lww": "key-level LWW (model, 3x redis)",
}



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
