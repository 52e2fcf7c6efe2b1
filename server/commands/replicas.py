"""SYNC, PSYNC and REPLCONF (Redis 7.0's syncCommand and replconfCommand): a stock Redis
replica, ``redis-cli --rdb`` or ``redis-cli --functions-rdb`` gets a full resync of this region
(``server/replicas``). A region keeps no Redis replication backlog, so PSYNC always answers
``+FULLRESYNC <replid> <offset>``; the replid is INFO's ``master_replid``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server import errors
from server.commands.common import int_arg
from server.commands.registry import command
from server.replicas.link import ReplicaLink
from server.replicas.registry import Replicas
from server.reqparse import splitargs
from server.resp import NO_REPLY, OK, Error, Raw

if TYPE_CHECKING:
    from server.connection import Client

NET_HOST_STR_LEN = 256


def replicas_of(c: Client) -> Replicas:
    return c.server.replicas


@command("replconf")
def cmd_replconf(c: Client, argv: list[bytes]) -> Any:
    if len(argv) % 2 == 0:  # every option needs its value
        raise Error(errors.SYNTAX)
    conf = replicas_of(c).conf(c)
    for j in range(1, len(argv), 2):
        opt, value = argv[j].lower(), argv[j + 1]
        if opt == b"listening-port":
            conf.listening_port = int_arg(value)
        elif opt == b"ip-address":
            if len(value) >= NET_HOST_STR_LEN:
                raise Error("ERR REPLCONF ip-address provided by replica instance is too long: "
                            f"{len(value)} bytes")
            conf.ip_address = value
        elif opt == b"capa":  # capabilities this primary does not know are ignored
            if value.lower() == b"eof":
                conf.capa_eof = True
            elif value.lower() == b"psync2":
                conf.capa_psync2 = True
        elif opt in (b"ack", b"getack"):
            # ACK from a connection that is not a replica, GETACK to a primary: no reply at all
            return NO_REPLY
        elif opt == b"rdb-only":
            flag = int_arg(value)
            if flag < 0 or flag > 1:
                raise Error(errors.RANGE_BETWEEN % (0, 1))
            conf.rdb_only = flag == 1
        elif opt == b"rdb-filter-only":
            filters = splitargs(value)
            if filters is None:
                raise Error("ERR Missing rdb-filter-only values")
            conf.exclude_data = conf.exclude_functions = True  # by default the RDB holds nothing
            for name in filters:
                if name.lower() != b"functions":
                    raise Error("ERR Unsupported rdb-filter-only option: "
                                + name.decode("utf-8", "replace"))
                conf.exclude_functions = False
        else:
            raise Error("ERR Unrecognized REPLCONF option: "  # (addReplyErrorFormat trims CR/LF at the end)
                        + errors.arg_text(errors._cstr(argv[j]).rstrip(b"\r\n")))
    return OK


@command("sync", "psync")
def cmd_sync(c: Client, argv: list[bytes]) -> Any:
    replicas = replicas_of(c)
    if c.pending_output():
        raise Error("ERR SYNC and PSYNC are invalid with pending output")
    conf = replicas.conf(c)
    if conf.filtered and not conf.capa_eof:
        raise Error("ERR Filtered replica requires EOF capability")
    psync = argv[0].lower() == b"psync"
    if psync:
        int_arg(argv[2])  # the offset a partial resync would continue from: never possible here
    replicas.take_conf(c)
    replicas.full_syncs += 1
    if psync and not argv[1].startswith(b"?"):  # a partial resync asked for, never possible
        replicas.partial_errors += 1
    diskless = c.server.config.get("repl-diskless-sync")
    eof = conf.capa_eof and (bool(diskless) or conf.filtered)
    link = ReplicaLink(replicas, c, conf, eof)
    offset = link.offset = replicas.attach(link)
    c.hand_over(link)
    if psync:
        return Raw(b"+FULLRESYNC %s %d\r\n" % (c.server.run_id.encode(), offset))
    # SYNC (pre-PSYNC replicas, redis-cli): no +FULLRESYNC line; a newline, which replicas
    # read as a keep-alive (Redis sends them while the snapshot is being made)
    return Raw(b"\n")


# -- REPLICAOF / SLAVEOF / FAILOVER ------------------------------------------------------------

REPLICAOF_REFUSED = ("ERR activekv regions are active-active primaries and never replicate from "
                     "another server: link regions as peers (--peer host:port) instead")
FAILOVER_REFUSED = ("ERR FAILOVER is not supported: activekv regions are active-active primaries "
                    "and never hand their role to a Redis replica")


@command("replicaof", "slaveof")
def cmd_replicaof(c: Client, argv: list[bytes]) -> Any:
    """replicaofCommand: ``NO ONE`` is what a region always is; a master address is
    validated as Redis does (the port), then refused."""
    if argv[1].lower() == b"no" and argv[2].lower() == b"one":
        return OK
    port = int_arg(argv[2], "ERR Invalid master port")
    if port < 0 or port > 65535:
        raise Error("ERR Invalid master port")
    raise Error(REPLICAOF_REFUSED)


@command("failover")
def cmd_failover(c: Client, argv: list[bytes]) -> Any:
    """failoverCommand's checks, in its order; where Redis would start a failover, refused."""
    if len(argv) == 2 and argv[1].lower() == b"abort":
        raise Error("ERR No failover in progress.")
    timeout = port = 0
    host: bytes | None = None
    force = False
    j = 1
    while j < len(argv):
        opt = argv[j].lower()
        if opt == b"timeout" and j + 1 < len(argv) and timeout == 0:
            timeout = int_arg(argv[j + 1])
            if timeout <= 0:
                raise Error("ERR FAILOVER timeout must be greater than 0")
            j += 1
        elif opt == b"to" and j + 2 < len(argv) and host is None:
            port = int_arg(argv[j + 2])
            host = argv[j + 1]
            j += 2
        elif opt == b"force" and not force:
            force = True
        else:
            raise Error(errors.SYNTAX)
        j += 1
    replicas = replicas_of(c)
    if not replicas.links:
        raise Error("ERR FAILOVER requires connected replicas.")
    if force and (not timeout or host is None):
        raise Error("ERR FAILOVER with force option requires both a timeout and target HOST and IP.")
    if host is not None:
        target = next((link for link in replicas.links
                       if link.ip().encode() == host and link.port() == port), None)
        if target is None:
            raise Error("ERR FAILOVER target HOST and PORT is not a replica.")
        if target.state != "online":
            raise Error("ERR FAILOVER target replica is not online.")
    raise Error(FAILOVER_REFUSED)
