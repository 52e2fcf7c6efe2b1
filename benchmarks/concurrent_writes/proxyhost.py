"""Fault proxies in their own process, and activekv's Cluster with every link through them."""

from __future__ import annotations

import logging
import multiprocessing
from typing import Any

from server.harness.faultproxy import FaultProxy
from server.harness.regions import Cluster


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
