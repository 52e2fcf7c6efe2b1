"""Client-side caching: CLIENT TRACKING's state and invalidation messages (Redis 7.0's
tracking.c).

* Default mode: the keys a tracking client reads (read-only commands; with OPTIN only after
  ``CLIENT CACHING yes``, with OPTOUT not after ``CLIENT CACHING no``) go into one table, key
  -> client ids (keys of every database share it, as in Redis). The first change to such a key
  sends each of those clients one ``invalidate`` message and forgets the key.
* BCAST mode: a client registers prefixes (none: every key); the keys changed under each
  prefix during one event-loop iteration go out together, sorted, once per prefix (Redis's
  ``trackingBroadcastInvalidationMessages`` in beforeSleep).
* FLUSHDB/FLUSHALL: every tracking client gets an ``invalidate`` with a null key list.

Messages are RESP3 pushes ``>2 invalidate [keys]``; with REDIRECT they go to the other
client, which under RESP2 gets them as a pub/sub message on ``__redis__:invalidate`` (only if
it is in the pub/sub context). NOLOOP: no message about a change the client made itself. An
invalidation for the client whose command is running goes out after that command's reply.

Changes come from ``Keyspace.on_change``, which fires for local and replicated effects alike:
a client-side cache in any region is invalidated by a write made in any region (SEMANTICS
"Pub/sub, notifications, client-side caching")."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from server.keyevents import command_keys
from server.resp import Push, encode

if TYPE_CHECKING:
    from server.app import Server
    from server.commands.registry import Command
    from server.connection import Client

INVALIDATE_CHANNEL = b"__redis__:invalidate"
SCRIPT_COMMANDS = frozenset({"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"})


class TrackingState:
    """One client's CLIENT TRACKING settings."""

    __slots__ = ("redirect", "bcast", "optin", "optout", "noloop", "caching", "prefixes",
                 "broken_redirect", "script_read")

    def __init__(self) -> None:
        self.redirect = 0
        self.bcast = self.optin = self.optout = self.noloop = False
        self.caching = False  # CLIENT CACHING yes/no given for the next command
        self.prefixes: dict[bytes, None] = {}
        self.broken_redirect = False
        self.script_read = False  # the running script (EVAL*, FCALL*) called a read command


