"""One client connection: bytes in, commands dispatched, replies out.

Per read: the request reader yields every complete command; each runs to completion (its
effects applied and its batch handed to the replication sink) and its reply is encoded into
one buffer; the buffer is written once. Flow control: when the socket's write buffer passes
the transport's high-water mark (a client that pipelines without reading), we stop reading
from that client until it drains, so it cannot make us buffer without bound.
"""

from __future__ import annotations

import asyncio
import time
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any, cast

from crdt.effects import Batch
from server import errors, protected
from server.acl.hooks import permission_error
from server.blocking import Blocked
from server.keyevents import RULES, SKIP, begin, derive
from server.monitor_feed import feed
from server.outbuf import OBUF_CHECK_BYTES
from server.pubsub import ALLOWED_IN_CONTEXT, PUBSUB_CONTEXT_ERROR, Subscriptions
from server.reqparse import ProtocolError, QueryBufferLimit, RequestReader
from server.resp import (
    CRLF,
    NO_REPLY,
    OK,
    OK_REPLY,
    QUEUED,
    Error,
    RawPush,
    bulk_header,
    encode,
    integer_reply,
)
from server.tracking import TrackingState

if TYPE_CHECKING:
    from server.app import Server
    from server.commands.registry import Command

# CLIENT REPLY (Redis's CLIENT_REPLY_OFF / _SKIP / _SKIP_NEXT flags)
REPLY_OFF, REPLY_SKIP, REPLY_SKIP_NEXT = 1, 2, 4


