"""MONITOR (Redis 7.0's replicationFeedMonitors): every command a client runs, as it was
received, one status line per command to every monitoring client::

    +1700000000.123456 [0 127.0.0.1:5000] "set" "k" "v"

The database is the client's after the command (``SELECT 2`` shows ``[2 ...]``); arguments are
quoted as ``sdscatrepr`` does; AUTH's arguments and HELLO's AUTH username and password are
``(redacted)``; admin commands (CONFIG, CLIENT LIST/KILL, SHUTDOWN ...), commands refused
before running (unknown, wrong arity, NOAUTH) and MONITOR itself are not shown. Inside EXEC
each command is shown, then EXEC.

Scripts (the ``skip_monitor`` commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, FCALL, FCALL_RO)
are shown when their handler starts, whatever its outcome (``feed_script``), so the commands
the script runs come after it, each as ``[<db> lua]`` once it has run (``feed_lua``: a call
refused before running, such as an unknown or ``noscript`` command, a write from a read-only
script or an ACL denial, is not shown, as in Redis 7.0). MONITOR is local to a region
(SEMANTICS)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.commands.registry import Command
    from server.connection import Client

REDACTED = b"(redacted)"
_ESCAPES = {ord("\\"): b"\\\\", ord('"'): b'\\"', ord("\n"): b"\\n", ord("\r"): b"\\r",
            ord("\t"): b"\\t", 7: b"\\a", 8: b"\\b"}
_REPR = [_ESCAPES.get(b, bytes([b]) if 32 <= b <= 126 else b"\\x%02x" % b) for b in range(256)]


def quote(arg: bytes) -> bytes:
    """``sdscatrepr``: the argument in double quotes, escaped."""
    return b'"' + b"".join(_REPR[b] for b in arg) + b'"'


def redact(argv: list[bytes]) -> list[bytes]:
    """AUTH's arguments, HELLO ... AUTH <user> <pass>: as Redis's redactClientCommandArgument."""
    name = argv[0].lower()
    if name == b"auth":
        return argv[:1] + [REDACTED] * (len(argv) - 1)
    if name == b"hello":
        out = list(argv)
        i = 2
        while i < len(out):
            opt = out[i].lower()
            if opt == b"auth" and i + 2 < len(out):
                out[i + 1] = out[i + 2] = REDACTED
                i += 3
            elif opt == b"setname" and i + 1 < len(out):
                i += 2
            else:
                break
        return out
    if name == b"migrate":  # AUTH password, AUTH2 username password (before KEYS)
        out = list(argv)
        i = 6
        while i < len(out):
            opt = out[i].lower()
            if opt == b"auth" and i + 1 < len(out):
                out[i + 1] = REDACTED
                i += 1
            elif opt == b"auth2" and i + 2 < len(out):
                out[i + 1] = out[i + 2] = REDACTED
                i += 2
            elif opt == b"keys":
                break
            i += 1
        return out
    return argv


def _shown(cmd: Command) -> bool:
    flags = cmd.spec.flags
    return "admin" not in flags and "skip_monitor" not in flags and cmd.name != "monitor"


def _broadcast(c: Client, source: bytes, argv: list[bytes]) -> None:
    server = c.server
    now = time.time()
    line = b"+%d.%06d [%d %s] %s\r\n" % (
        int(now), int(now * 1_000_000) % 1_000_000, c.db, source,
        b" ".join(quote(a) for a in redact(argv)))
    push = server.pubsub.push
    for monitor in list(server.monitors):
        push(monitor, line)


def feed(c: Client, cmd: Command, argv: list[bytes]) -> None:
    """Show ``argv`` (as ``c`` sent it, after it ran) to every monitoring client."""
    if c.server.monitors and _shown(cmd):
        _broadcast(c, c.addr.encode(), argv)


def feed_script(c: Client, argv: list[bytes]) -> None:
    """A script command, shown as its handler starts (before what the script runs)."""
    if c.server.monitors:
        _broadcast(c, c.addr.encode(), argv)


def feed_lua(c: Client, cmd: Command, argv: list[bytes]) -> None:
    """A command a script ran through redis.call/pcall (``c``: the script's caller)."""
    if c.server.monitors and _shown(cmd):
        _broadcast(c, b"lua", argv)
