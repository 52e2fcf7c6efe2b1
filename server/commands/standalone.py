"""The cluster commands of a Redis 7.0 started without ``cluster-enabled``: every CLUSTER
subcommand, READONLY, READWRITE and ASKING answer "This instance has cluster support disabled"
(cluster.c checks ``server.cluster_enabled`` first, HELP included). A region is a standalone
server to its clients, so clients and test suites that probe for cluster mode get Redis's
answer instead of "unknown command".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.commands.registry import command
from server.resp import Error

if TYPE_CHECKING:
    from server.connection import Client

CLUSTER_DISABLED = "ERR This instance has cluster support disabled"

_CLUSTER_SUBCOMMANDS = (
    "addslots", "addslotsrange", "bumpepoch", "count-failure-reports", "countkeysinslot",
    "delslots", "delslotsrange", "failover", "flushslots", "forget", "getkeysinslot", "help",
    "info", "keyslot", "links", "meet", "myid", "nodes", "replicas", "replicate", "reset",
    "saveconfig", "set-config-epoch", "setslot", "shards", "slaves", "slots",
)


@command(*(f"cluster|{sub}" for sub in _CLUSTER_SUBCOMMANDS), "readonly", "readwrite", "asking")
def cmd_cluster_disabled(c: Client, argv: list[bytes]) -> Any:
    raise Error(CLUSTER_DISABLED)
