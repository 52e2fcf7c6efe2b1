"""What INFO replication and ROLE say about the Redis replicas (replication.c's
genRedisInfoString ``slaveN`` lines and roleCommand)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.replicas.registry import Replicas


def info_fields(replicas: Replicas) -> list[tuple[str, object]]:
    """``connected_slaves`` and one ``slaveN`` line per replica."""
    now = time.time()
    fields: list[tuple[str, object]] = [("connected_slaves", len(replicas.links))]
    for i, link in enumerate(replicas.links):
        fields.append((f"slave{i}", f"ip={link.ip()},port={link.port()},state={link.state},"
                       f"offset={link.ack_offset},lag={int(now - link.ack_time)}"))
    return fields


def role_replicas(replicas: Replicas) -> list[list[bytes]]:
    """ROLE's list of online replicas: [ip, port, acknowledged offset], all bulk strings."""
    return [[link.ip().encode(), b"%d" % link.port(), b"%d" % link.ack_offset]
            for link in replicas.links if link.state == "online"]
