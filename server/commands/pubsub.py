"""Pub/sub commands (Redis 7.0's pubsub.c): SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE,
SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH, SPUBLISH and PUBSUB's introspection subcommands.

PUBLISH/SPUBLISH deliver to this region's subscribers (the reply counts them, as SEMANTICS
says) and forward the message to every peer region, whose subscribers get it once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server import errors, helptext
from server.commands.registry import command
from server.pubsub import CHANNEL, PATTERN, SHARD
from server.resp import Error, RawPush, Status

if TYPE_CHECKING:
    from server.connection import Client


@command("subscribe")
def cmd_subscribe(c: Client, argv: list[bytes]) -> Any:
    return RawPush(c.server.pubsub.subscribe(c, CHANNEL, argv[1:]))


@command("psubscribe")
def cmd_psubscribe(c: Client, argv: list[bytes]) -> Any:
    return RawPush(c.server.pubsub.subscribe(c, PATTERN, argv[1:]))


@command("ssubscribe")
def cmd_ssubscribe(c: Client, argv: list[bytes]) -> Any:
    return RawPush(c.server.pubsub.subscribe(c, SHARD, argv[1:]))


@command("unsubscribe")
def cmd_unsubscribe(c: Client, argv: list[bytes]) -> Any:
    return RawPush(c.server.pubsub.unsubscribe(c, CHANNEL, argv[1:]))


@command("punsubscribe")
def cmd_punsubscribe(c: Client, argv: list[bytes]) -> Any:
    return RawPush(c.server.pubsub.unsubscribe(c, PATTERN, argv[1:]))


@command("sunsubscribe")
def cmd_sunsubscribe(c: Client, argv: list[bytes]) -> Any:
    return RawPush(c.server.pubsub.unsubscribe(c, SHARD, argv[1:]))


@command("publish")
def cmd_publish(c: Client, argv: list[bytes]) -> Any:
    receivers = c.server.pubsub.publish(argv[1], argv[2])
    c.server.forward_publish(False, argv[1], argv[2])
    return receivers


@command("spublish")
def cmd_spublish(c: Client, argv: list[bytes]) -> Any:
    receivers = c.server.pubsub.spublish(argv[1], argv[2])
    c.server.forward_publish(True, argv[1], argv[2])
    return receivers


def _channels(c: Client, argv: list[bytes], kind: int) -> Any:
    if len(argv) > 3:  # arity -2 in the table; the handler takes at most one pattern
        raise Error(errors.PUBSUB_UNKNOWN_SUBCOMMAND % argv[1].decode("utf-8", "replace"))
    return c.server.pubsub.names(kind, argv[2] if len(argv) > 2 else None)


@command("pubsub|channels")
def cmd_pubsub_channels(c: Client, argv: list[bytes]) -> Any:
    return _channels(c, argv, CHANNEL)


@command("pubsub|shardchannels")
def cmd_pubsub_shardchannels(c: Client, argv: list[bytes]) -> Any:
    return _channels(c, argv, SHARD)


@command("pubsub|numsub")
def cmd_pubsub_numsub(c: Client, argv: list[bytes]) -> Any:
    ps = c.server.pubsub
    return [x for ch in argv[2:] for x in (ch, ps.numsub(CHANNEL, ch))]


@command("pubsub|shardnumsub")
def cmd_pubsub_shardnumsub(c: Client, argv: list[bytes]) -> Any:
    ps = c.server.pubsub
    return [x for ch in argv[2:] for x in (ch, ps.numsub(SHARD, ch))]


@command("pubsub|numpat")
def cmd_pubsub_numpat(c: Client, argv: list[bytes]) -> Any:
    return c.server.pubsub.numpat()


@command("pubsub|help")
def cmd_pubsub_help(c: Client, argv: list[bytes]) -> Any:
    return [Status(line) for line in helptext.PUBSUB_HELP]
