"""The replicas of this region and what each asked for with REPLCONF before its SYNC."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.app import Server
    from server.connection import Client
    from server.replicas.link import ReplicaLink


@dataclass
class ReplConf:
    """replconfCommand's settings of one connection (a client's slave_* fields)."""

    listening_port: int = 0
    ip_address: bytes | None = None
    capa_eof: bool = False
    capa_psync2: bool = False
    rdb_only: bool = False
    exclude_data: bool = False  # REPLCONF rdb-filter-only: SLAVE_REQ_RDB_EXCLUDE_DATA
    exclude_functions: bool = False  # ... SLAVE_REQ_RDB_EXCLUDE_FUNCTIONS

    @property
    def filtered(self) -> bool:
        return self.exclude_data or self.exclude_functions


class Replicas:
    """``confs``: REPLCONF settings of connections that are not replicas yet, by client id
    (forgotten when the client is gone); ``links``: the replicas, in attach order."""

    def __init__(self, server: Server) -> None:
        self.server: Any = server
        self.confs: dict[int, ReplConf] = {}
        self.links: list[ReplicaLink] = []
        self.full_syncs = 0  # INFO stats sync_full
        self.offset = 0  # bytes of replication stream sent to replicas (master_repl_offset)

    def conf(self, client: Client) -> ReplConf:
        conf = self.confs.get(client.id)
        if conf is None:
            clients = self.server.clients
            for cid in [cid for cid in self.confs if cid not in clients]:
                del self.confs[cid]  # connections gone since their REPLCONF
            conf = self.confs[client.id] = ReplConf()
        return conf

    def take_conf(self, client: Client) -> ReplConf:
        return self.confs.pop(client.id, None) or ReplConf()

    def attach(self, link: ReplicaLink) -> None:
        self.links.append(link)

    def detach(self, link: ReplicaLink) -> None:
        if link in self.links:
            self.links.remove(link)

    def online(self) -> list[ReplicaLink]:
        return [link for link in self.links if link.state == "online"]