class Client(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.ks = server.ks
        self.table = server.table
        self.id = server.next_client_id()
        self.db = 0
        self.resp3 = False
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        self.user = server.acl.default  # the ACL user (AUTH/HELLO change it)
        self.authenticated = not server.acl.default_needs_auth
        self.created = time.monotonic()
        self.last_interaction = self.created
        self.last_cmd = "NULL"
        self.addr = "?:0"
        self.laddr = "?:0"
        self.fd = -1
        self.transport: asyncio.Transport | None = None
        self.closing = False
        # MULTI state: queued (cmd, argv), an error seen while queueing, WATCHed keys.
        self.multi: list[tuple[Command, list[bytes]]] | None = None
        self.multi_error = False
        self.watched: set[tuple[int, bytes]] = set()
        self.watch_absent: set[tuple[int, bytes]] = set()  # watched keys missing at WATCH
        self.watch_expired: set[tuple[int, bytes]] = set()  # ... because logically expired
        self.watch_dirty = False
        self.argv: list[bytes] | None = None  # the command running (CLIENT LIST argv-mem)
        self.reader = RequestReader(
            server.config.proto_max_bulk_len, server.config.client_query_buffer_limit
        )
        self.reader.requires_auth = not self.authenticated
        self._out = bytearray()  # replies waiting for the end of this loop iteration
        self._queued = False
        # The protocol this connection is handed to once the current replies are written (a
        # peer link, after CRDT.SYNC): from then on its bytes are not commands.
        self._successor: asyncio.Protocol | None = None
        self.blocked: Blocked | None = None  # a blocking command waiting (WAIT, CRDT.WAITTOKEN)
        # the blocked command and how long its call took: the slow log takes it when it is
        # served (Redis's updateStatsOnUnblock), not when it blocks
        self.blocked_call: tuple[Command, list[bytes], int, int] | None = None  # + its start (ns)
        self._held: list[list[bytes]] = []  # commands that arrived while blocked
        self._held_error: ProtocolError | None = None
        self.in_exec = False  # running a transaction: blocking commands answer at once
        self.last_batch: Batch | None = None  # CRDT.TOKEN / WAIT: this connection's last write
        self.reply_flags = 0  # CLIENT REPLY OFF/SKIP (0: every reply is sent)
        self.qbuf_batch = 0  # bytes of the read whose commands are running (CLIENT LIST qbuf)
        self.no_evict = False  # CLIENT NO-EVICT
        self.write_paused = False  # the transport's write buffer is past its high-water mark
        self.no_touch = False  # CLIENT NO-TOUCH
        self.subs: Subscriptions | None = None  # pub/sub subscriptions (None: not in that context)
        self._running_out: bytearray | None = None  # replies of the commands running now
        # while a reply is streamed (server/streamed.py): pushes held until its end
        self.stream_hold: bytearray | None = None
        self.tracking: TrackingState | None = None  # CLIENT TRACKING on (None: off)
        self._after_reply: bytearray | None = None  # pushes due after the running command's reply

    # -- asyncio.Protocol ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        stand_in: Any = self.transport  # set: accepted during a busy script (busy_accept.py)
        self.transport = t = cast(Any, transport)  # uvloop's transport is not a subclass
        if stand_in is not None:  # the loop takes the socket over: already registered
            stand_in.hand_over(t)
            return
        peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("sockname")
        self.addr = _fmt_addr(peer)
        self.laddr = _fmt_addr(sock)
        s = transport.get_extra_info("socket")
        self.fd = s.fileno() if s is not None else -1
        if not self.server.register(self):
            self.write_now(Error(errors.MAX_CLIENTS))
            self.closing = True
            t.close()
            return
        server = self.server
        if protected.denies(server.config.protected_mode, not server.acl.default.nopass, peer):
            server.stats.rejected_connections += 1
            self.closing = True
            t.write(protected.DENIED)
            t.close()

    def connection_lost(self, exc: Exception | None) -> None:
        """The connection is gone (also called by a protocol it was handed to, when that
        protocol's connection is gone: the server forgets the client then)."""
        self.closing = True
        successor, self._successor = self._successor, None
        if successor is not None:  # lost before the hand-over: the successor ends as well
            successor.connection_lost(exc)
        if self.blocked is not None:
            self.server.unblock_waiter(self.blocked)
            self.blocked = None
        self.server.pubsub.drop(self)
        self.server.monitors.pop(self, None)
        self.server.tracking.disable(self)
        self.server.unregister(self)

    def pause_writing(self) -> None:
        self.write_paused = True
        # (with maxmemory-clients, an evictable client reads on, as in Redis: the eviction
        # bounds its replies instead; server/client_eviction.py)
        if self.transport is not None and not (
                self.server.client_eviction.limit and self.server.client_eviction.reads_on(self)):
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.transport is not None and not self.closing:
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self.closing or self._successor is not None:
            return
        server = self.server
        self.ks.now_ms = int(time.time() * 1000)  # server.tick(), inlined
        stats = server.stats
        stats.net_input_bytes += len(data)
        stats.reads_processed += 1
        self.last_interaction = time.monotonic()
        error: ProtocolError | None = None
        # Redis's querybuf while this read's commands run: what was pending, plus this read
        # (CLIENT LIST ``qbuf`` of the client itself; Redis trims it once they all ran)
        self.qbuf_batch = self.reader.pending_bytes() + len(data)
        try:
            commands = self.reader.feed(data)
        except ProtocolError as exc:
            commands = exc.commands
            error = exc
        if self.blocked is not None:  # replies must stay in order: hold until unblocked
            self._held.extend(commands)
            self._held_error = self._held_error or error
            if server.client_eviction.limit:  # maxmemory-clients
                server.client_eviction.after_io(self)
            return
        self._run(commands, error)

    def _run(self, commands: list[list[bytes]], error: ProtocolError | None) -> None:
        # Replies go straight into the queued output (after what is queued already).
        out = self._running_out = self._out
        reader = self.reader
        while True:
            for i, argv in enumerate(commands):
                self.execute(argv, out)
                if len(out) >= OBUF_CHECK_BYTES and self.server.outbuf.check(self, len(out)):
                    out.clear()  # closed at its hard limit: the rest is neither run nor kept
                    break
                if self.blocked is not None:
                    self._held.extend(commands[i + 1 :])
                    self._held_error, error = error, None
                    break
                if self.closing or self._successor is not None:
                    break
            # While a password is required, the reader stops before a command that would
            # break the unauthenticated limits until the earlier ones (an AUTH) have run.
            if (self.blocked is not None or self.closing or self._successor is not None
                    or error is not None or not reader.deferred):
                break
            try:
                commands = reader.feed(b"")
            except ProtocolError as exc:
                commands = exc.commands
                error = exc
        server = self.server
        if error is not None and not self.closing:
            server.stats.protocol_errors += 1
            if isinstance(error, QueryBufferLimit):
                server.log.warning("Closing client that reached max query buffer length (id=%d)", self.id)
            else:
                server.stats.add_error(error.message)
                encode(Error(error.message), out, self.resp3)
            self.closing = True
        self._running_out = None
        if server.client_eviction.limit and not self.closing:  # maxmemory-clients
            server.client_eviction.after_io(self)
        if self.transport is not None and (out or self.closing) and not self._queued:
            self._queued = True  # (as ``_send``: the replies are in ``_out`` already)
            self.server.queue_reply(self)

    def push(self, data: bytes) -> None:
        """Out-of-band output (a pub/sub message): after the replies of the commands already
        run, before those of the commands still to run."""
        transport = self.transport
        if self.closing or transport is None or transport.is_closing():
            return  # a connection going away (its output would never be read)
        hold = self.stream_hold
        if hold is not None:  # after the streamed reply, as after any reply being built
            hold += data
            return
        running = self._running_out
        if running is not None:
            running += data
            return
        self._out += data
        if not self._queued:
            self._queued = True
            self.server.queue_reply(self)

    def push_after_reply(self, data: bytes) -> None:
        """Output due right after the reply of the command running (an invalidation of a key
        this client's own command changed, as Redis's tracking_pending_keys)."""
        if self._after_reply is None:
            self._after_reply = bytearray()
        self._after_reply += data

    def pending_output(self) -> int:
        """Bytes of output not yet taken by the socket (the output buffer limits' measure)."""
        t = self.transport
        running = self._running_out  # (``_out`` itself while commands run)
        queued = len(self._out) + (len(running) if running is not None and running is not self._out else 0)
        if self.stream_hold is not None:
            queued += len(self.stream_hold)
        return queued + (t.get_write_buffer_size() if t is not None else 0)

    def abort(self) -> None:
        """Close now, dropping unsent output (a client over its output buffer limit)."""
        self.closing = True
        self._out.clear()
        if self.transport is not None:
            self.transport.abort()

    def _send(self, out: bytearray) -> None:
        """Queue replies; the server writes them once this loop iteration's commands are done,
        after one op log write for all of them (Redis's beforeSleep: AOF, then replies)."""
        if self.transport is None:
            return
        if out:
            self._out += out
        if (self._out or self.closing) and not self._queued:
            self._queued = True
            self.server.queue_reply(self)

    def stream_write(self, data: bytes) -> None:
        """The next part of a streamed reply (server/streamed.py), after the output queued."""
        self._send(bytearray(data))

    def write_out(self) -> None:
        """Called by the server after the op log was flushed: write queued replies."""
        self._queued = False
        transport = self.transport
        if transport is None:
            return
        if self._out:
            if not transport.is_closing():  # gone already (uvloop raises on a closed handle,
                # and the other clients queued after this one must still get their replies)
                self.server.stats.net_output_bytes += len(self._out)
                self.server.stats.writes_processed += 1
                transport.write(bytes(self._out))
            self._out.clear()
            if self.server.outbuf.check(self):
                return
            if self.server.client_eviction.limit and not self.closing:  # maxmemory-clients
                self.server.client_eviction.after_io(self)
                if self.closing:
                    return
        if self.closing:
            transport.close()
        elif self._successor is not None:  # the reply that accepted the hand-over is out
            successor, self._successor = self._successor, None
            transport.set_protocol(successor)
            successor.connection_made(transport)

    def unblock(self, reply: Any, failed: bool = False) -> None:
        """A blocked command finished: send its reply, then run what arrived meanwhile.

        An error reply (NOGROUP, UNBLOCKED, WRONGTYPE at serve time...) counts in the error
        stats and as a failed call of the blocked command, as Redis's updateStatsOnUnblock;
        ``failed``: a failed call without an error (CLIENT UNBLOCK's timeout reply, in 7.0)."""
        waiter, self.blocked = self.blocked, None
        if self.blocked_call is not None:
            cmd, argv, usec, started = self.blocked_call
            self.blocked_call = None
            if waiter is not None and not waiter.unblockable:  # synchronous in Redis (MIGRATE):
                usec = (perf_counter_ns() - started) // 1000  # the whole wait counts
            # served (even with an error): logged; timed out or CLIENT UNBLOCKed: not, as 7.0
            if not failed and (waiter is None or not waiter.timed_out):
                self.server.monitor.slow_if_needed(self, cmd, argv, usec)
        if type(reply) is Error or isinstance(reply, Error):
            self.server.stats.add_error(reply.message)
            failed = True
        if failed and self.last_cmd != "NULL":
            self.server.monitor.stat(self.last_cmd).failed_calls += 1
        if self.closing:
            return
        out = bytearray()
        if reply is not NO_REPLY and not self.reply_flags & REPLY_OFF:
            encode(reply, out, self.resp3)
        if self._after_reply is not None:  # invalidations its own command caused
            out += self._after_reply
            self._after_reply = None
        self._send(out)
        commands, error = self._held, self._held_error
        self._held, self._held_error = [], None
        if commands or error is not None:
            self._run(commands, error)

    def requeue(self, argv: list[bytes]) -> None:
        """A command postponed by CLIENT PAUSE runs again first when the client resumes."""
        self._held.insert(0, argv)

    def hand_over(self, successor: asyncio.Protocol) -> None:
        """The command running ends this connection's life as a client (CRDT.SYNC): once its
        reply is written, the transport goes to ``successor`` (``set_protocol``, then its
        ``connection_made``). Commands after it are not run; bytes that arrive before the
        hand-over are dropped (a peer sends nothing before it has read the reply). The client
        stays registered (CLIENT LIST, CLIENT KILL) until ``successor`` calls
        ``connection_lost``."""
        self._successor = successor

    # -- dispatch --------------------------------------------------------------------------
    def execute(self, argv: list[bytes], out: bytearray) -> None:
        before = self.reply_flags
        cmd = self.table.get(argv[0].lower())
        if cmd is not None and cmd.plain and self.multi is None and self.subs is None:
            # ``dispatch``'s fast path, inlined (see there)
            argc = len(argv)
            arity = cmd.arity
            server = self.server
            if (argc == arity or (arity < 0 and argc >= -arity)) and self.authenticated \
                    and self.user.unrestricted and not server.memory.limited \
                    and not server.pause.end and (not cmd.disk_checked or server.disk.clear()):
                reply = self.call(cmd, argv)
            else:
                reply = self._dispatch(cmd, argv)
        else:
            reply = self._dispatch(cmd, argv)
        t = type(reply)
        if not (before or self.reply_flags):  # every reply is sent (CLIENT REPLY ON)
            # The common replies first, encoded here (``encode`` does the same, one call later).
            if reply is OK:
                out += OK_REPLY
            elif t is bytes:
                out += bulk_header(len(reply))
                out += reply
                out += CRLF
            elif t is int:
                out += integer_reply(reply)
            elif reply is None:
                out += b"_\r\n" if self.resp3 else b"$-1\r\n"
            elif t is Blocked or isinstance(reply, Blocked):
                self.blocked = cast(Blocked, reply)
                self.server.block_waiter(self.blocked)
                return
            elif reply is not NO_REPLY:
                if t is Error or isinstance(reply, Error):
                    self.server.stats.add_error(reply.message)
                encode(reply, out, self.resp3)
        else:
            if isinstance(reply, Blocked):
                self.blocked = reply
                self.server.block_waiter(reply)
                return
            self._reply_flagged(reply, before, out)
        if self._after_reply is not None:
            out += self._after_reply
            self._after_reply = None
        if self.server.ready_keys:  # the command changed keys that blocked clients wait on
            self.server.serve_ready()

    def _reply_flagged(self, reply: Any, before: int, out: bytearray) -> None:
        """A reply under CLIENT REPLY OFF / SKIP / SKIP_NEXT (set before or by the command)."""
        if reply is not NO_REPLY:
            if type(reply) is Error or isinstance(reply, Error):
                self.server.stats.add_error(reply.message)
            # the flags as the command left them (CLIENT REPLY ON clears SKIP for its own OK)
            if not self.reply_flags & (REPLY_OFF | REPLY_SKIP) or type(reply) is RawPush:
                encode(reply, out, self.resp3)
        if (self.reply_flags | before) & (REPLY_SKIP | REPLY_SKIP_NEXT):
            # Redis's resetClient(): SKIP covered this command; SKIP_NEXT covers the next one
            skip_next = self.reply_flags & REPLY_SKIP_NEXT
            self.reply_flags &= ~(REPLY_SKIP | REPLY_SKIP_NEXT)
            if skip_next:
                self.reply_flags |= REPLY_SKIP

    def dispatch(self, argv: list[bytes]) -> Any:
        cmd = self.table.get(argv[0].lower())
        if cmd is not None and cmd.plain and self.multi is None and self.subs is None:
            # The fast path: a command without subcommands or special checks, from a client
            # that is authenticated, unrestricted and in no MULTI or pub/sub context, on a
            # server neither paused nor at maxmemory, and for a write with no disk error
            # standing. The checks below would all pass.
            argc = len(argv)
            arity = cmd.arity
            if (argc == arity or (arity < 0 and argc >= -arity)) and self.authenticated \
                    and self.user.unrestricted:
                server = self.server
                if not server.memory.limited and not server.pause.end and (
                        not cmd.disk_checked or server.disk.clear()):
                    return self.call(cmd, argv)
        return self._dispatch(cmd, argv)

    def _dispatch(self, cmd: Command | None, argv: list[bytes]) -> Any:
        if cmd is None:
            return self._reject(Error(errors.unknown_command(argv)))
        if cmd.subcommands:
            if len(argv) == 1:
                # The container itself, checked against its own arity (COMMAND alone is valid).
                if cmd.handler is None or not cmd.spec.arity_ok(1):
                    return self._reject(cmd.spec.arity_error())
            else:
                sub = cmd.subcommands.get(argv[1].lower())
                if sub is None:
                    return self._reject(Error(errors.unknown_subcommand(argv[1], argv[0].decode("utf-8", "replace"))))
                cmd = sub
        argc = len(argv)
        if argc != cmd.arity and (cmd.arity > 0 or argc < -cmd.arity):
            if cmd.name == "exec" and self.multi is not None:
                self.discard_multi()
            return self._reject(cmd.spec.arity_error(), cmd)
        if cmd.protected:
            debug = cmd.name == "debug"
            mode = self.server.config.enable_debug_command if debug else self.server.config.get("enable-module-command")
            if not protected_allowed(self, mode):
                return self._reject(Error(errors.DEBUG_NOT_ALLOWED if debug else errors.MODULE_NOT_ALLOWED), cmd)
        if not self.authenticated and not cmd.noauth and self.server.acl.default_needs_auth:
            return self._refuse(cmd, errors.NOAUTH)
        if not self.user.unrestricted:
            denied = permission_error(self, cmd, argv)
            if denied is not None:
                return self._refuse(cmd, denied.message)
        if cmd.disk_checked:  # a failing disk refuses writes (MISCONF)
            misconf = self.server.disk.refuses(self, cmd)
            if misconf is not None:
                return self._refuse(cmd, misconf)
        if self.subs is not None and not self.resp3 and cmd.name not in ALLOWED_IN_CONTEXT:
            return self._refuse(cmd, PUBSUB_CONTEXT_ERROR % cmd.name)
        if self.multi is not None and cmd.no_multi:
            return self._reject(Error(errors.NOT_IN_MULTI), cmd)
        if self.server.memory.limited:  # maxmemory: evict, or refuse what may grow memory
            oom = self.server.memory.before_command(self, cmd, argv)
            if oom is not None:
                if cmd.name == "exec":
                    self.discard_multi()
                return self._reject(oom, cmd)
        pause = self.server.pause
        if pause.end and pause.covers(self, cmd, argv):
            return pause.postpone(self, argv)
        if self.multi is not None and not cmd.no_multi_queue:
            self.multi.append((cmd, argv))
            return QUEUED
        return self.call(cmd, argv)

    def call(self, cmd: Command, argv: list[bytes]) -> Any:
        """Run one command and ship its batch (EXEC calls the handlers itself).

        The per-command hooks, each only when its feature is in use: keyspace events are
        derived when someone may hear them (``notify-keyspace-events`` here, or peers, whose
        settings are theirs: the batch carries the events to them) and the command can fire
        any; commandstats and latency histograms always (``Monitor.after_call``); MONITOR
        feeds, batch shipping and tracking only when there are monitors, effects, tracking
        clients."""
        name = cmd.name
        self.last_cmd = name
        server = self.server
        server.stats.commands += 1
        handler = cmd.handler
        assert handler is not None
        self.argv = argv
        ks = self.ks
        notify = (ks.has_peers or server.config.notify_keyspace_events) and name in RULES
        mark = begin(self, cmd, argv) if notify else SKIP
        tracking = server.tracking
        tracking.current = self
        started = perf_counter_ns()
        try:
            reply = handler(self, argv)
        except Error as exc:
            reply = exc
        except Exception as unexpected:  # not ``exc``: compiled, that name holds an Error
            reply = self.unexpected_error(cmd, unexpected)
        # commandstats, the latency histogram, the slow log (a native call when compiled)
        ns = perf_counter_ns() - started
        if type(reply) is not Error and isinstance(reply, Blocked):
            self.blocked_call = (cmd, argv, ns // 1000, started)
            server.monitor.after_call(self, cmd, argv, ns, False, True)
        else:
            server.monitor.after_call(self, cmd, argv, ns, type(reply) is Error or isinstance(reply, Error))
        self.argv = None
        if notify:
            derive(self, name, argv, mark)  # its keyspace notifications
        if server.monitors:
            feed(self, cmd, argv)
        if ks.open_effects is not None or ks.events:
            batch = ks.commit()
            if batch is not None:
                stats = server.stats  # server.ship(batch), inlined
                stats.batches += 1
                stats.effects += len(batch.effects)
                server.sink.append(batch)
                self.last_batch = batch
                if batch.events and server.config.notify_keyspace_events:
                    server.notifier.fire(batch.events)
        tracking.current = None
        if self.tracking is not None:
            tracking.after_command(self, cmd, argv)
        return reply

    @property
    def last_write_vv(self) -> dict[str, int]:
        """What this connection's last write covers: its dots and everything it observed."""
        batch = self.last_batch
        if batch is None:
            return {}
        vv = dict(batch.deps)
        vv[batch.origin] = batch.last_seq
        return vv

    @property
    def argv_mem(self) -> int:
        """Bytes of the arguments of the command running (CLIENT LIST ``argv-mem``)."""
        return sum(map(len, self.argv)) if self.argv is not None else 0

    def unexpected_error(self, cmd: Command, exc: Exception) -> Error:
        """A handler raised something other than an ``Error`` reply: a bug of ours. The client
        gets one line of ``-ERR``, the log one warning with the traceback, INFO stats one more
        ``unexpected_errors``; the connection carries on (effects already applied still ship).
        """
        server = self.server
        server.stats.unexpected_errors += 1
        server.log.warning("Unexpected error in '%s' (client id=%d)", cmd.name, self.id, exc_info=exc)
        return Error(errors.unexpected_error(cmd.name, exc))

    def _refuse(self, cmd: Command, message: str) -> Error:
        """Redis's rejectCommand: a refused EXEC aborts the transaction, always."""
        if cmd.name == "exec":
            if self.multi is not None:
                self.discard_multi()
            # Redis's rejectCommandFormat hands execCommandAbort its text without "ERR ".
            return self._reject(Error(errors.EXECABORT_BECAUSE % message.removeprefix("ERR ")), cmd)
        return self._reject(Error(message), cmd)

    def _reject(self, error: Error, cmd: Command | None = None) -> Error:
        if self.multi is not None:
            self.multi_error = True
        server = self.server
        server.stats.rejected_calls += 1
        if cmd is not None:  # INFO commandstats rejected_calls (unknown commands have none)
            server.monitor.rejected(cmd)
        return error

    # -- helpers for handlers --------------------------------------------------------------
    def discard_multi(self) -> None:
        self.multi = None
        self.multi_error = False
        self.unwatch_all()

    def unwatch_all(self) -> None:
        if self.watched:
            self.server.unwatch(self)
        self.watched = set()
        self.watch_absent = set()
        self.watch_expired = set()
        self.watch_dirty = False

    def close_after_reply(self) -> None:
        self.closing = True

    def kill(self) -> None:
        """Close this connection now (CLIENT KILL from another client): no more replies."""
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    def write_now(self, reply: Any) -> None:
        """Send a reply outside the request/response flow (e.g. a shutdown notice)."""
        if self.transport is not None and not self.closing:
            out = bytearray()
            encode(reply, out, self.resp3)
            self.transport.write(bytes(out))


def protected_allowed(c: Client, mode: str) -> bool:
    """Redis's allowProtectedAction (enable-debug-command, enable-protected-configs): yes, or
    local from a loopback client."""
    if mode == "yes":
        return True
    if mode == "local":
        host = c.addr.rpartition(":")[0].strip("[]")
        return host == "::1" or host.startswith("127.") or c.addr.startswith("/")
    return False


def _fmt_addr(addr: Any) -> str:
    if isinstance(addr, tuple) and len(addr) >= 2:
        host = addr[0]
        return f"[{host}]:{addr[1]}" if ":" in host else f"{host}:{addr[1]}"
    return str(addr or "?:0")
