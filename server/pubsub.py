"""Pub/sub: channels, patterns and shard channels; delivery; output buffer limits.

As Redis 7.0's ``pubsub.c``: a client's subscriptions are its channels, its patterns (counted
together in SUBSCRIBE/PSUBSCRIBE replies) and its shard channels (SSUBSCRIBE, counted apart).
A client with any of them is in the pub/sub context: under RESP2 it may then only run
(P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT and RESET (``connection.Client.dispatch``).

Delivery is local here; ``server.commands.pubsub``'s PUBLISH/SPUBLISH also forward the message
over the peer links (``Replication.publish``) and a peer's forwarded message comes back in
through ``Server``'s ``deliver_remote``: every region's subscribers get it once (SEMANTICS
"Pub/sub"). Keyspace notifications use ``publish`` too, but only locally: each region makes
its own from the effects it applies.

Output buffer limits (``client-output-buffer-limit``, Redis's ``checkClientOutputBufferLimits``):
each message pushed to a client adds to what waits for its socket; a client over the hard
limit of its class, or over the soft limit for longer than the soft seconds, is aborted (its
buffered output dropped), so a subscriber that stops reading costs at most about the limit.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from server.glob import matches
from server.resp import Push, encode

if TYPE_CHECKING:
    from server.app import Server
    from server.connection import Client

# The commands a RESP2 client in the pub/sub context may run (Redis's processCommand).
ALLOWED_IN_CONTEXT = frozenset((
    "ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe", "psubscribe",
    "punsubscribe", "quit", "reset",
))
PUBSUB_CONTEXT_ERROR = (
    "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
    "allowed in this context"
)

CHANNEL, PATTERN, SHARD = 0, 1, 2
_SUB_NAMES = (b"subscribe", b"psubscribe", b"ssubscribe")
_UNSUB_NAMES = (b"unsubscribe", b"punsubscribe", b"sunsubscribe")


class Subscriptions:
    """One client's subscriptions, by kind (insertion order kept, as Redis's dicts do not
    promise but tests may read)."""

    __slots__ = ("kinds",)

    def __init__(self) -> None:
        self.kinds: tuple[dict[bytes, None], dict[bytes, None], dict[bytes, None]] = ({}, {}, {})

    def count(self, kind: int) -> int:
        """What the (un)subscribe replies count: channels + patterns, or shard channels."""
        if kind == SHARD:
            return len(self.kinds[SHARD])
        return len(self.kinds[CHANNEL]) + len(self.kinds[PATTERN])

    def total(self) -> int:
        return sum(len(k) for k in self.kinds)


class PubSub:
    def __init__(self, server: Server) -> None:
        self.server = server
        # channel/pattern -> subscribed clients, in the order they subscribed
        self.registry: tuple[dict[bytes, dict[Client, None]], ...] = ({}, {}, {})
        self.disconnections = 0  # clients closed for their output buffer (INFO stats)
        self.soft_since: dict[Client, float] = {}  # over the soft limit since (monotonic s)

    # -- subscribing --------------------------------------------------------------------------
    def subscribe(self, c: Client, kind: int, names: list[bytes]) -> bytes:
        """(P|S)SUBSCRIBE: the replies, one per name, encoded for the client's protocol."""
        subs = c.subs
        if subs is None:
            subs = c.subs = Subscriptions()
        mine = subs.kinds[kind]
        registry = self.registry[kind]
        out = bytearray()
        for name in names:
            if name not in mine:
                mine[name] = None
                registry.setdefault(name, {})[c] = None
            encode(Push([_SUB_NAMES[kind], name, subs.count(kind)]), out, c.resp3)
        return bytes(out)

    def unsubscribe(self, c: Client, kind: int, names: list[bytes]) -> bytes:
        """(P|S)UNSUBSCRIBE: with no names, every subscription of that kind; with none at all,
        one reply with a null name and the count."""
        subs = c.subs
        mine = subs.kinds[kind] if subs is not None else {}
        if not names:
            names = list(mine)
        out = bytearray()
        if not names:
            encode(Push([_UNSUB_NAMES[kind], None, subs.count(kind) if subs else 0]), out, c.resp3)
        for name in names:
            if name in mine:
                del mine[name]
                self._forget(kind, name, c)
            encode(Push([_UNSUB_NAMES[kind], name, subs.count(kind) if subs else 0]), out, c.resp3)
        if subs is not None and not subs.total():
            c.subs = None
        return bytes(out)

    def _forget(self, kind: int, name: bytes, c: Client) -> None:
        registry = self.registry[kind]
        clients = registry.get(name)
        if clients is not None:
            clients.pop(c, None)
            if not clients:
                del registry[name]

    def drop(self, c: Client) -> None:
        """The client is gone, or RESET: every subscription ends, without replies."""
        self.soft_since.pop(c, None)
        subs, c.subs = c.subs, None
        if subs is None:
            return
        for kind, names in enumerate(subs.kinds):
            for name in names:
                self._forget(kind, name, c)

    # -- publishing ----------------------------------------------------------------------------
    def publish(self, channel: bytes, message: bytes) -> int:
        """Deliver to this region's subscribers of ``channel`` and of matching patterns (a
        client gets one message per match, as in Redis); the number of deliveries."""
        receivers = 0
        clients = self.registry[CHANNEL].get(channel)
        if clients:
            frames = _Frames([b"message", channel, message])
            for c in list(clients):
                self.push(c, frames.get(c.resp3))
                receivers += 1
        patterns = self.registry[PATTERN]
        if patterns:
            for pattern, pclients in list(patterns.items()):
                if not matches(pattern, channel):
                    continue
                frames = _Frames([b"pmessage", pattern, channel, message])
                for c in list(pclients):
                    self.push(c, frames.get(c.resp3))
                    receivers += 1
        return receivers

    def spublish(self, channel: bytes, message: bytes) -> int:
        clients = self.registry[SHARD].get(channel)
        if not clients:
            return 0
        frames = _Frames([b"smessage", channel, message])
        for c in list(clients):
            self.push(c, frames.get(c.resp3))
        return len(clients)

    def push(self, c: Client, data: bytes) -> None:
        """Queue ``data`` for ``c`` and enforce its class's output buffer limit."""
        if c.closing:
            return
        c.push(data)
        hard, soft, soft_s = self.server.config.client_output_buffer_limit[
            "pubsub" if c.subs is not None else "normal"]
        if not hard and not soft:
            return
        pending = c.pending_output()
        if hard and pending > hard:
            self._disconnect(c, pending)
            return
        if not soft or pending <= soft:
            self.soft_since.pop(c, None)
            return
        now = time.monotonic()
        since = self.soft_since.setdefault(c, now)
        if now - since > soft_s:
            self._disconnect(c, pending)

    def _disconnect(self, c: Client, pending: int) -> None:
        self.disconnections += 1
        self.soft_since.pop(c, None)
        self.server.log.warning(
            "Client id=%d addr=%s scheduled to be closed ASAP for overcoming of output buffer "
            "limits (%d bytes pending).", c.id, c.addr, pending)
        c.abort()

    # -- PUBSUB introspection --------------------------------------------------------------------
    def names(self, kind: int, pattern: bytes | None) -> list[bytes]:
        return [n for n in self.registry[kind] if pattern is None or matches(pattern, n)]

    def numsub(self, kind: int, name: bytes) -> int:
        return len(self.registry[kind].get(name, ()))

    def numpat(self) -> int:
        return len(self.registry[PATTERN])


class _Frames:
    """One message encoded at most once per protocol version, whatever the receiver count."""

    __slots__ = ("items", "cache")

    def __init__(self, items: list[bytes]) -> None:
        self.items = items
        self.cache: list[bytes | None] = [None, None]

    def get(self, resp3: bool) -> bytes:
        data = self.cache[resp3]
        if data is None:
            out = bytearray()
            encode(Push(self.items), out, resp3)
            data = self.cache[resp3] = bytes(out)
        return data
