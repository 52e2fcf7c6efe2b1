"""Commands that exist because of active-active (SEMANTICS.md, last table), and CRDT.SYNC, the
handshake that turns a connection into a peer region's replication link."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import msgpack

from crdt.clock import physical_ms, vv_leq
from crdt.digest import key_digest, keyspace_digest
from replication.facade import Replication
from replication.peerlink import SyncRefused
from replication.wire import unpack_vv
from server import errors
from server.blocking import Blocked
from server.command_spec import CommandSpec
from server.commands.common import int_arg
from server.commands.registry import EXTRA_SPECS, command
from server.resp import Error, Map, RSet, Status

if TYPE_CHECKING:
    from server.connection import Client


def _spec(name: str, arity: int, flags: list[str], summary: str, args: list[tuple[str, str]],
          first_key: int = 0, complexity: str = "O(1)", acl: list[str] | None = None) -> CommandSpec:
    """A COMMAND INFO / DOCS entry written the way Redis 7 describes its own commands."""
    if acl is None:
        acl = ["@slow", "@connection"] if first_key == 0 else ["@read", "@slow"]
    info = [name, arity, RSet([Status(f) for f in flags]), first_key, first_key, 1 if first_key else 0,
            RSet([Status(a) for a in acl]), RSet([]), RSet([]), RSet([])]
    docs = Map([
        ("summary", summary), ("since", "0.1.0"), ("group", "server"), ("complexity", complexity),
        ("arguments", [Map([("name", n), ("type", t)]) for n, t in args]),
    ])
    return CommandSpec(name=name, arity=arity, flags=flags, first_key=first_key, last_key=first_key,
                       step=1 if first_key else 0, acl_categories=acl, tips=[], subcommands={},
                       info=info, docs=docs)


EXTRA_SPECS.update({
    "crdt.sync": _spec("crdt.sync", -6, ["admin", "noscript", "loading", "stale"],
                       "Turns this connection into a peer region's replication link.",
                       [("version", "integer"), ("region", "string"), ("instance", "string"),
                        ("log-version", "integer"), ("vv", "string")],
                       # as SYNC/PSYNC: only a user allowed @admin/@dangerous (or +crdt.sync)
                       # can read the replication stream
                       acl=["@admin", "@slow", "@dangerous"]),
    # first_key 1: its optional key is a key (ACL key patterns apply, @read), as OBJECT's
    "crdt.digest": _spec("crdt.digest", -1, ["readonly", "loading", "stale"],
                         "A hex digest of the visible state, or of one key.", [("key", "key")],
                         first_key=1, complexity="O(N) for the whole keyspace"),
    "crdt.conflicts": _spec("crdt.conflicts", -1, ["readonly", "loading", "stale"],
                            "The most recent resolved conflicts, newest first.",
                            [("count", "integer")]),
    "crdt.token": _spec("crdt.token", 1, ["readonly", "fast", "loading", "stale"],
                        "A causal token covering every write this connection made.", []),
    "crdt.waittoken": _spec("crdt.waittoken", 3, ["readonly", "noscript"],
                            "Blocks until this region has applied everything a token covers.",
                            [("token", "string"), ("timeout", "integer")]),
    "crdt.peers": _spec("crdt.peers", 1, ["readonly", "loading", "stale"],
                        "The peer regions and their links.", []),
})


def _rep(c: Client) -> Replication:
    rep = c.server.replicator
    if rep is None:
        raise Error(errors.NO_REPLICATION)
    return rep


# -- the replication handshake --------------------------------------------------------------


@command("crdt.sync")
def cmd_crdt_sync(c: Client, argv: list[bytes]) -> Any:
    rep = _rep(c)
    if len(argv) not in (6, 7):
        raise Error(errors.SYNTAX)
    version, log_version = int_arg(argv[1]), int_arg(argv[4])
    mode = argv[6] if len(argv) == 7 else b"log"
    try:
        reply, link = rep.accept_sync(version, argv[2], argv[3], log_version, argv[5], mode, c.addr,
                                      c.connection_lost)
    except SyncRefused as exc:
        raise Error(str(exc)) from None
    c.hand_over(link)  # once the +SYNC reply is written, the connection is the peer link's
    return Status(reply)


# -- digests and conflicts ------------------------------------------------------------------


@command("crdt.digest")
def cmd_crdt_digest(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 2:
        raise Error(errors.SYNTAX)
    if len(argv) == 1:
        return keyspace_digest(c.ks).encode()
    db = c.ks.dbs[c.db]
    return b"%032x" % key_digest(c.db, argv[1], db.get(argv[1], c.ks.now_ms))


def _region_of(origin: str) -> str:
    return origin.split("/", 1)[0]


@command("crdt.conflicts")
def cmd_crdt_conflicts(c: Client, argv: list[bytes]) -> Any:
    count = 10
    if len(argv) == 3 and argv[1].lower() == b"count":
        count = int_arg(argv[2])
        if count < 0:
            raise Error(errors.NOT_POSITIVE)
    elif len(argv) != 1:
        raise Error(errors.SYNTAX)
    out = []
    for conflict in list(c.ks.conflicts.recent)[:count]:
        win, lose = conflict.winner, conflict.loser
        out.append(Map([
            ("db", conflict.db), ("key", conflict.key), ("kind", conflict.kind),
            ("winner_region", _region_of(win[1])), ("winner_time_ms", physical_ms(win[0])),
            ("loser_region", _region_of(lose[1]) if lose else None),
            ("loser_time_ms", physical_ms(lose[0]) if lose else None),
        ]))
    return out


# -- causal tokens and waiting --------------------------------------------------------------


def encode_token(vv: dict[str, int]) -> bytes:
    return b"t1:" + base64.urlsafe_b64encode(msgpack.packb(vv)).rstrip(b"=")


def decode_token(token: bytes) -> dict[str, int]:
    if not token.startswith(b"t1:"):
        raise Error(errors.INVALID_TOKEN)
    data = token[3:]
    try:
        return unpack_vv(base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4)))
    except Exception:
        raise Error(errors.INVALID_TOKEN) from None


@command("crdt.token")
def cmd_crdt_token(c: Client, argv: list[bytes]) -> Any:
    return encode_token(c.last_write_vv)


def _timeout_s(arg: bytes) -> float:
    ms = int_arg(arg, "ERR timeout is not an integer or out of range")  # getTimeoutFromObjectOrReply
    if ms < 0:
        raise Error(errors.TIMEOUT_NEGATIVE)
    return ms / 1000.0


@command("crdt.waittoken")
def cmd_crdt_waittoken(c: Client, argv: list[bytes]) -> Any:
    wanted = decode_token(argv[1])
    timeout = _timeout_s(argv[2])
    ks = c.ks

    def check() -> int | None:
        return 1 if vv_leq(wanted, ks.vv) else None

    if check() or c.in_exec:
        return check() or 0
    blocked = Blocked(check, timeout, lambda: 0)
    blocked.client = c
    return blocked


@command("wait")
def cmd_wait(c: Client, argv: list[bytes]) -> Any:
    wanted = int_arg(argv[1])
    timeout = _timeout_s(argv[2])
    rep = c.server.replicator
    mine = {o: s for o, s in c.last_write_vv.items() if o == c.ks.region}
    replicas = c.server.replicas  # stock Redis replicas count too, once at the stream's end
    replicas.flush()
    offset = replicas.offset

    def acked() -> int:
        return (rep.acked_by(mine) if rep is not None else 0) + replicas.acked(offset)

    if acked() >= wanted or c.in_exec:
        return acked()
    replicas.request_acks()
    blocked = Blocked(lambda: acked() if acked() >= wanted else None, timeout, acked)
    blocked.client = c
    return blocked


# -- peers --------------------------------------------------------------------------------


@command("crdt.peers")
def cmd_crdt_peers(c: Client, argv: list[bytes]) -> Any:
    rep = c.server.replicator
    return [Map(list(row.items())) for row in rep.peer_rows()] if rep is not None else []
