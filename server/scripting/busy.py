"""Serving other clients while a script is busy (Redis's ``processEventsWhileBlocked``).

The script runs inside an event-loop callback (the caller's ``data_received``), so the loop
cannot run until it returns, and asyncio loops cannot be re-entered. Once the script is past
``busy-reply-threshold``, the Lua count hook calls ``serve_others`` about every millisecond
of Lua execution: it polls the other clients' sockets with a zero-timeout ``select``, reads
what they sent straight from the file descriptor (the loop is not reading it meanwhile),
parses it with each client's own request reader and answers in order, writing through the
client's transport:

* commands flagged ``allow_busy`` in Redis's table run as usual (SCRIPT KILL, FUNCTION KILL,
  FUNCTION STATS, AUTH, HELLO, MULTI, DISCARD, WATCH, UNWATCH, RESET, ...); none writes;
* SHUTDOWN NOSAVE (or NOW/FORCE with NOSAVE) stops the script and the server: the script's
  unfinished batch is never logged or shipped, as Redis exits without propagating it;
* every other command gets ``-BUSY`` (and flags an open MULTI, as Redis's rejectCommand).

Nothing here touches the keyspace, peers or timers: those wait for the script to end, which
keeps the script atomic. Clients that connect while a script is busy are accepted here too
and served the same way (``busy_accept``, TLS included), then handed over to the loop when it ends; clients blocked in BLPOP & co. keep their input
until then.
"""

from __future__ import annotations

import os
import select
import time
from typing import TYPE_CHECKING, Any

from server.reqparse import ProtocolError
from server.resp import NO_REPLY, Error, encode
from server.scripting import busy_accept

if TYPE_CHECKING:
    from server.app import Server
    from server.connection import Client
    from server.scripting.engine import LuaEngine, ScriptRun

BUSY_EVAL = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
BUSY_FUNCTION = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."


def busy_error(run: ScriptRun) -> str:
    return BUSY_EVAL if run.eval_mode else BUSY_FUNCTION


def enter(server: Server, run: ScriptRun, elapsed_ms: float) -> None:
    server.log.warning(
        "Slow script detected: still in execution after %d milliseconds. "
        "You can try killing the script using the %s command.",
        elapsed_ms, "SCRIPT KILL" if run.eval_mode else "FUNCTION KILL")
    run.busy = True
    server.write_replies()  # replies computed before the script started go out first


def leave(server: Server, run: ScriptRun) -> None:
    server.log.info("Slow script finished after %d milliseconds",
                    (time.monotonic() - run.started) * 1000)
    busy_accept.hand_over(server)


def serve_others(server: Server, engine: LuaEngine, run: ScriptRun) -> None:
    busy_accept.accept_new(server)
    by_fd: dict[int, Client] = {}
    for cl in server.clients.values():
        # A connection handed over to a peer link (CRDT.SYNC) stays registered as a client but
        # its bytes are replication: only sockets whose protocol is still the client are read.
        transport = cl.transport
        # A transport closed meanwhile (a client accepted during the script that sent QUIT) may
        # have closed its descriptor already: never select on it.
        if (cl is not run.client and cl.fd >= 0 and transport is not None and not cl.closing
                and cl.blocked is None and cl._successor is None
                and transport.get_protocol() is cl and not transport.is_closing()):
            by_fd[cl.fd] = cl
    if not by_fd:
        return
    try:
        readable, _, _ = select.select(list(by_fd), [], [], 0)
    except (OSError, ValueError):
        return
    for fd in readable:
        cl = by_fd[fd]
        try:
            data = os.read(fd, 1 << 16)
        except OSError:  # would block, reset: the loop deals with it after the script
            continue
        if not data:
            continue
        decrypt = getattr(cl.transport, "decrypt", None)  # TLS, accepted during the script
        if decrypt is not None:
            data = decrypt(data)
            if not data:
                continue
        _serve(server, engine, run, cl, data)


def _serve(server: Server, engine: LuaEngine, run: ScriptRun, cl: Client, data: bytes) -> None:
    server.stats.net_input_bytes += len(data)
    error: ProtocolError | None = None
    try:
        commands = cl.reader.feed(data)
    except ProtocolError as exc:
        commands, error = exc.commands, exc
    out = bytearray()
    while True:
        for argv in commands:
            reply = _dispatch(server, run, cl, argv)
            if reply is not NO_REPLY:
                if isinstance(reply, Error):
                    server.stats.add_error(reply.message)
                encode(reply, out, cl.resp3)
        # While a password is required, the reader holds back what follows an AUTH until the
        # AUTH ran (as Client._run).
        if error is not None or cl.closing or not cl.reader.deferred:
            break
        try:
            commands = cl.reader.feed(b"")
        except ProtocolError as exc:
            commands, error = exc.commands, exc
    if error is not None:
        encode(Error(error.message), out, cl.resp3)
        cl.closing = True
    if out and cl.transport is not None:
        server.stats.net_output_bytes += len(out)
        cl.transport.write(bytes(out))
    if cl.closing and cl.transport is not None:
        cl.transport.close()


def _dispatch(server: Server, run: ScriptRun, cl: Client, argv: list[bytes]) -> Any:
    cmd = server.table.get(argv[0].lower())
    if cmd is not None and cmd.subcommands and len(argv) > 1:
        cmd = cmd.subcommands.get(argv[1].lower())
    if cmd is None or not cl.authenticated or not _arity_ok(cmd.arity, len(argv)):
        return cl.dispatch(argv)  # the unknown-command / arity / NOAUTH error, as before BUSY
    if cmd.name == "shutdown":
        opts = {a.lower() for a in argv[1:]}
        if b"nosave" in opts and b"abort" not in opts:
            server.log.warning("User requested shutdown... (SHUTDOWN NOSAVE while a script is busy)")
            run.shutdown = True
            run.killed = True
            cl.closing = True
            return NO_REPLY
        return cl._refuse(cmd, busy_error(run))  # EXEC: EXECABORT ... BUSY (rejectCommand)
    if "allow_busy" not in cmd.spec.flags:
        return cl._refuse(cmd, busy_error(run))  # EXEC: EXECABORT ... BUSY (rejectCommand)
    return cl.dispatch(argv)


def _arity_ok(arity: int, argc: int) -> bool:
    return argc == arity or (arity < 0 and argc >= -arity)


def shutdown_now(server: Server) -> None:
    """SHUTDOWN NOSAVE during a busy script: like Redis, exit right away. The batches already
    committed are durable (the sink closes cleanly); the killed script's is dropped."""
    server.log.warning("activekv is now ready to exit, bye bye...")
    try:
        server.sink.close()
    finally:
        os._exit(0)