class Tracking:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.table: dict[bytes, dict[int, None]] = {}  # key -> ids of clients that read it
        self.prefix_clients: dict[bytes, dict[Client, None]] = {}  # BCAST prefix -> clients
        # BCAST prefix -> key changed this iteration -> the client that changed it (NOLOOP)
        self.changed: dict[bytes, dict[bytes, Client | None]] = {}
        self._broadcast_scheduled = False
        self.current: Client | None = None  # the client whose command is running
        self.clients = 0  # how many have tracking on (nothing to do while none has)
        self._limit_rounds = 0  # turns that found the table over tracking-table-max-keys

    # -- CLIENT TRACKING ----------------------------------------------------------------------
    def enable(self, c: Client, redirect: int, bcast: bool, optin: bool, optout: bool,
               noloop: bool, prefixes: list[bytes]) -> None:
        state = c.tracking
        if state is None:
            state = c.tracking = TrackingState()
            self.clients += 1
        state.redirect = redirect
        state.broken_redirect = False
        state.bcast, state.optin, state.optout, state.noloop = bcast, optin, optout, noloop
        if bcast:
            for prefix in prefixes or [b""]:
                state.prefixes[prefix] = None
                self.prefix_clients.setdefault(prefix, {})[c] = None

    def disable(self, c: Client) -> None:
        state, c.tracking = c.tracking, None
        if state is None:
            return
        self.clients -= 1
        if not self.clients:
            self.table.clear()  # nobody tracks: what was read before is not kept (memory)
        for prefix in state.prefixes:
            clients = self.prefix_clients.get(prefix)
            if clients is not None:
                clients.pop(c, None)
                if not clients:
                    del self.prefix_clients[prefix]
                    self.changed.pop(prefix, None)

    # -- reads ---------------------------------------------------------------------------------
    def after_command(self, c: Client, cmd: Command, argv: list[bytes]) -> None:
        """After a tracking client's command: remember the keys it read, then end a
        CLIENT CACHING that applied to this command (any CLIENT subcommand and commands
        queued in MULTI keep it)."""
        state = c.tracking
        if state is None:
            return
        if cmd.name in SCRIPT_COMMANDS:
            # Redis 7.0.15: a script's declared keys are tracked when it called a read-only
            # command (not the keys of the commands it called), whatever its own flags
            reads, state.script_read = state.script_read, False
        else:
            reads = cmd.readonly and "pubsub" not in cmd.spec.flags
        if reads and not state.bcast:
            if not ((state.optin and not state.caching) or (state.optout and state.caching)):
                for key in command_keys(cmd, argv):
                    self.table.setdefault(key, {})[c.id] = None
        if c.multi is None and not cmd.name.startswith("client"):
            state.caching = False

    # -- changes -------------------------------------------------------------------------------
    def invalidate(self, key: bytes) -> None:
        """A key changed (in any database, by any region)."""
        if self.prefix_clients:
            for prefix in self.prefix_clients:
                if key.startswith(prefix):
                    self.changed.setdefault(prefix, {})[key] = self.current
            self._schedule_broadcast()
        ids = self.table.pop(key, None)
        if not ids:
            return
        clients = self.server.clients
        for cid in ids:
            target = clients.get(cid)
            state = target.tracking if target is not None else None
            if target is None or state is None or state.bcast:
                continue
            if state.noloop and target is self.current:
                continue
            self.send(target, [key], after_reply=target is self.current)

    def limit_keys(self) -> None:
        """Redis's trackingLimitUsedSlots (each event-loop turn): while the table holds more
        keys than tracking-table-max-keys, invalidate keys, up to 100 more per turn that
        found it still over the limit (the oldest first here; Redis walks randomly)."""
        table = self.table
        if not table:
            return
        max_keys = self.server.config.get("tracking-table-max-keys")
        if not max_keys or len(table) <= max_keys:
            self._limit_rounds = 0
            return
        effort = 100 * (self._limit_rounds + 1)
        clients = self.server.clients
        while effort > 0 and table:
            effort -= 1
            key = next(iter(table))
            for cid in table.pop(key):  # no current client: NOLOOP spares nobody
                target = clients.get(cid)
                if target is not None and target.tracking is not None and not target.tracking.bcast:
                    self.send(target, [key])
            if len(table) <= max_keys:
                self._limit_rounds = 0
                return
        self._limit_rounds += 1

    def flush(self) -> None:
        """FLUSHDB/FLUSHALL: a null invalidation to every tracking client; the table is
        emptied (Redis frees it on any flush)."""
        for c in list(self.server.clients.values()):
            if c.tracking is not None:
                self.send(c, None, after_reply=c is self.current)
        self.table.clear()

    def send(self, c: Client, keys: list[bytes] | None, after_reply: bool = False) -> None:
        """``sendTrackingMessage``: to ``c``, or the client it redirects to."""
        state = c.tracking
        assert state is not None
        target = c
        redirected = False
        if state.redirect:
            other = self.server.clients.get(state.redirect)
            if other is None or other.closing:  # (QUIT: Redis frees it once its OK is out)
                state.broken_redirect = True
                if c.resp3:
                    self._push(c, _encoded(Push([b"tracking-redir-broken", state.redirect]), True), after_reply)
                return
            target, redirected = other, True
        if keys is None:
            value = b"_\r\n" if c.resp3 else b"$-1\r\n"  # null in the tracking client's protocol
        else:
            value = _encoded(keys, target.resp3)
        if target.resp3:
            data = b">2\r\n$10\r\ninvalidate\r\n" + value
        elif redirected and target.subs is not None:
            data = b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n" + value
        else:
            return  # RESP2 without a pub/sub redirect: no way to push
        self._push(target, data, after_reply and target is c)

    def _push(self, target: Client, data: bytes, after_reply: bool) -> None:
        if after_reply:
            target.push_after_reply(data)
        else:
            self.server.pubsub.push(target, data)

    # -- BCAST ---------------------------------------------------------------------------------
    def _schedule_broadcast(self) -> None:
        if self._broadcast_scheduled or not self.changed:
            return
        self._broadcast_scheduled = True
        try:
            asyncio.get_running_loop().call_soon(self.broadcast)
        except RuntimeError:  # no loop (in-process tests): at once
            self.broadcast()

    def broadcast(self) -> None:
        self._broadcast_scheduled = False
        changed, self.changed = self.changed, {}
        for prefix, keys in sorted(changed.items()):  # Redis walks its prefix table in order
            for c in list(self.prefix_clients.get(prefix, ())):
                state = c.tracking
                if state is None:
                    continue
                mine = sorted(k for k, who in keys.items() if not (state.noloop and who is c))
                if mine:
                    self.send(c, mine)


def _encoded(value: object, resp3: bool) -> bytes:
    out = bytearray()
    encode(value, out, resp3)
    return bytes(out)
